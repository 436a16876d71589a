"""Reading a large object: bytes [start, end] of its segments, one after the other.

Each segment is looked up when the read reaches it, so the answer starts
at once however many segments there are, and only one segment is open at a
time. A segment that is gone, or whose ETag or size no longer match what
the manifest (or the listing) said, ends the read: as in Swift, the client
sees the connection drop, and the server logs a 409. A nested SLO is read
through its own manifest, up to `manifest.MAX_DEPTH` levels.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

from dolium.errors import AccessDenied, NotFound
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.largeobjects.manifest import MAX_DEPTH, Segment, load
from dolium.frontends.swift.request import SwiftRequest
from dolium.model import ObjectVersion, container_address

log = logging.getLogger("dolium.swift")


class SegmentError(Exception):
    """A segment cannot be read as the manifest describes it."""


async def read_manifest(request: SwiftRequest, version: ObjectVersion) -> list[Segment]:
    """The segments of an SLO manifest version (its data is a few kB to 8 MiB of JSON)."""
    chunks = []
    if version.size:
        async for chunk in await request.store.objects.read(version, 0, version.size - 1):
            chunks.append(chunk)
    try:
        return load(b"".join(chunks))
    except (ValueError, KeyError, TypeError) as exc:
        raise SegmentError(f"unreadable manifest {version.key!r}") from exc


async def _segment_version(request: SwiftRequest, segment: Segment) -> ObjectVersion:
    container, _, key = segment.name.lstrip("/").partition("/")
    if not request.may_reach(container):
        raise SegmentError(f"segment {segment.name!r} is beyond the temp URL's container")
    try:
        version = await request.store.objects.head(
            request.principal, container_address(request.account, container), key
        )
        await request.store.expiry.check(version)
    except (NotFound, AccessDenied) as exc:
        why = type(exc).__name__
        raise SegmentError(f"segment {segment.name!r} cannot be read: {why}") from exc
    if kinds.is_slo(version):
        etag, size = kinds.slo_etag(version), kinds.slo_size(version)
    else:
        etag, size = version.etag, version.size
    if (segment.hash and etag != segment.hash) or size != segment.size:
        raise SegmentError(f"segment {segment.name!r} has changed since the manifest named it")
    return version


def read_range(
    request: SwiftRequest, segments: Sequence[Segment], start: int, end: int, depth: int = 0
) -> AsyncIterator[bytes]:
    """Bytes [start, end] (inclusive) of the concatenated segments."""
    return _read(request, segments, start, end, depth)


async def _read(
    request: SwiftRequest, segments: Sequence[Segment], start: int, end: int, depth: int
) -> AsyncIterator[bytes]:
    offset = 0
    for segment in segments:
        length = segment.length
        if offset > end:
            break
        if offset + length <= start or length == 0:
            offset += length
            continue
        lo, hi = max(start - offset, 0), min(end - offset, length - 1)
        offset += length
        if segment.data is not None:
            yield segment.data[lo : hi + 1]
            continue
        version = await _segment_version(request, segment)
        first, last = segment.start + lo, segment.start + hi
        if kinds.is_slo(version) and segment.sub_slo:
            if depth + 1 >= MAX_DEPTH:
                raise SegmentError(f"manifests nested deeper than {MAX_DEPTH}")
            nested = await read_manifest(request, version)
            async for chunk in _read(request, nested, first, last, depth + 1):
                yield chunk
            continue
        async for chunk in await request.store.objects.read(version, first, last):
            yield chunk


async def primed(request: SwiftRequest, data: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`data` with its first chunk read now: a first segment that cannot be
    read is a SegmentError before the answer starts (Swift's 409), a later
    one ends the answer early."""
    try:
        first = await anext(data, b"")
    except SegmentError as exc:
        log.warning(
            "large object %s/%s (409): %s [%s]",
            request.container, request.obj, exc, request.trans_id,
        )  # fmt: skip
        raise
    return _rest(request, first, data)


async def _rest(
    request: SwiftRequest, first: bytes, data: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    if first:
        yield first
    try:
        async for chunk in data:
            yield chunk
    except SegmentError as exc:
        log.warning(
            "large object %s/%s cut short (409): %s [%s]",
            request.container, request.obj, exc, request.trans_id,
        )  # fmt: skip
        raise
