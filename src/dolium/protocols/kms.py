"""Keys that wrap data keys: the SSE-S3 master keys and the SSE-KMS key service.

A key never leaves its store: the core hands it a data key and keeps what
comes back. Rotation adds new key material and keeps the old for
unwrapping, so no stored object is rewritten.

`MasterKeys` serve SSE-S3: one active key, chosen by the store.
`KeyService` serves SSE-KMS: named keys that requests choose by id or
alias, each enabled or disabled, with an encryption context bound to every
wrapped key. The local keyring implements it; a plugin in the `dolium.kms`
entry-point group (a Vault transit engine, a cloud KMS) can replace it.

A store never sees buckets, objects or blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class MasterKeys(Protocol):
    async def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """(id of the active master key, `data_key` wrapped by it)."""

    async def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """The data key; StorageError when the master key is gone or the bytes are not its."""

    async def rotate(self) -> str:
        """Make a new master key the active one; returns its id."""

    async def key_ids(self) -> list[str]:
        """Ids of every master key, oldest first (the last one is active)."""


@dataclass(frozen=True)
class KmsKey:
    """What a key service says of one key (never its material)."""

    id: str
    alias: str | None
    created: float
    enabled: bool
    # How many times its material was rotated (0: the first material).
    rotations: int = 0
    # The key used when a request names none (S3's `aws/s3` managed key).
    default: bool = False


class KeyService(Protocol):
    async def find(self, ref: str | None) -> KmsKey:
        """The key with id or alias (`alias/NAME`) `ref`; None: the default key,
        made at first use. KmsKeyNotFound when there is none (disabled keys
        are found: the caller decides)."""

    async def encrypt(self, key_id: str, data_key: bytes, context: bytes) -> bytes:
        """`data_key` wrapped by the current material of `key_id`, bound to `context`.

        KmsKeyNotFound, KmsKeyDisabled."""

    async def decrypt(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        """The data key; KmsKeyDisabled when the key is disabled, StorageError
        when the bytes are not the key's or `context` is not theirs."""

    async def create(self, alias: str | None = None) -> KmsKey:
        """A new enabled key; Conflict when `alias` is taken."""

    async def keys(self) -> list[KmsKey]:
        """Every key, oldest first."""

    async def rotate(self, ref: str) -> KmsKey:
        """New material for the key; what the old wrapped still opens."""

    async def set_enabled(self, ref: str, enabled: bool) -> KmsKey:
        """Enable or disable a key: a disabled key neither wraps nor unwraps."""

    async def close(self) -> None: ...
