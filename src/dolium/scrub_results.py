"""Where the last scrub's report is kept: `scrub.json` in the data directory.

The scrubber of the server and `dolium scrub` both write it when a scrub
ends, for whatever reports on the server's health (the admin API, metrics)
to read without scrubbing again. It is written durably (temporary file,
fsync, rename, fsync of the directory), so a reader finds the whole of the
last report or of the one before, never a torn one. One file per data
directory: the scrubs of one data directory's servers take turns (the jobs
lock), and a report says when it started and ended.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from dolium.durable import fsync_dir

FILE = "scrub.json"


def save(data_dir: Path, report: dict[str, Any]) -> Path:
    path = data_dir / FILE
    tmp = data_dir / f".{FILE}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, json.dumps(report, indent=2, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(data_dir)
    return path


def load(data_dir: Path) -> dict[str, Any] | None:
    """The last report, or None if no scrub has ended here yet."""
    try:
        loaded: dict[str, Any] = json.loads((data_dir / FILE).read_text())
    except FileNotFoundError:
        return None
    return loaded
