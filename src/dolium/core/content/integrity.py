"""Integrity check: every block the metadata references is stored and sound.

Walks the meta store's references (object versions and multipart parts),
and for each distinct block asks the block store of its storage policy for
it and checks that its bytes hash to its name. A block that is absent is *missing*; one
whose bytes do not match is *corrupt*. Blocks that nothing references are
garbage for the collector, not damage, and are not looked at.

The blob protocol gives no per-block algorithm, and buckets may choose
theirs, so a block is sound if it matches under any algorithm in use (the
default and every bucket's) whose digest has the block's length.

This module reads only: it never repairs, deletes or leases a block (a
lease would keep garbage alive), and it runs beside a live server. It keeps
one digest per referenced block in memory, the price of checking each block
once however many versions share it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dolium.core.content.hashing import DEFAULT_ALGORITHM
from dolium.core.context import Context
from dolium.errors import BlockNotFound, CorruptBlock
from dolium.model import BlockRef

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
    blocks: set[BlockRef] = set()
    async for ref in ctx.meta.referenced_blocks():
        references += 1
        blocks.add(ref)
    algorithms = await _algorithms(ctx)

    missing: list[BlockRef] = []
    corrupt: list[BlockRef] = []
    ordered = sorted(blocks, key=lambda r: (r.digest, r.policy))
    for start in range(0, len(ordered), BATCH):
        batch = ordered[start : start + BATCH]
        if verify:
            for ref in batch:
                state = await _verify(ctx, ref, algorithms)
                if state == "missing":
                    missing.append(ref)
                elif state == "corrupt":
                    corrupt.append(ref)
        else:
            missing.extend(await _absent(ctx, batch))
        if progress is not None:
            progress(start + len(batch))

    return IntegrityReport(
        references=references,
        referenced=len(ordered),
        checked=len(ordered) - len(missing) - len(corrupt),
        missing=tuple(sorted(r.digest.hex() for r in missing)),
        corrupt=tuple(sorted(r.digest.hex() for r in corrupt)),
        verified=verify,
    )


async def _algorithms(ctx: Context) -> tuple[str, ...]:
    names = {DEFAULT_ALGORITHM} | {b.hash_algorithm for b in await ctx.meta.list_buckets()}
    # A name hashlib does not know cannot match anything (nor can the server
    # read such blocks): its blocks are reported corrupt.
    return tuple(sorted(n for n in names if n in hashlib.algorithms_available))


async def _absent(ctx: Context, batch: Iterable[BlockRef]) -> list[BlockRef]:
    return [ref for ref in batch if not await ctx.blobs_for(ref.policy).has(ref.digest)]


async def _verify(ctx: Context, ref: BlockRef, algorithms: tuple[str, ...]) -> str:
    try:
        data = await ctx.blobs_for(ref.policy).get(ref.digest)
    except BlockNotFound:
        return "missing"
    except CorruptBlock:
        # A storage module that cannot decode what it stored (a damaged
        # compressed or sealed block, every replica damaged) says so itself.
        return "corrupt"
    if len(data) >= THREAD_HASH_BYTES:
        ok = await asyncio.to_thread(_matches, data, ref.digest, algorithms)
    else:
        ok = _matches(data, ref.digest, algorithms)
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
