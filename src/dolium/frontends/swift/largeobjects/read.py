"""GET and HEAD of a large object: its headers, then its segments streamed.

An SLO answers with the size and ETag kept with its manifest (the ETag
quoted, as Swift sends it), a DLO with those of the segments listed under
its prefix now. Conditional headers are judged against that ETag. Ranges
cut across segments; several make a `multipart/byteranges` answer.
`?multipart-manifest=get` on an SLO answers the manifest itself (with
`&format=raw`, in the form it was uploaded); on a DLO, the manifest object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from starlette.responses import Response, StreamingResponse

from dolium.core.objects import conditions
from dolium.errors import InvalidRange
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.largeobjects.manifest import Segment, dump
from dolium.frontends.swift.largeobjects.segments import (
    SegmentError,
    primed,
    read_manifest,
    read_range,
)
from dolium.frontends.swift.ops.byteranges import MultipartRanges, parse_ranges
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import ObjectVersion, container_address

T = TypeVar("T")

# A DLO's segments are listed in pages of this many.
_LISTING_PAGE = 1000


def check_conditions(request: SwiftRequest, etag: str, modified: float) -> None:
    h = request.http.headers
    conditions.check_read(
        etag,
        modified,
        if_match=h.get("if-match"),
        if_none_match=h.get("if-none-match"),
        if_modified_since=h.get("if-modified-since"),
        if_unmodified_since=h.get("if-unmodified-since"),
    )


async def answer(
    request: SwiftRequest, version: ObjectVersion, expires: float | None
) -> Response | None:
    """The answer for a large object; None for any other object (or a DLO's
    manifest asked for itself), which the caller serves as stored."""
    if kinds.is_slo(version):
        if kinds.manifest_get(request.query):
            return await _manifest(request, version, expires)
        etag, size = kinds.slo_etag(version), kinds.slo_size(version)
        check_conditions(request, etag, version.modified)
        extra = [("X-Static-Large-Object", "True")]
        segments: list[Segment] | None = None
        if request.method == "GET":
            segments = await _or_conflict(read_manifest(request, version))
    elif kinds.is_dlo(version) and not kinds.manifest_get(request.query):
        segments = await dlo_segments(request, version)
        etag = _dlo_etag(segments)
        size = sum(s.length for s in segments)
        check_conditions(request, etag, version.modified)
        extra = []
    else:
        return None
    headers = [(n, v) for n, v in oh.read_headers(version, expires) if n != "Etag"]
    headers += [("Etag", f'"{etag}"'), *extra]
    return await _respond(request, segments or [], size, headers)


async def _or_conflict(pending: Awaitable[T]) -> T:
    """A segment that cannot be read before the answer starts is Swift's 409."""
    try:
        return await pending
    except SegmentError:
        raise SwiftError(409) from None


async def dlo_segments(request: SwiftRequest, version: ObjectVersion) -> list[Segment]:
    """The objects under the manifest's prefix, in name order, as segments."""
    source = kinds.dlo_source(version.headers.get(kinds.DLO, ""))
    if source is None:
        return []
    container, prefix = source
    address = container_address(request.account, container)
    found: list[Segment] = []
    cursor = ""
    while True:
        page = await request.store.listing.list(
            request.principal, address, prefix=prefix, start_after=cursor, max_keys=_LISTING_PAGE
        )
        found.extend(
            Segment(name=f"/{container}/{e.key}", hash=e.etag, size=e.size) for e in page.entries
        )
        if not page.truncated or not page.entries:
            return found
        cursor = page.entries[-1].key


def _dlo_etag(segments: list[Segment]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for segment in segments:
        digest.update(segment.hash.encode())
    return digest.hexdigest()


async def _respond(
    request: SwiftRequest, segments: list[Segment], size: int, headers: list[tuple[str, str]]
) -> Response:
    ranges = None
    if request.method == "GET" or request.header("range"):
        try:
            ranges = parse_ranges(request.header("range"), size)
        except InvalidRange:
            return empty(416, [("Content-Range", conditions.unsatisfied_content_range(size))])
    if request.method == "HEAD":
        response = Response(status_code=200, media_type=None)
        _apply(response, headers, size)
        return response
    if ranges is not None and len(ranges) > 1:
        content_type = next((v for n, v in headers if n == "Content-Type"), "")
        parts = MultipartRanges(ranges, size, content_type)

        async def read(start: int, end: int) -> AsyncIterator[bytes]:
            return read_range(request, segments, start, end)

        headers = [(n, v) for n, v in headers if n != "Content-Type"]
        headers.append(("Content-Type", parts.content_type))
        return _streamed(parts.body(read), 206, headers, parts.length)
    start, end, status = 0, size - 1, 200
    if ranges is not None:
        start, end, status = ranges[0].start, ranges[0].end, 206
        headers.append(("Content-Range", conditions.content_range(ranges[0], size)))
    length = end - start + 1 if size else 0
    data = await _or_conflict(primed(request, read_range(request, segments, start, end)))
    return _streamed(data, status, headers, length)


def _apply(response: Response, headers: list[tuple[str, str]], length: int) -> None:
    for name, value in headers:
        response.headers.append(name, value)
    response.headers["content-length"] = str(length)


def _streamed(
    data: AsyncIterator[bytes], status: int, headers: list[tuple[str, str]], length: int
) -> Response:
    response = StreamingResponse(data, status_code=status)
    _apply(response, headers, length)
    return response


async def _manifest(
    request: SwiftRequest, version: ObjectVersion, expires: float | None
) -> Response:
    check_conditions(request, version.etag, version.modified)
    segments = await _or_conflict(read_manifest(request, version))
    if request.query.get("format") == "raw":
        body = json.dumps([s.raw() for s in segments]).encode()
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
    else:
        body, etag = dump(segments), version.etag
    response = Response(
        b"" if request.method == "HEAD" else body, media_type="application/json; charset=utf-8"
    )
    for name, value in oh.read_headers(version, expires):
        if name not in ("Content-Type", "Etag"):
            response.headers.append(name, value)
    response.headers["Etag"] = etag
    response.headers["X-Static-Large-Object"] = "True"
    response.headers["content-length"] = str(len(body))
    return response
