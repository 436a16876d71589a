"""Master keys held in memory, for tests: same wrapping as the keyring file."""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dolium.errors import StorageError
from dolium.protocols.kms import MasterKeys

NONCE_SIZE = 12


class MemoryMasterKeys:
    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    async def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        if not self._keys:
            await self.rotate()
        key_id = next(reversed(self._keys))
        nonce = secrets.token_bytes(NONCE_SIZE)
        return key_id, nonce + AESGCM(self._keys[key_id]).encrypt(nonce, data_key, key_id.encode())

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise StorageError(f"master key {key_id!r} is not known")
        try:
            return AESGCM(master).decrypt(
                wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], key_id.encode()
            )
        except (InvalidTag, ValueError) as exc:
            raise StorageError(f"a data key does not unwrap with master key {key_id!r}") from exc

    async def rotate(self) -> str:
        key_id = f"mk-{len(self._keys) + 1}-{secrets.token_hex(4)}"
        self._keys[key_id] = secrets.token_bytes(32)
        return key_id

    async def key_ids(self) -> list[str]:
        return list(self._keys)


def _conforms(keys: MemoryMasterKeys) -> MasterKeys:  # mypy fails if it drifts
    return keys
