"""Helpers for the fault-injection tests: the live server, data, block paths.

The live server machinery is the functional tests' (tests/functional/
conftest.py), loaded under its own module name: a second module called
`conftest` would shadow the one the functional tests import.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError


def _load_live() -> ModuleType:
    name = "dolium_live_server"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "functional" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


live = _load_live()
LiveServer = live.LiveServer
start_server = live.start_server
stop_server = live.stop_server
client = live.client
DOLIUM = live.DOLIUM

BLOCK = 64 * 1024
SMALL_BLOCKS = {"DOLIUM_BLOCK_SIZE": str(BLOCK), "DOLIUM_INLINE_THRESHOLD": "1024"}


def data_of(size: int, seed: str) -> bytes:
    """Distinct pseudo-random data: no block in common with another seed's."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def failure(call: Any) -> tuple[int, str]:
    """(HTTP status, S3 code) of a boto3 call that must fail."""
    try:
        call()
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    raise AssertionError("the call succeeded")


def temp_files(root: Path) -> list[Path]:
    """Temporary block files (".<hex>.<random>.tmp") left under `root`."""
    return [p for p in root.rglob(".*.tmp") if p.is_file()]


def serve_once(data: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `dolium serve` on `data` and expect it to exit by itself (a refusal)."""
    env = dict(os.environ)
    env.update(
        {"DOLIUM_ROOT_ACCESS_KEY": live.ROOT_KEY, "DOLIUM_ROOT_SECRET_KEY": live.ROOT_SECRET}
    )
    command = [DOLIUM, "serve", "--data", str(data), "--listen", f"127.0.0.1:{live.free_port()}"]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=timeout
    )
