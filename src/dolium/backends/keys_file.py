"""Key store over a static file of keys an operator edits (JSON or TOML).

    # keys.toml                           // keys.json
    [[keys]]                              {"keys": [
    access_key = "AKEXAMPLE0001"            {"access_key": "AKEXAMPLE0001",
    secret_key = "..."                       "secret_key": "...",
    tenant = "acme"                          "tenant": "acme", "user": "alice",
    user = "alice"                           "admin": false}
    admin = false                         ]}
    # active = false revokes the key

The fields of a record are those of `keys_records`. The format follows the
file's suffix (`.toml`, else JSON).

The file is checked (one `stat`) at most once every `check_interval`
seconds (default 1) and read again when its identity (inode, modification
time, size) changed: an edit that removes or deactivates a key takes effect
within that bound, on every server process. A file that no longer reads
(deleted, half-written, invalid) makes lookups fail with
`KeyStoreUnavailable` until it is fixed: the previous contents could hold a
key the edit meant to revoke, so they are not used any more. Write the file
elsewhere and rename it into place to never show a half-written file.

The store never creates tenants or users, never logs a record, and never
writes the file.
"""

from __future__ import annotations

import json
import logging
import time
import tomllib
from pathlib import Path

from dolium.backends.keys_records import BadRecord, Found, parse_record
from dolium.errors import ConfigError, KeyStoreUnavailable

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]


class KeyFileError(Exception):
    """The key file cannot be read or parsed (the text never quotes a secret)."""


def read_key_file(path: Path) -> dict[str, tuple[Found, bool]]:
    """Every record of the file by access key id, with whether it is active."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read it: {exc.strerror}") from None
    try:
        if path.suffix == ".toml":
            data: object = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        # The parsers' messages give a position, never the text around it.
        raise KeyFileError(f"not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
    records = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise KeyFileError('expected a list of records under "keys"')
    keys: dict[str, tuple[Found, bool]] = {}
    for i, record in enumerate(records):
        try:
            found, active = parse_record(record)
        except BadRecord as exc:
            raise KeyFileError(f"keys[{i}]: {exc}") from None
        access_key = found[0].access_key
        if access_key in keys:
            raise KeyFileError(f"keys[{i}]: access key {access_key!r} is listed twice")
        keys[access_key] = (found, active)
    return keys


class FileKeyStore:
    def __init__(self, path: Path, check_interval: float = 1.0) -> None:
        self.path = path
        self.check_interval = check_interval
        self._keys: dict[str, tuple[Found, bool]] = {}
        self._stamp: Stamp | None = None
        self._problem: str | None = None
        self._checked = float("-inf")

    @classmethod
    async def open(cls, path: str, check_interval: float = 1.0) -> FileKeyStore:
        if not isinstance(check_interval, int | float) or check_interval < 0:
            raise ConfigError(
                f"config keys.options.check_interval: {check_interval!r} is not a number "
                "of seconds of 0 or more (e.g. 1)"
            )
        store = cls(Path(path), float(check_interval))
        store._check(time.monotonic())
        if store._problem is not None:
            raise ConfigError(
                f"config keys.options.path: key file {path}: {store._problem} "
                '(see "Key stores" in docs/configuration.md)'
            )
        return store

    async def lookup(self, access_key: str) -> Found | None:
        now = time.monotonic()
        if now - self._checked >= self.check_interval:
            self._check(now)
        if self._problem is not None:
            raise KeyStoreUnavailable(f"key file {self.path}: {self._problem}")
        entry = self._keys.get(access_key)
        if entry is None or not entry[1]:
            return None
        return entry[0]

    async def close(self) -> None:
        self._keys = {}

    # A stat and, rarely, a read of a small local file: quicker than a hop
    # to a thread, and done at most once a `check_interval`.
    def _check(self, now: float) -> None:
        self._checked = now
        try:
            st = self.path.stat()
        except OSError as exc:
            self._fail(f"cannot read it: {exc.strerror}")
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp and self._problem is None:
            return
        try:
            self._keys = read_key_file(self.path)
        except KeyFileError as exc:
            self._fail(str(exc))
            return
        self._stamp = stamp
        if self._problem is not None:
            log.warning("key file %s: readable again, %d keys", self.path, len(self._keys))
        self._problem = None

    def _fail(self, problem: str) -> None:
        if problem != self._problem:
            log.error("key file %s: %s; every lookup fails until it is fixed", self.path, problem)
        self._problem = problem
        self._keys = {}
        self._stamp = None
