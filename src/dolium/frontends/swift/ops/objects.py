"""Object data: PUT (whole, or chunked), GET and HEAD (ranges, conditions),
POST (metadata), DELETE. Copies are in `object_copy`.

Expiry (X-Delete-At) is kept on the path record by the core; a PUT that
names none clears what an earlier write set, as a new Swift object has
none.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response, StreamingResponse

from dolium.core.objects import conditions
from dolium.core.objects.conditions import ByteRange
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import AccessDenied, DoliumError, InvalidRange, NotModified
from dolium.frontends.swift.errors import SwiftError, to_swift_error
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.largeobjects import read as large_read
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import object_versions, symlinks, versioned_writes
from dolium.frontends.swift.ops.byteranges import MultipartRanges, parse_ranges
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.pithos import reach, versions
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import ObjectVersion

MAX_OBJECT_NAME_LENGTH = 1024


def check_name(request: SwiftRequest) -> None:
    if len(request.obj.encode("utf-8", "surrogatepass")) > MAX_OBJECT_NAME_LENGTH:
        raise SwiftError(
            400,
            f"Object name length of {MAX_OBJECT_NAME_LENGTH} longer than {MAX_OBJECT_NAME_LENGTH}",
        )


def declared_length(request: SwiftRequest) -> int | None:
    """The body's length; None for a chunked body; 411 when neither is said."""
    length = request.header("content-length")
    if length:
        try:
            size = int(length)
        except ValueError:
            raise SwiftError(400, "Invalid Content-Length") from None
        if size < 0:
            raise SwiftError(400, "Invalid Content-Length")
        return size
    if "chunked" in request.header("transfer-encoding").lower():
        return None
    raise SwiftError(411)


async def body_of(request: SwiftRequest) -> AsyncIterator[bytes]:
    async for chunk in request.http.stream():
        if chunk:
            yield chunk


async def put(request: SwiftRequest) -> Response:
    check_name(request)
    headers = request.http.headers
    kinds.check_write_headers("PUT", headers)
    if symlinks.TARGET in headers:
        return await symlinks.put(request)
    size = declared_length(request)
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    expires = oh.delete_at(headers, request.store.ctx.clock())
    opts = WriteOptions(
        content_type=oh.content_type(headers, request.obj),
        meta=metadata.present(changes),
        headers=oh.stored_headers(headers),
        content_md5=oh.expected_md5(headers),
        declared_size=size,
    )
    store = request.store
    asked = await reach.before_write(request, request.account, request.container, request.obj)
    await quotas.check_write(request.store, request.account, request.container, size)
    await versioned_writes.before_write(request, request.container, request.obj)
    version = await store.objects.put(
        request.principal, request.address, request.obj, body_of(request), opts
    )
    await store.expiry.set(request.principal, request.address, request.obj, expires)
    await reach.after_write(request, request.account, request.container, request.obj, asked)
    return empty(
        201,
        [
            ("Etag", version.etag),
            ("Last-Modified", conditions.format_http_date(version.modified)),
            *object_versions.version_header(version.version_id),
        ],
    )


async def _current(request: SwiftRequest) -> tuple[ObjectVersion, float | None]:
    """The object and when it expires; 404 when absent or expired."""
    version = await request.store.objects.head(request.principal, request.address, request.obj)
    return version, await request.store.expiry.check(version)


async def _asked(request: SwiftRequest) -> tuple[ObjectVersion, float | None]:
    """The version a read names (Pithos: `?version=`, `?until=`; else the
    current one), and when the object expires."""
    version = await versions.find(request)
    return version, await request.store.expiry.check(version)


async def readable(request: SwiftRequest) -> tuple[ObjectVersion, float | None]:
    """The object a read is about, and when it expires: 404 when absent or expired,
    412 or 304 (NotModified, which the app answers with the ETag and date) when
    the request's conditions say so."""
    version, expires = await _asked(request)
    large_read.check_conditions(request, version.etag, version.modified)
    return version, expires


async def head_or_get(request: SwiftRequest) -> Response:
    if request.query.get("version") == versions.LIST:
        return await versions.version_list(request)
    version, expires = await _asked(request)
    version, target = await symlinks.follow(request, version)
    if target is None:
        response = await _serve(request, version, expires)
        # As Pithos: sharing is shown for the current version only.
        shown = not versions.asked(request)
        return await reach.with_read_headers(request, version, response, sharing_shown=shown)
    # Through a link: the target's own expiry, and where it was found.
    expires = await request.store.expiry.check(version)
    where = ("Content-Location", symlinks.location(*target))
    try:
        response = await _serve(request, version, expires)
    except NotModified:
        raise
    except (SwiftError, DoliumError) as exc:
        error = exc if isinstance(exc, SwiftError) else to_swift_error(exc)
        if error is None:
            raise
        raise SwiftError(error.status, error.text, [*error.headers, where]) from exc
    response.headers.append(*where)
    return response


