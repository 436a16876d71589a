"""Integrity check: every block the metadata references is stored and sound.

Walks the meta store's references (object versions and multipart parts),
and for each distinct digest asks the blob store for the block and checks
that its bytes hash to its name. A block that is absent is *missing*; one
whose bytes do not match is *corrupt*. Blocks that nothing references are
garbage for the collector, not damage, and are not looked at.

The blob protocol gives no per-block algorithm, and buckets may choose
theirs, so a block is sound if it matches under any algorithm in use (the
default and every bucket's) whose digest has the block's length.

This module reads only: it never repairs, deletes or touches a block (a
touch would keep garbage alive), and it runs beside a live server. It keeps
one digest per referenced block in memory, the price of checking each block
once however many versions share it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dolium.core.context import Context
from dolium.core.data.hashing import DEFAULT_ALGORITHM
from dolium.errors import BlockNotFound

BATCH = 256
# Blocks at least this large are hashed in a worker thread (hashlib releases
# the GIL), so a check beside a live server does not stall its event loop.
THREAD_HASH_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    references: int  # references read from the meta store (repeats counted)
    referenced: int  # distinct blocks referenced
    checked: int  # of those, found stored (and verified, if asked)
    missing: tuple[str, ...]  # hex digests referenced but not stored
    corrupt: tuple[str, ...]  # hex digests whose stored bytes do not match
    verified: bool  # whether block contents were hashed, not only looked up

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    def summary(self) -> str:
        how = "verified" if self.verified else "present"
        return (
            f"{self.referenced} blocks referenced ({self.references} references), "
            f"{self.checked} {how}, {len(self.missing)} missing, {len(self.corrupt)} corrupt"
        )


async def check(
    ctx: Context,
    *,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> IntegrityReport:
    """Check every referenced block; `verify=False` only checks presence.

    `progress`, if given, is called with the number of blocks done so far.
    """
    references = 0
    digests: set[bytes] = set()
    async for digest in ctx.meta.referenced_digests():
        references += 1
        digests.add(digest)
    algorithms = await _algorithms(ctx)

    missing: list[bytes] = []
    corrupt: list[bytes] = []
    ordered = sorted(digests)
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        if verify:
            for digest in batch:
                state = await _verify(ctx, digest, algorithms)
                if state == "missing":
                    missing.append(digest)
                elif state == "corrupt":
                    corrupt.append(digest)
        else:
            missing.extend(await _absent(ctx, batch))
        if progress is not None:
            progress(start + len(batch))

    return IntegrityReport(
        references=references,
        referenced=len(ordered),
        checked=len(ordered) - len(missing) - len(corrupt),
        missing=tuple(d.hex() for d in sorted(missing)),
        corrupt=tuple(d.hex() for d in sorted(corrupt)),
        verified=verify,
    )


async def _algorithms(ctx: Context) -> tuple[str, ...]:
    names = {DEFAULT_ALGORITHM} | {b.hash_algorithm for b in await ctx.meta.list_buckets()}
    # A name hashlib does not know cannot match anything (nor can the server
    # read such blocks): its blocks are reported corrupt.
    return tuple(sorted(n for n in names if n in hashlib.algorithms_available))


async def _absent(ctx: Context, batch: Iterable[bytes]) -> list[bytes]:
    # `missing` looks only under the block's name; a block parked under a
    # trash name by an interrupted delete is still readable, so ask `get`
    # before calling it missing.
    absent = []
    for digest in sorted(await ctx.blobs.missing(batch)):
        try:
            await ctx.blobs.get(digest)
        except BlockNotFound:
            absent.append(digest)
    return absent


async def _verify(ctx: Context, digest: bytes, algorithms: tuple[str, ...]) -> str:
    try:
        data = await ctx.blobs.get(digest)
    except BlockNotFound:
        return "missing"
    if len(data) >= THREAD_HASH_BYTES:
        ok = await asyncio.to_thread(_matches, data, digest, algorithms)
    else:
        ok = _matches(data, digest, algorithms)
    return "ok" if ok else "corrupt"


def _matches(data: bytes, digest: bytes, algorithms: tuple[str, ...]) -> bool:
    for name in algorithms:
        h = hashlib.new(name)
        if h.digest_size != len(digest):
            continue
        h.update(data)
        if h.digest() == digest:
            return True
    return False
