"""Several byte ranges in one GET: a `multipart/byteranges` answer, as Swift gives.

Each range is judged by the core's rule for one (`conditions.parse_range`).
As in Swift, ranges that select nothing are dropped (416 when none is
left), a header any part of which is malformed is ignored (the whole object
is served), and more ranges than `MAX_RANGES` are too.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from dolium.core.objects.conditions import ByteRange, content_range, parse_range
from dolium.errors import InvalidRange

# Swift's proxy serves the whole object for more ranges than this.
MAX_RANGES = 50

Reader = Callable[[int, int], Awaitable[AsyncIterator[bytes]]]


def parse_ranges(header: str | None, size: int) -> list[ByteRange] | None:
    """The ranges to serve; None to serve the whole object; InvalidRange for none."""
    if not header:
        return None
    unit, eq, specs = header.strip().partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return None
    parts = [spec.strip() for spec in specs.split(",")]
    if len(parts) > MAX_RANGES:
        return None
    ranges: list[ByteRange] = []
    unsatisfiable: InvalidRange | None = None
    for spec in parts:
        try:
            one = parse_range(f"bytes={spec}", size)
        except InvalidRange as exc:
            unsatisfiable = exc
            continue
        if one is None:
            return None
        ranges.append(one)
    if not ranges:
        assert unsatisfiable is not None
        raise unsatisfiable
    return ranges


class MultipartRanges:
    """The body of a multipart/byteranges answer, and its length, known up front."""

    def __init__(self, ranges: list[ByteRange], size: int, content_type: str) -> None:
        self.boundary = secrets.token_hex(16)
        self.ranges = ranges
        self.heads = [
            (
                f"--{self.boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: {content_range(r, size)}\r\n\r\n"
            ).encode("latin-1", "replace")
            for r in ranges
        ]
        self.tail = f"\r\n--{self.boundary}--".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/byteranges;boundary={self.boundary}"

    @property
    def length(self) -> int:
        parts = sum(len(h) + r.length for h, r in zip(self.heads, self.ranges, strict=True))
        # A CRLF before each boundary after the first part.
        return parts + 2 * (len(self.ranges) - 1) + len(self.tail)

    async def body(self, read: Reader) -> AsyncIterator[bytes]:
        for index, (head, byte_range) in enumerate(zip(self.heads, self.ranges, strict=True)):
            yield (b"\r\n" + head) if index else head
            async for chunk in await read(byte_range.start, byte_range.end):
                yield chunk
        yield self.tail
