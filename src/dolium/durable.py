"""Making a file's name durable: what every store that writes files needs.

A new or renamed file survives a crash only once its directory is synced
too; every writer of files (blocks, outboxes, keys, the audit log) does it
through `fsync_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: str | Path) -> None:
    """Flush directory `path`, so the names created or renamed in it survive a crash."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
