"""Master keys (SSE-S3) and a key service (SSE-KMS) held in memory, for tests:
the same wrapping as the keyring files."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dolium.backends.kms_wrap import KEY_SIZE, NONCE_SIZE, unwrap_key, wrap_key
from dolium.errors import Conflict, KmsKeyDisabled, KmsKeyNotFound, StorageError
from dolium.protocols.kms import KeyService, KmsKey, MasterKeys

# The name of the default key, as S3's AWS managed key is named.
DEFAULT_ALIAS = "alias/aws/s3"


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


class MemoryKeyService:
    """SSE-KMS keys held in memory, for tests: the local keyring's rules, no file.

    A wrapped key is the index of its material (4 bytes) || nonce || AES-GCM
    ciphertext, with the key id, the index and the context as associated data.
    """

    def __init__(self) -> None:
        self._keys: dict[str, tuple[KmsKey, list[bytes]]] = {}

    @classmethod
    async def open(cls, data_dir: object = None) -> MemoryKeyService:
        return cls()

    async def find(self, ref: str | None) -> KmsKey:
        for key, _ in self._keys.values():
            if (ref is None and key.default) or (ref is not None and ref in (key.id, key.alias)):
                return key
        if ref in (None, DEFAULT_ALIAS):
            return self._add(DEFAULT_ALIAS, default=True)
        raise KmsKeyNotFound(f"key {ref!r} does not exist")

    async def encrypt(self, key_id: str, data_key: bytes, context: bytes) -> bytes:
        key, materials = self._usable(await self.find(key_id))
        index = len(materials) - 1
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = AESGCM(materials[index]).encrypt(nonce, data_key, _aad(key.id, index, context))
        return index.to_bytes(4, "big") + nonce + sealed

    async def decrypt(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        key, materials = self._usable(await self.find(key_id))
        index = int.from_bytes(wrapped[:4], "big")
        body = wrapped[4:]
        try:
            return AESGCM(materials[index]).decrypt(
                body[:NONCE_SIZE], body[NONCE_SIZE:], _aad(key.id, index, context)
            )
        except (IndexError, InvalidTag, ValueError) as exc:
            raise StorageError(f"a data key does not unwrap with key {key_id}") from exc

    async def create(self, alias: str | None = None) -> KmsKey:
        name = alias if alias is None or alias.startswith("alias/") else f"alias/{alias}"
        if name is not None and (name.startswith("alias/aws/") or self._taken(name)):
            raise Conflict(f"alias {name} is taken or reserved")
        return self._add(name)

    async def keys(self) -> list[KmsKey]:
        return [key for key, _ in self._keys.values()]

    async def rotate(self, ref: str) -> KmsKey:
        key = await self.find(ref)
        materials = self._keys[key.id][1]
        materials.append(secrets.token_bytes(KEY_SIZE))
        return self._set(replace(key, rotations=len(materials) - 1))

    async def set_enabled(self, ref: str, enabled: bool) -> KmsKey:
        return self._set(replace(await self.find(ref), enabled=enabled))

    async def close(self) -> None:
        pass

    def _add(self, alias: str | None, *, default: bool = False) -> KmsKey:
        key = KmsKey(str(uuid.uuid4()), alias, time.time(), True, 0, default)
        self._keys[key.id] = (key, [secrets.token_bytes(KEY_SIZE)])
        return key

    def _set(self, key: KmsKey) -> KmsKey:
        self._keys[key.id] = (key, self._keys[key.id][1])
        return key

    def _usable(self, key: KmsKey) -> tuple[KmsKey, list[bytes]]:
        if not key.enabled:
            raise KmsKeyDisabled(f"key {key.id} is disabled")
        return self._keys[key.id]

    def _taken(self, name: str) -> bool:
        return any(key.alias == name for key, _ in self._keys.values())


def _aad(key_id: str, index: int, context: bytes) -> bytes:
    return b"\0".join((key_id.encode(), str(index).encode(), context))


def _conforms_keys(keys: MemoryKeyService) -> KeyService:  # mypy fails if it drifts
    return keys
