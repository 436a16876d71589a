"""`encrypt`: AES-256-GCM at rest, with keys from a keyring that rotates.

Options: `keyring` (the keyring file; the config defaults it to
DATA/encrypt-keyring.json) and `mode`: "convergent" (default; equal blocks
give equal ciphertext, so dedup keeps working below) or "random" (a fresh
key per block). See `encrypt_blocks` for the sealed format and
`encrypt_keyring` for the file. New blocks are sealed with the newest key;
a block names its key, so older keys keep opening older blocks.

Names: the store below never sees a plaintext digest, which would let
whoever reads the disk confirm a guess of the content. A block is stored
under AES-SIV(digest) with a key derived from keyring key 1 (deterministic,
so one name per block, and reversible, so `list` still names blocks).

Start-up check: for every keyring key the store below holds a key-check
block (a known text sealed with that key), written the first time the key
is used. Opening the module checks each one and looks for the check block
of the key after the newest, so a keyring that is missing, replaced, or
older than the data is a `ConfigError` at start, never garbage later. A
block that fails to open anyway is a `CorruptBlock`, never served.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from dolium import errors
from dolium.modules import encrypt_blocks as sealing
from dolium.modules.base import Wrapper, only_store
from dolium.modules.encrypt_keyring import add_key_held, held, read_keys
from dolium.protocols.blob import BlobStore

_CHECK_TEXT = b"dolium encrypt key check"
_CHECK_PREFIX = b"dolium-encrypt-keycheck-"
# Below this, a worker thread costs more than the work it takes off the loop.
THREAD_FROM = 64 * 1024


def check_name(key_id: int) -> bytes:
    return _CHECK_PREFIX + str(key_id).encode()


class EncryptStore(Wrapper):
    name = "encrypt"

    def __init__(self, inner: BlobStore, keyring: Path, mode: str, keys: dict[int, bytes]) -> None:
        super().__init__(inner)
        self.keyring = keyring
        self.mode = mode
        self._keys = keys
        first = keys[1]
        names_key = b"".join(
            hmac.new(first, label, hashlib.sha256).digest()
            for label in (b"dolium block names 1", b"dolium block names 2")
        )
        self._names = AESSIV(names_key)
        self._counts = {"sealed": 0, "opened": 0}

    @classmethod
    async def open(
        cls, stores: Sequence[BlobStore], keyring: str, mode: str = "convergent"
    ) -> EncryptStore:
        if mode not in sealing.MODES:
            raise errors.ConfigError(
                f"module 'encrypt': mode {mode!r} is not one of {', '.join(sealing.MODES)}"
            )
        inner = only_store(cls.name, stores)
        path = Path(keyring)
        # All under the keyring's lock: the processes of one server start
        # together, and one may be making the keyring or writing a key-check
        # block while another looks (a store that spreads a block over several
        # writes, as erasure coding does, shows it half-made meanwhile).
        async with held(path):
            keys = await asyncio.to_thread(read_keys, path)
            if not keys:
                if await inner.has(check_name(1)):
                    raise errors.ConfigError(
                        f"encrypt keyring {path}: missing, and the store holds data written "
                        "with it; restore the keyring this data was written with"
                    )
                keys = await asyncio.to_thread(add_key_held, path, only_if_empty=True)
            await _check_keys(inner, path, keys)
        return cls.around(inner, path, mode, keys)

    # -- names ---------------------------------------------------------------------
    def inner_name(self, digest: bytes) -> bytes:
        return self._names.encrypt(digest, None)

    def _digest_of(self, name: bytes) -> bytes | None:
        try:
            return self._names.decrypt(name, None)
        except (InvalidTag, ValueError):
            return None  # a key-check block, or not written by this module

    # -- blocks --------------------------------------------------------------------
    async def put(self, digest: bytes, data: bytes) -> None:
        key_id = len(self._keys)
        mode = sealing.MODES[self.mode]
        args = (mode, key_id, self._keys[key_id], digest, data)
        if len(data) >= THREAD_FROM:
            stored = await asyncio.to_thread(sealing.seal, *args)
        else:
            stored = sealing.seal(*args)
        await self.inner.put(self.inner_name(digest), stored)
        self._counts["sealed"] += 1

    async def get(self, digest: bytes) -> bytes:
        stored = await self.inner.get(self.inner_name(digest))
        secret = await self._secret(digest, stored)
        try:
            if len(stored) >= THREAD_FROM:
                data = await asyncio.to_thread(sealing.open_sealed, secret, digest, stored)
            else:
                data = sealing.open_sealed(secret, digest, stored)
        except (InvalidTag, ValueError) as exc:
            raise errors.CorruptBlock(
                f"block {digest.hex()}: does not decrypt (damaged, or sealed with another key)",
                digest=digest.hex(),
            ) from exc
        self._counts["opened"] += 1
        return data

    async def _secret(self, digest: bytes, stored: bytes) -> bytes:
        try:
            key_id = sealing.key_id_of(stored)
        except ValueError as exc:
            raise errors.CorruptBlock(
                f"block {digest.hex()}: not sealed by the encrypt module ({exc})",
                digest=digest.hex(),
            ) from exc
        if key_id not in self._keys:
            # Another process may have rotated the keyring since this one opened it.
            self._keys = await asyncio.to_thread(read_keys, self.keyring)
        secret = self._keys.get(key_id)
        if secret is None:
            raise errors.StorageError(
                f"block {digest.hex()}: sealed with key {key_id}, which the encrypt keyring "
                f"{self.keyring} does not hold; restore the keyring"
            )
        return secret

    async def has(self, digest: bytes) -> bool:
        return await self.inner.has(self.inner_name(digest))

    async def delete(self, digest: bytes) -> None:
        await self.inner.delete(self.inner_name(digest))

    async def list(self) -> AsyncIterator[bytes]:
        async for name in self.inner.list():
            digest = self._digest_of(name)
            if digest is not None:
                yield digest

    def own_capabilities(self) -> frozenset[str]:
        return frozenset({"encryption=AES_GCM_256", f"encryption-keys={self.mode}"})

    async def statistics(self) -> Mapping[str, int | float]:
        figures = dict(await super().statistics())
        if "blocks" in figures:  # the key-check blocks are not blocks of the policy
            figures["blocks"] = max(0, int(figures["blocks"]) - len(self._keys))
        return figures

    async def own_statistics(self) -> Mapping[str, int | float]:
        return {**self._counts, "keys": len(self._keys), "active_key": len(self._keys)}


async def _check_keys(inner: BlobStore, path: Path, keys: dict[int, bytes]) -> None:
    """Refuse a keyring that does not match the data below (see the module docstring)."""
    for key_id, secret in sorted(keys.items()):
        name = check_name(key_id)
        try:
            stored = await inner.get(name)
        except errors.BlockNotFound:
            sealed = sealing.seal(sealing.CONVERGENT, key_id, secret, name, _CHECK_TEXT)
            await inner.put(name, sealed)
            continue
        try:
            ok = sealing.open_sealed(secret, name, stored) == _CHECK_TEXT
        except (InvalidTag, ValueError):
            ok = False
        if not ok:
            raise errors.ConfigError(
                f"encrypt keyring {path}: key {key_id} is not the key this store's data "
                "was written with (wrong or replaced keyring); restore the keyring this "
                "data was written with"
            )
    newer = len(keys) + 1
    if await inner.has(check_name(newer)):
        raise errors.ConfigError(
            f"encrypt keyring {path}: lacks key {newer}, which the store's data uses "
            "(an older copy of the keyring?); restore the newest keyring"
        )
