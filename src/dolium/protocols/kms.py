"""Master keys: wrap and unwrap the data keys of SSE-S3 objects.

A master key never leaves its store: the core hands it a data key and keeps
what comes back (the wrapped key and the id of the master key that wrapped
it). Rotation adds a new active master key and keeps the old ones for
unwrapping, so no stored object is rewritten.

A store never sees buckets, objects or blocks.
"""

from __future__ import annotations

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
