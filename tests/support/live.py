"""The live `dolium serve` helpers, for the tests outside tests/functional.

They are defined in tests/functional/conftest.py, which the functional tests
import as `conftest`. Every test directory is rootless, so a plain `import
conftest` from elsewhere would get whichever conftest pytest imported last,
and a second module of that name would shadow theirs: the file is loaded here,
once, under a module name of its own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load() -> ModuleType:
    name = "dolium_live_server"
    path = Path(__file__).resolve().parent.parent / "functional" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


_functional = _load()
LiveServer = _functional.LiveServer
DOLIUM: str = _functional.DOLIUM
ROOT_KEY: str = _functional.ROOT_KEY
ROOT_SECRET: str = _functional.ROOT_SECRET
free_port = _functional.free_port
start_server = _functional.start_server
stop_server = _functional.stop_server
client = _functional.client
running = _functional.running
signal_server = _functional.signal_server
kill_server = _functional.kill_server
