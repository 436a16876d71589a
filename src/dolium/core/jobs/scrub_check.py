"""Checking one stored block for the scrubber, and pacing the reads.

A block is read back through its policy's store and hashed with its
bucket's algorithm, as a GET would check it. A store that keeps redundancy
(protocols.blob.RedundantStore) is first asked to `verify` every copy or
share; a DEGRADED block is repaired when the scrub repairs, and otherwise
not read at all, since a read through such a store may heal it, and a scrub
that does not repair changes nothing but what a GET would change too: a
block that fails its hash is quarantined (core.content.quarantine).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from enum import StrEnum

from dolium.core.clock import Clock
from dolium.core.content.quarantine import set_aside
from dolium.errors import BlockNotFound, StorageError
from dolium.protocols.blob import BlobStore, BlockState, RedundantStore

# Blocks at least this large are hashed in a worker thread (hashlib releases
# the GIL), so a scrub beside a live server does not stall its event loop.
THREAD_HASH_BYTES = 64 * 1024


class Verdict(StrEnum):
    OK = "ok"  # present, sound, every copy or share in place
    REPAIRED = "repaired"  # was degraded; every copy or share rebuilt
    DEGRADED = "degraded"  # readable, but short of copies or shares (not repaired)
    LOST = "lost"  # absent, or not readable as its digest says
    FAILED = "failed"  # the store could not answer: not known either way


class Pacer:
    """Holds reads to `rate` bytes a second on average (None: as fast as they go)."""

    def __init__(
        self,
        rate: float | None,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate if rate else None
        self.clock, self.sleep = clock, sleep
        self._start = clock()
        self._done = 0

    async def spent(self, size: int) -> None:
        self._done += size
        if self.rate is None:
            return
        ahead = self._start + self._done / self.rate - self.clock()
        if ahead > 0:
            await self.sleep(ahead)


def _matches(data: bytes, digest: bytes, algorithm: str) -> bool:
    try:
        return hashlib.new(algorithm, data).digest() == digest
    except ValueError:  # an algorithm hashlib does not know matches nothing
        return False


async def check_block(
    store: BlobStore, digest: bytes, algorithm: str, *, repair: bool
) -> tuple[Verdict, int]:
    """What the block's state is, and how many of its bytes were read."""
    repaired = False
    if isinstance(store, RedundantStore):
        try:
            state = await store.verify(digest)
            if state is BlockState.DEGRADED and repair:
                state = await store.repair(digest)
                repaired = state is BlockState.OK
        except StorageError:
            return Verdict.FAILED, 0
        if state is BlockState.LOST:
            return Verdict.LOST, 0
        if state is BlockState.DEGRADED:
            return Verdict.DEGRADED, 0
    try:
        data = await store.get(digest)
    except BlockNotFound:
        return Verdict.LOST, 0
    except StorageError:
        return Verdict.FAILED, 0
    if len(data) >= THREAD_HASH_BYTES:
        sound = await asyncio.to_thread(_matches, data, digest, algorithm)
    else:
        sound = _matches(data, digest, algorithm)
    if not sound:
        await set_aside(store, digest, data)
        return Verdict.LOST, len(data)
    return (Verdict.REPAIRED if repaired else Verdict.OK), len(data)
