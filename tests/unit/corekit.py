"""Shared pieces for unit tests of the core services.

The core runs over the in-memory meta and blob stores, with a small block
size and a small inline threshold so that both the inline and the block
paths are cheap to reach, and a clock the test drives.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.context import Context, Settings
from dolium.core.store import Store
from dolium.model import ObjectVersion, Principal

BLOCK = 64 * 1024
INLINE = 1024
GRACE = 3600.0

ALICE = Principal(tenant="alice", user="alice")
BOB = Principal(tenant="bob", user="bob")


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Core:
    store: Store
    meta: MemoryMetaStore
    blobs: MemoryBlobStore
    clock: Clock

    async def block_count(self) -> int:
        return len([d async for d in self.blobs.list()])

    async def digests(self) -> set[bytes]:
        return {d async for d in self.blobs.list()}

    async def missing(self, digests: Iterable[bytes]) -> set[bytes]:
        return {d for d in digests if not await self.blobs.has(d)}


def make_core(meta: MemoryMetaStore | None = None) -> Core:
    clock = Clock()
    meta = meta if meta is not None else MemoryMetaStore(clock)  # changes on the same clock
    blobs = MemoryBlobStore()
    settings = Settings(block_size=BLOCK, inline_threshold=INLINE, gc_grace=GRACE)
    ctx = Context(meta=meta, blobs=blobs, settings=settings, clock=clock)
    return Core(Store(ctx), meta, blobs, clock)


async def body(data: bytes, chunk: int = 10_000) -> AsyncIterator[bytes]:
    """`data` in pieces that do not line up with blocks."""
    for i in range(0, len(data), chunk):
        yield data[i : i + chunk]


async def chunks(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def read_all(
    store: Store, version: ObjectVersion, start: int = 0, end: int | None = None
) -> bytes:
    last = version.size - 1 if end is None else end
    out = bytearray()
    async for piece in await store.objects.read(version, start, last):
        out += piece
    return bytes(out)


def pattern(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random data: no two blocks alike, unless asked."""
    return random.Random(seed).randbytes(size)


def evict(path: str | os.PathLike[str]) -> None:
    """Ask the kernel to drop the file's clean pages from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
