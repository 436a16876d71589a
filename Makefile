# Dolium: `make run` installs and starts the server; `make test` checks everything.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= ./data
LISTEN ?= 127.0.0.1:9000

.PHONY: run install test-deps lint test unit bench bench-tools soak fuzz clean

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
	@# The PostgreSQL tests start servers of their own from the installed programs;
	@# the package is told not to create and start a cluster of its own.
	@test -n "$$DOLIUM_TEST_POSTGRES" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || command -v initdb >/dev/null 2>&1 || { \
	  echo "installing postgresql (apt-get)"; \
	  (mkdir -p /etc/postgresql-common \
	    && { test -e /etc/postgresql-common/createcluster.conf \
	         || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; } \
	    && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null \
	  || echo "warning: could not install postgresql; its tests will be skipped"; }
	@# Brokers the event tests start throwaway instances of (tests/support/brokers.py);
	@# the packages' own services are not needed, and stay as the system has them.
	@test -n "$$DOLIUM_TEST_REDIS" || command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null \
	  || echo "warning: could not install redis-server; its tests will be skipped"; }
	@test -n "$$DOLIUM_TEST_NATS" || command -v nats-server >/dev/null 2>&1 || { \
	  echo "installing nats-server (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >/dev/null \
	  || echo "warning: could not install nats-server; its tests will be skipped"; }
	@test -n "$$DOLIUM_TEST_AMQP" || test -x /usr/lib/rabbitmq/bin/rabbitmq-server || { \
	  echo "installing rabbitmq-server (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server) >/dev/null \
	  || echo "warning: could not install rabbitmq-server; its tests will be skipped"; }

lint: test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The tests spend much of their time waiting on the servers they start, so
# they run in one process per core (pytest-xdist), each test file in one of
# them: a file's servers start once. TEST_JOBS=0 runs them in this process.
TEST_JOBS ?= auto
test: lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -q -n $(TEST_JOBS) --dist loadfile

unit: test-deps
	$(BIN)/pytest -q tests/unit tests/contract

# The reference servers `make bench` compares against, kept out of Dolium's venv:
# moto's server in a venv of its own, s3rver from npm; and wrk, the load
# generator of the small-object phase (Debian's package). A failed install is a
# warning: the bench prints a row saying so, or falls back to its Python load
# generator, and goes on.
TOOLS := .bench-tools
$(TOOLS)/moto-venv/.installed:
	@mkdir -p $(TOOLS)
	@{ $(PYTHON) -m venv $(TOOLS)/moto-venv \
	   && $(TOOLS)/moto-venv/bin/pip install --quiet 'moto[server]' >$(TOOLS)/moto-install.log 2>&1 \
	   && touch $@; } || echo "warning: could not install moto[server]; the bench goes on without it"

$(TOOLS)/node_modules/.bin/s3rver:
	@mkdir -p $(TOOLS)
	@{ command -v npm >/dev/null 2>&1 \
	   && npm install --silent --no-audit --no-fund --prefix $(TOOLS) s3rver >$(TOOLS)/s3rver-install.log 2>&1; } \
	  || echo "warning: could not install s3rver (npm); the bench goes on without it"

bench-tools: $(TOOLS)/moto-venv/.installed $(TOOLS)/node_modules/.bin/s3rver
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing wrk (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null \
	  || echo "warning: could not install wrk; the bench uses its Python load generator"; }

# BENCH_ARGS: e.g. --quick, --only small,list, --no-refs (bench/run.py --help).
BENCH_ARGS ?=
bench: install test-deps bench-tools
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py $(BENCH_ARGS)

# Long crash runs: 200 SIGKILL cycles and 20 power cuts (tests/crash).
# Then the load soak, bench/soak.py: mixed traffic for SOAK_SECONDS, leaks checked.
SOAK_CYCLES ?= 200
SOAK_SECONDS ?= 600
soak: test-deps
	PATH="$(CURDIR)/$(BIN):$$PATH" DOLIUM_CRASH_CYCLES=$(SOAK_CYCLES) DOLIUM_POWERCUT_CYCLES=20 \
	  $(BIN)/pytest -q -o timeout=0 tests/crash
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/soak.py --duration $(SOAK_SECONDS)

# Coverage-guided fuzzing (atheris) of each parser for FUZZ_SECONDS; not part of `make test`.
# Crashes are saved under $DOLIUM_FUZZ_DIR (default /tmp/dolium-fuzz)/artifacts.
FUZZ_SECONDS ?= 60
$(VENV)/.fuzz-installed: $(VENV)/.test-installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,fuzz]'
	touch $@

fuzz: $(VENV)/.fuzz-installed
	@crashed=""; for target in fuzz/fuzz_*.py; do \
	  echo "== $$target"; \
	  $(BIN)/python $$target -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    || crashed="$$crashed $$target"; \
	done; test -z "$$crashed" || { echo "crashed:$$crashed"; exit 1; }

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist src/*.egg-info
