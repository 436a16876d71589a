"""Building new data from byte ranges of stored versions.

`compose` writes the bytes of a list of spans (ranges of versions, one after
the other) through a `BlockWriter`, as a new version or a multipart part
would be written from a body, and with the same result: the same blocks,
MD5, checksums and top hash. It copies less: a stored block that the new
data would cut out whole (the span covers it, it starts on a block boundary
of the new data, both sides are in clear) is taken by reference, and only
the blocks a range cuts through are read, re-cut and hashed for their
address. Every block is still read once, verified, for the MD5 and the
checksums of the new data.

Memory stays at a few blocks whatever the sizes: one block read ahead, one
in hand, and the writer's own.

This module reads and writes data only: permissions, version ids and the
metadata of the result are the callers'.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from dolium.core.content.blocks import BlockWriter, WrittenData, read_block
from dolium.core.content.sse import BlockCipher
from dolium.model import Extent, ObjectVersion
from dolium.protocols.blob import BlobStore


@dataclass(frozen=True)
class Span:
    """Bytes [start, end] of a stored version; none when end < start."""

    version: ObjectVersion
    start: int
    end: int
    # Of the source's bucket: what its blocks are addressed by.
    hash_algorithm: str = "sha256"
    # Opens the source's blocks when it is encrypted (core.sse).
    data_key: bytes | None = None

    @property
    def size(self) -> int:
        return max(0, self.end - self.start + 1)

    @classmethod
    def whole(
        cls, version: ObjectVersion, hash_algorithm: str = "sha256", data_key: bytes | None = None
    ) -> Span:
        return cls(version, 0, version.size - 1, hash_algorithm, data_key)


@dataclass(frozen=True)
class _Piece:
    """Bytes [lo, hi) of one stored block, and whether that is the whole block."""

    extent: Extent
    lo: int
    hi: int
    span: Span
    # The piece ends the composed data.
    last: bool

    @property
    def whole(self) -> bool:
        return self.lo == 0 and self.hi == self.extent.size


async def compose(blobs: BlobStore, writer: BlockWriter, spans: Sequence[Span]) -> WrittenData:
    """Write the spans' bytes, in order, through `writer`; see the module docstring."""
    total = sum(span.size for span in spans)
    # Data the writer would keep inline is written as such, never adopted;
    # blocks are shared only within one store (one storage policy).
    adopting = total > writer.inline_threshold and blobs is writer.blobs
    try:
        async for piece, data in _read_ahead(blobs, _pieces(spans, total)):
            if piece is None:
                await writer.feed(data)
            elif (
                adopting
                and piece.whole
                and piece.span.data_key is None
                and writer.can_adopt(piece.extent, piece.span.hash_algorithm, last=piece.last)
            ):
                await writer.adopt(piece.extent, data)
            else:
                await writer.feed(data[piece.lo : piece.hi])
        return await writer.finish()
    except BaseException:
        await writer.abandon()
        raise


def _pieces(spans: Sequence[Span], total: int) -> list[_Piece | bytes]:
    """What to read, in order: block pieces, or inline bytes given as they are."""
    plan: list[_Piece | bytes] = []
    written = 0
    for span in spans:
        if span.size == 0:
            continue
        version = span.version
        if version.inline is not None or not version.extents:
            plan.append((version.inline or b"")[span.start : span.end + 1])
            written += span.size
            continue
        offset = 0
        for extent in version.extents:
            first, last = offset, offset + extent.size - 1
            offset += extent.size
            if last < span.start:
                continue
            if first > span.end:
                break
            lo, hi = max(span.start, first) - first, min(span.end, last) - first + 1
            written += hi - lo
            plan.append(_Piece(extent, lo, hi, span, last=written == total))
    return plan


async def _read_ahead(
    blobs: BlobStore, plan: list[_Piece | bytes]
) -> AsyncIterator[tuple[_Piece | None, bytes]]:
    """Each piece of the plan with its block's data (verified, opened), one block ahead."""

    def fetch(index: int) -> asyncio.Task[bytes] | None:
        while index < len(plan):
            piece = plan[index]
            if isinstance(piece, _Piece):
                span = piece.span
                cipher = BlockCipher(span.data_key) if span.data_key is not None else None
                return asyncio.create_task(
                    read_block(blobs, piece.extent, span.hash_algorithm, cipher)
                )
            index += 1
        return None

    ahead = fetch(0)
    try:
        for index, piece in enumerate(plan):
            if isinstance(piece, bytes):
                yield None, piece
                continue
            assert ahead is not None
            data = await ahead
            ahead = fetch(index + 1)
            yield piece, data
    finally:
        if ahead is not None:
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)
