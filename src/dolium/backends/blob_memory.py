"""In-memory blob store: the reference implementation of the BlobStore protocol.

Blocks live in a dict and vanish with the process; it serves tests and
throwaway servers. Its semantics are the file store's: put of a stored block
only refreshes its time, touch reports whether the block is stored, and
delete refuses a block put or touched at or after the cutoff. Times come from
an injectable clock (``time.time`` by default) so that tests can age blocks
without sleeping.

Every method runs without awaiting between its check and its change, so on
one event loop each call is atomic; that is what makes delete safe against a
concurrent touch here, where the file store needs its rename dance.

This module must not import the core or the front ends, and never verifies
digests (the core does).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING

from dolium import errors

Clock = Callable[[], float]

# How many blocks scan yields before letting other tasks run.
_SCAN_YIELD_EVERY = 1024


class MemoryBlobStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or time.time
        # digest -> (data, time last put or touched)
        self._blocks: dict[bytes, tuple[bytes, float]] = {}

    @classmethod
    async def open(cls, clock: Clock | None = None) -> MemoryBlobStore:
        return cls(clock)

    @staticmethod
    def _check(digest: bytes) -> None:
        if not isinstance(digest, bytes) or not digest:
            raise ValueError("a block digest is a non-empty bytes value")

    async def put(self, digest: bytes, data: bytes) -> None:
        self._check(digest)
        stored = self._blocks.get(digest)
        # Copy: a caller's bytearray or memoryview must not change a stored block.
        self._blocks[digest] = (stored[0] if stored else bytes(data), self._clock())

    async def get(self, digest: bytes) -> bytes:
        self._check(digest)
        try:
            return self._blocks[digest][0]
        except KeyError:
            raise errors.BlockNotFound(
                f"block {digest.hex()} is not stored", digest=digest.hex()
            ) from None

    async def touch(self, digest: bytes) -> bool:
        self._check(digest)
        stored = self._blocks.get(digest)
        if stored is None:
            return False
        self._blocks[digest] = (stored[0], self._clock())
        return True

    async def missing(self, digests: Iterable[bytes]) -> set[bytes]:
        return {d for d in digests if d not in self._blocks}

    async def delete(self, digest: bytes, unused_since: float) -> bool:
        self._check(digest)
        stored = self._blocks.get(digest)
        if stored is None or stored[1] >= unused_since:
            return False
        del self._blocks[digest]
        return True

    async def scan(self) -> AsyncIterator[tuple[bytes, float]]:
        # A snapshot of (digest, time) pairs: the data is not copied, and the
        # dict may change while the caller awaits between items.
        snapshot = [(d, t) for d, (_, t) in self._blocks.items()]
        for i, item in enumerate(snapshot, 1):
            yield item
            if i % _SCAN_YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def close(self) -> None:
        """Nothing to release; the blocks stay readable until the store is dropped."""


if TYPE_CHECKING:
    from dolium.protocols.blob import BlobStore

    def _conforms(s: MemoryBlobStore) -> BlobStore:  # mypy fails if the class drifts
        return s
