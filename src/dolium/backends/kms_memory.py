"""Master keys held in memory, for tests: same wrapping as the keyring file."""

from __future__ import annotations

import secrets

from dolium.backends.kms_wrap import KEY_SIZE, unwrap_key, wrap_key
from dolium.errors import StorageError
from dolium.protocols.kms import MasterKeys


class MemoryMasterKeys:
    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    async def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        if not self._keys:
            await self.rotate()
        key_id = next(reversed(self._keys))
        return key_id, wrap_key(key_id, self._keys[key_id], data_key)

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise StorageError(f"master key {key_id!r} is not known")
        return unwrap_key(key_id, master, wrapped)

    async def rotate(self) -> str:
        key_id = f"mk-{len(self._keys) + 1}-{secrets.token_hex(4)}"
        self._keys[key_id] = secrets.token_bytes(KEY_SIZE)
        return key_id

    async def key_ids(self) -> list[str]:
        return list(self._keys)


def _conforms(keys: MemoryMasterKeys) -> MasterKeys:  # mypy fails if it drifts
    return keys
