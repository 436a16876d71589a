"""The keyring of the `encrypt` module: numbered 256-bit secrets in a JSON file.

    {"keys": [{"id": 1, "secret": "<32 bytes, base64>", "created": 1700000000.0}, ...]}

Key ids count up from 1; the highest is the one new blocks are written
with, and a block names the key it was written with, so a rotation (a new
key appended) never re-encrypts anything and every older key stays needed.
The file is made at first use (mode 0600) and changed only under an
exclusive lock on a side file, landing by rename (temporary file, fsync,
rename, fsync of the directory), so processes sharing it never see half a
file. Keep a copy of it apart from the data: without it the data is lost.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from dolium.durable import locked, replace_json
from dolium.errors import ConfigError

KEY_SIZE = 32


def _bad(path: Path, what: str) -> ConfigError:
    return ConfigError(
        f"encrypt keyring {path}: {what}; restore the keyring this data was written with"
    )


def read_keys(path: Path) -> dict[int, bytes]:
    """The keys of the keyring at `path`, by id; {} if there is no file."""
    try:
        doc: Any = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise _bad(path, f"cannot be read ({exc})") from exc
    keys: dict[int, bytes] = {}
    try:
        for entry in doc["keys"]:
            secret = base64.b64decode(entry["secret"], validate=True)
            if not isinstance(entry["id"], int) or len(secret) != KEY_SIZE:
                raise ValueError(entry["id"])
            keys[entry["id"]] = secret
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _bad(path, "is not a keyring file (damaged?)") from exc
    if sorted(keys) != list(range(1, len(keys) + 1)):
        raise _bad(path, f"key ids {sorted(keys)} are not 1..{len(keys)} (a key was removed)")
    return keys


@contextlib.asynccontextmanager
async def held(path: Path) -> AsyncIterator[None]:
    """The keyring's lock, held across awaits (taken in a worker thread, as it may
    wait for another process). Not to be nested with `add_key`, which takes it too
    (`add_key_held` does not)."""
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(path: Path, keys: dict[int, bytes], created: dict[int, float]) -> None:
    doc = {
        "keys": [
            {"id": i, "secret": base64.b64encode(k).decode(), "created": created.get(i, 0.0)}
            for i, k in sorted(keys.items())
        ]
    }
    replace_json(path, doc)


def _created(path: Path) -> dict[int, float]:
    try:
        entries = json.loads(path.read_bytes())["keys"]
        return {e["id"]: float(e.get("created", 0.0)) for e in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def add_key(path: Path, *, only_if_empty: bool = False) -> dict[int, bytes]:
    """Append a new key (the one new writes use from then on); the keys after it."""
    with locked(path):
        return add_key_held(path, only_if_empty=only_if_empty)


def add_key_held(path: Path, *, only_if_empty: bool = False) -> dict[int, bytes]:
    """`add_key`, for a caller that holds the keyring's lock (`held`)."""
    keys = read_keys(path)
    if keys and only_if_empty:
        return keys
    created = _created(path)
    new_id = len(keys) + 1
    keys[new_id] = secrets.token_bytes(KEY_SIZE)
    created[new_id] = time.time()
    _write(path, keys, created)
    return keys
