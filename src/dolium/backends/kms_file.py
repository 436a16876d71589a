"""Master keys in a local keyring file (JSON, mode 0600), made at first use.

    {"keys": [{"id": "mk-...", "key": "<32 bytes, base64>", "created": 1700000000.0}, ...]}

The last key is the active one; data keys are wrapped under it by kms_wrap
(AES-256-GCM, the key id as associated data). Every change (creation,
rotation) is made under an exclusive lock on a side file and lands by
rename, so processes sharing the data directory never see half a file, and a
running server picks a rotation up on its next wrap (it compares the file's
identity) or its next unknown key id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import secrets
import time
from pathlib import Path
from typing import Any

from dolium.backends.kms_wrap import KEY_SIZE, unwrap_key, wrap_key
from dolium.durable import locked, replace_json
from dolium.errors import ConfigError, StorageError
from dolium.protocols.kms import MasterKeys


class FileMasterKeys:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._keys: dict[str, bytes] = {}
        self._active = ""
        self._stamp: tuple[int, int, int] | None = None

    # -- protocol ---------------------------------------------------------------------

    async def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        key_id, master = await asyncio.to_thread(self._active_key)
        return key_id, wrap_key(key_id, master, data_key)

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            await asyncio.to_thread(self._load)
            master = self._keys.get(key_id)
        if master is None:
            raise StorageError(f"master key {key_id!r} is not in the keyring {self.path}")
        return unwrap_key(key_id, master, wrapped)

    async def rotate(self) -> str:
        return await asyncio.to_thread(self._rotate)

    async def key_ids(self) -> list[str]:
        await asyncio.to_thread(self._load)
        return list(self._keys)

    async def close(self) -> None:
        self._keys.clear()

    # -- the file ---------------------------------------------------------------------

    def _active_key(self) -> tuple[str, bytes]:
        if self._stamp is None or self._stamp != self._file_stamp():
            self._load()
        if not self._keys:
            self._rotate(only_if_empty=True)
        return self._active, self._keys[self._active]

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _load(self) -> None:
        stamp = self._file_stamp()
        if stamp is None:
            self._keys, self._active, self._stamp = {}, "", None
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            keys = {str(k["id"]): base64.b64decode(k["key"], validate=True) for k in doc["keys"]}
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ConfigError(f"keyring {self.path}: unreadable ({exc})") from exc
        if any(len(k) != KEY_SIZE for k in keys.values()):
            raise ConfigError(f"keyring {self.path}: a master key is not {KEY_SIZE} bytes")
        self._keys = keys
        self._active = next(reversed(keys), "")
        self._stamp = stamp

    def _rotate(self, *, only_if_empty: bool = False) -> str:
        with self._locked():
            self._load()
            if only_if_empty and self._keys:
                return self._active
            entries: list[dict[str, Any]] = []
            if self._keys:  # kept as they are, with their creation times
                entries = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            key_id = f"mk-{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(6)}"
            entries.append(
                {
                    "id": key_id,
                    "key": base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode(),
                    "created": time.time(),
                }
            )
            self._write({"keys": entries})
            self._load()
            return key_id

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked(self.path)

    def _write(self, doc: dict[str, Any]) -> None:
        replace_json(self.path, doc)


def _conforms(keys: FileMasterKeys) -> MasterKeys:  # mypy fails if it drifts
    return keys
