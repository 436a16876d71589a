"""Partial updates: a new version of an object made of its current bytes with
a range overwritten, data appended, or its end cut off.

The new data comes from a request body or from another stored object. The
result is streamed through the ordinary write path (`Objects.put`): the
current bytes before the range, the new bytes, the current bytes after
them, cut at the size asked for. Nothing is held whole in memory; every
byte of the object is read and written again, which keeps one write path
(encryption, quotas, checksums, the change log) for every new version.

The write is conditional on the version it was made from still being the
current one, so two updates racing cannot lose one another's bytes: the
second fails with PreconditionFailed.

Ranges are judged here against the current size; their syntax is the
front end's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from dolium.conditions import WriteCondition
from dolium.core.objects.service import Objects
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import IncompleteBody, InvalidRange
from dolium.model import ObjectVersion, Principal


@dataclass(frozen=True)
class Edit:
    """Where the new bytes go and how many there are.

    `offset` None: at the end (an append). `length` None: all of the new
    data. `total`: the size the object must have now, if the client says.
    `truncate`: the size to cut the result to, when smaller.
    """

    offset: int | None = None
    length: int | None = None
    total: int | None = None
    truncate: int | None = None


class Updates:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    async def update(
        self,
        principal: Principal,
        address: str,
        key: str,
        edit: Edit,
        data: AsyncIterator[bytes] | None = None,
        source: tuple[str, str, str | None] | None = None,
    ) -> ObjectVersion:
        """Write the new bytes (`data`, or the `source` object's: address, key,
        version) into the current object as `edit` says; the new version."""
        current = await self.objects.head(principal, address, key)
        size = current.size
        offset = size if edit.offset is None else edit.offset
        if offset > size:
            raise InvalidRange("the offset is beyond the object's end")
        length = edit.length
        if source is not None:
            found = await self.objects.head(principal, *source)
            length = found.size if length is None else min(length, found.size)
            data = await self.objects.read(found, 0, length - 1) if length else _nothing()
        elif data is None:
            data, length = _nothing(), 0
        if edit.total is not None and (
            edit.total != size or offset >= size or (length is not None and offset + length > size)
        ):
            raise InvalidRange("the range would change the object's size")
        body = _spliced(self.objects, current, offset, length, data, edit.truncate)
        opts = WriteOptions(
            content_type=current.content_type,
            meta=current.meta,
            headers=current.headers,
            condition=WriteCondition(if_match=current.etag),
        )
        return await self.objects.put(principal, address, key, body, opts)


async def _spliced(
    objects: Objects,
    current: ObjectVersion,
    offset: int,
    length: int | None,
    data: AsyncIterator[bytes],
    truncate: int | None,
) -> AsyncIterator[bytes]:
    """The current bytes before `offset`, the new ones, the current ones after
    them; no more than `truncate` bytes in all."""
    room = [truncate]  # bytes still allowed out (None: any), shared by the parts

    def cut(chunk: bytes) -> bytes:
        left = room[0]
        if left is None:
            return chunk
        room[0] = max(0, left - len(chunk))
        return chunk[:left]

    if offset:
        async for chunk in await objects.read(current, 0, offset - 1):
            if part := cut(chunk):
                yield part
    seen = 0
    async for chunk in data:
        seen += len(chunk)
        if part := cut(chunk):
            yield part
    if length is not None and seen != length:
        raise IncompleteBody(f"{seen} bytes of new data where {length} were said")
    after = offset + seen
    if after < current.size and room[0] != 0:
        async for chunk in await objects.read(current, after, current.size - 1):
            if part := cut(chunk):
                yield part


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
