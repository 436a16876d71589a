"""Blob stores: put/get/delete blocks by content hash.

A blob store never sees buckets, keys, versions or permissions. It stores
opaque blocks under their digest and does not verify them: the core checks
every block it reads against its digest.

Garbage collection is safe against concurrent uploads through `touch`: a
writer that deduplicates against an existing block touches it, and the
collector only deletes blocks not touched since its cutoff.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Protocol


class BlobStore(Protocol):
    async def put(self, digest: bytes, data: bytes) -> None:
        """Store a block durably (idempotent). Returns once it survives a crash."""

    async def get(self, digest: bytes) -> bytes:
        """Return the stored bytes; raise BlockNotFound if absent."""

    async def touch(self, digest: bytes) -> bool:
        """Mark the block as just used; False if it is not stored."""

    async def missing(self, digests: Iterable[bytes]) -> set[bytes]:
        """The subset of `digests` that is not stored."""

    async def delete(self, digest: bytes, unused_since: float) -> bool:
        """Delete the block unless it was put or touched after `unused_since`.

        Returns True if it was deleted. Only the garbage collector calls this.
        """

    def scan(self) -> AsyncIterator[tuple[bytes, float]]:
        """Every stored block with the time it was last put or touched."""

    async def close(self) -> None: ...
