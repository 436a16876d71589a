"""Where the last report of each background job is kept: `<job>.json` in the
data directory (`scrub.json`, `gc.json`).

The server's jobs and the commands that run them by hand (`dolium scrub`)
write it when a run ends, for whatever reports on the server's health (the
admin API, metrics) to read without running the job again, from any worker
process. It is written durably (temporary file, fsync, rename, fsync of the
directory), so a reader finds the whole of the last report or of the one
before, never a torn one. One file per job and data directory: the runs of
the servers take turns (the jobs lease), and a report says
when it started and ended.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from dolium.durable import fsync_dir

SCRUB = "scrub"
GC = "gc"


def file_name(job: str) -> str:
    return f"{job}.json"


def save(data_dir: Path, job: str, report: dict[str, Any]) -> Path:
    name = file_name(job)
    path = data_dir / name
    tmp = data_dir / f".{name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(report, indent=2, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(data_dir)
    return path


def load(data_dir: Path, job: str) -> dict[str, Any] | None:
    """The last report, or None if no run of `job` has ended here yet."""
    try:
        loaded: dict[str, Any] = json.loads((data_dir / file_name(job)).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return loaded
