"""Server and store plumbing shared by the crash tests."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from pathlib import Path
from typing import Any

from dolium.config_load import load_config
from dolium.core.content.integrity import IntegrityReport, check
from dolium.core.context import Context
from dolium.plugins import open_blob, open_meta
from support.live import client, kill_server, start_server, stop_server

MIB = 1024 * 1024

# Collection runs every second with a grace far longer than any storm
# operation takes, so blocks of overwritten and deleted objects are freed
# while the storm runs and a kill can land in the middle of a collection.
SERVER_ENV = {"DOLIUM_GC_INTERVAL": "1", "DOLIUM_GC_GRACE": "20"}


def start(data: Path, extra_env: dict[str, str] | None = None) -> Any:
    return start_server(data, {**SERVER_ENV, **(extra_env or {})})


def stop(server: Any) -> None:
    """SIGTERM, then SIGKILL if it lingers; safe on a process already gone."""
    if server.process.poll() is None:
        stop_server(server)


def kill(server: Any) -> None:
    """SIGKILL to every process of the server: no shutdown code runs, nothing
    is flushed; returns once none is left."""
    kill_server(server)


def log_tail(server: Any, lines: int = 30) -> str:
    try:
        text = Path(server.log).read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


def s3_client(server: Any, *, timeout: float = 60.0) -> Any:
    # `client` makes no retry, which would blur what was acknowledged.
    return client(server, connect_timeout=5, read_timeout=timeout, max_pool_connections=4)


def integrity(data: Path) -> IntegrityReport:
    """Run the core's integrity check on the stores configured for `data`."""

    async def go() -> IntegrityReport:
        config = load_config(None, {}, {"data_dir": data})
        meta = await open_meta(config)
        blobs = await open_blob(config)
        try:
            return await check(Context(meta=meta, blobs=blobs, clock=time.time))
        finally:
            await meta.close()
            await blobs.close()

    return asyncio.run(go())


def base_seed() -> int:
    """DOLIUM_CRASH_SEED replays a run's operation sequences (not its timing)."""
    given = os.environ.get("DOLIUM_CRASH_SEED")
    return int(given) if given else random.SystemRandom().randrange(1, 2**31)


def run(*argv: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    """A system command; raise with its output unless its status is in `ok`."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode not in ok:
        raise RuntimeError(
            f"{' '.join(argv)}: exit {result.returncode}: {result.stderr.strip()}"
            f" {result.stdout.strip()}"
        )
    return result
