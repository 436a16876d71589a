"""In-memory blob store: the reference implementation of the BlobStore protocol.

Blocks live in a dict and vanish with the process; it serves tests and
throwaway servers. Every method runs without awaiting between its check and
its change, so on one event loop each call is atomic.

This module must not import the core or the front ends, and never verifies
digests (the core does).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from dolium import errors

# How many digests `list` yields before letting other tasks run.
_LIST_YIELD_EVERY = 1024


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blocks: dict[bytes, bytes] = {}
        # Blocks moved aside as corrupt (`quarantine`), by digest.
        self.quarantined: dict[bytes, list[bytes]] = {}
        self._counts = {"puts": 0, "gets": 0, "deletes": 0, "bytes_written": 0, "quarantined": 0}

    @classmethod
    async def open(cls) -> MemoryBlobStore:
        return cls()

    @staticmethod
    def _check(digest: bytes) -> None:
        if not isinstance(digest, bytes) or not digest:
            raise ValueError("a block digest is a non-empty bytes value")

    async def put(self, digest: bytes, data: bytes) -> None:
        self._check(digest)
        self._counts["puts"] += 1
        if digest not in self._blocks:
            # Copy: a caller's bytearray or memoryview must not change a stored block.
            self._blocks[digest] = bytes(data)
            self._counts["bytes_written"] += len(data)

    async def get(self, digest: bytes) -> bytes:
        self._check(digest)
        self._counts["gets"] += 1
        try:
            return self._blocks[digest]
        except KeyError:
            raise errors.BlockNotFound(
                f"block {digest.hex()} is not stored", digest=digest.hex()
            ) from None

    async def has(self, digest: bytes) -> bool:
        self._check(digest)
        return digest in self._blocks

    async def delete(self, digest: bytes) -> None:
        self._check(digest)
        if self._blocks.pop(digest, None) is not None:
            self._counts["deletes"] += 1

    async def quarantine(self, digest: bytes, found: bytes) -> bool:
        self._check(digest)
        if self._blocks.get(digest) != found:
            return False
        self.quarantined.setdefault(digest, []).append(self._blocks.pop(digest))
        self._counts["quarantined"] += 1
        return True

    async def list(self) -> AsyncIterator[bytes]:
        # A snapshot of the names: the dict may change while the caller awaits.
        for i, digest in enumerate(list(self._blocks), 1):
            yield digest
            if i % _LIST_YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def capabilities(self) -> frozenset[str]:
        return frozenset({"volatile"})

    async def statistics(self) -> Mapping[str, int | float]:
        used = sum(len(b) for b in self._blocks.values())
        return {**self._counts, "blocks": len(self._blocks), "used_bytes": used}

    async def close(self) -> None:
        """Nothing to release; the blocks stay readable until the store is dropped."""


if TYPE_CHECKING:
    from dolium.protocols.blob import BlobStore, QuarantineStore

    def _conforms(s: MemoryBlobStore) -> BlobStore:  # mypy fails if the class drifts
        return s

    def _quarantines(s: MemoryBlobStore) -> QuarantineStore:
        return s
