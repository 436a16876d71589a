# Dolium: `make run` installs and starts the server; `make test` checks everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= ./data
LISTEN ?= 127.0.0.1:9000

.PHONY: run install test-deps lint test unit bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/dolium serve --data $(DATA) --listen $(LISTEN)

$(VENV)/.test-installed: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# System packages the functional tests drive (real clients).
test-deps: $(VENV)/.test-installed
	@command -v rclone >/dev/null 2>&1 || { \
	  echo "installing rclone (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone) >/dev/null \
	  || echo "warning: could not install rclone; its tests will be skipped"; }

lint: test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q

unit: test-deps
	$(BIN)/pytest -q tests/unit tests/contract

bench: install test-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py

# Long crash runs: 200 SIGKILL cycles and 20 power cuts (tests/crash).
# The load test, bench/soak.py, is to be run here too once it exists.
SOAK_CYCLES ?= 200
soak: test-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" DOLIUM_CRASH_CYCLES=$(SOAK_CYCLES) DOLIUM_POWERCUT_CYCLES=20 \
	  $(BIN)/pytest -q -o timeout=0 tests/crash

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist src/*.egg-info