async def _serve(request: SwiftRequest, version: ObjectVersion, expires: float | None) -> Response:
    large = await large_read.answer(request, version, expires)
    if large is not None:
        return large
    large_read.check_conditions(request, version.etag, version.modified)
    headers = oh.read_headers(version, expires)
    h = request.http.headers
    size = version.size
    ranges = None
    if request.method == "GET" or h.get("range"):
        try:
            ranges = parse_ranges(h.get("range"), size)
        except InvalidRange:
            return empty(416, [("Content-Range", conditions.unsatisfied_content_range(size))])
    if request.method == "HEAD":
        response = Response(status_code=200, media_type=None)
        for name, value in headers:
            response.headers.append(name, value)
        response.headers["content-length"] = str(size)
        return response
    if ranges is not None and len(ranges) > 1:
        return await _multipart(request, version, ranges, headers)
    start, end, status = 0, size - 1, 200
    if ranges is not None:
        start, end, status = ranges[0].start, ranges[0].end, 206
        headers.append(("Content-Range", conditions.content_range(ranges[0], size)))
    length = end - start + 1 if size else 0
    data = await request.store.objects.read(version, start, end) if length else _nothing()
    return _streamed(data, status, headers, length)


def _streamed(
    data: AsyncIterator[bytes], status: int, headers: list[tuple[str, str]], length: int
) -> Response:
    response = StreamingResponse(data, status_code=status)
    for name, value in headers:
        response.headers.append(name, value)
    response.headers["content-length"] = str(length)
    return response


async def _multipart(
    request: SwiftRequest,
    version: ObjectVersion,
    ranges: list[ByteRange],
    headers: list[tuple[str, str]],
) -> Response:
    parts = MultipartRanges(ranges, version.size, version.content_type)
    objects = request.store.objects

    async def read(start: int, end: int) -> AsyncIterator[bytes]:
        return await objects.read(version, start, end)

    headers = [(n, v) for n, v in headers if n != "Content-Type"]
    headers.append(("Content-Type", parts.content_type))
    return _streamed(parts.body(read), 206, headers, parts.length)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def post(request: SwiftRequest) -> Response:
    """Replace the object's metadata (Swift's POST), keeping its data.

    Done as a copy of the object onto itself, as Swift's post-as-copy did:
    the core gives the new version the same blocks and ETag.
    """
    headers = request.http.headers
    kinds.check_write_headers("POST", headers)
    symlinks.check_post(request)
    version, _ = await _current(request)
    asked = await reach.before_write(request, request.account, request.container, request.obj)
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    expires = oh.delete_at(headers, request.store.ctx.clock())
    kept_type = version.content_type
    opts = CopyOptions(
        replace_metadata=True,
        content_type=headers.get("content-type") or kept_type,
        meta=metadata.present(changes),
        headers=_posted_headers(version, headers),
    )
    source = (request.address, request.obj, None)
    await request.store.objects.copy(request.principal, source, request.address, request.obj, opts)
    if "x-delete-at" in headers or "x-delete-after" in headers or "x-remove-delete-at" in headers:
        await request.store.expiry.set(request.principal, request.address, request.obj, expires)
    await reach.after_write(request, request.account, request.container, request.obj, asked)
    return symlinks.after_post(request, version) or empty(202)


def _posted_headers(version: ObjectVersion, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a POST leaves: those it sends, and what makes the object
    a large object's manifest, which only a PUT changes."""
    kept = {
        n: v for n, v in version.headers.items() if n in (*kinds.SLO_HEADERS, *symlinks.HEADERS)
    }
    if kinds.DLO in version.headers and kinds.DLO not in headers:
        kept[kinds.DLO] = version.headers[kinds.DLO]
    return {**oh.stored_headers(headers), **kept}


async def delete(request: SwiftRequest) -> Response:
    # Swift answers 404 for an object that is not there. A caller who may
    # write but not read (a write-only ACL) may not learn whether it exists:
    # its delete is answered 204 either way.
    if await versioned_writes.delete(request):
        return empty(204)
    with contextlib.suppress(AccessDenied):
        await _current(request)
    await request.store.objects.delete(request.principal, request.address, request.obj)
    await reach.after_delete(request)
    return empty(204)
