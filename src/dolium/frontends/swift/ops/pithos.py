"""Pithos' block hashmap extensions: `GET <object>?hashmap`, `PUT <object>?hashmap`
and block uploads (`POST <container>` with `Content-Type: application/octet-stream`).

The wire forms are Synnefo Pithos' (see docs/swift.md, *Pithos*); the rules
(which blocks exist, leases, the MD5 ETag) are the core's
(core.objects.hashmaps, core.objects.hashmap_write).
"""

from __future__ import annotations

from starlette.responses import Response

from dolium.core.objects import conditions
from dolium.core.objects.hashmaps import ObjectHashmap
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import MissingBlocks
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.objects import body_of, check_name, readable
from dolium.frontends.swift.pithos import reach, versions
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.frontends.swift.wire.hashmaps import (
    CONTENT_TYPES,
    JSON,
    hashmap_format,
    parse_hashmap,
    render_hashes,
    render_hashmap,
)

BLOCK_UPLOAD_TYPE = "application/octet-stream"
# A hashmap body names at most MAX_PUT_SIZE / block size hashes (1280 of
# 4 MiB for 5 GiB): some 90 KB of JSON. Anything much larger is refused
# before it is read.
MAX_HASHMAP_BODY = 4 * 1024 * 1024


def is_block_upload(request: SwiftRequest) -> bool:
    """Whether a container POST carries blocks (Pithos) rather than metadata."""
    media = request.header("content-type").split(";")[0].strip().lower()
    return media == BLOCK_UPLOAD_TYPE


async def get_hashmap(request: SwiftRequest) -> Response:
    store = request.store
    # Expiry and conditions are judged first: they may spare computing a hashmap.
    version, _ = await readable(request)
    # A past version's (`?version=`, `?until=`) or the current one's.
    version_id = version.version_id if versions.asked(request) else None
    found = await store.hashmaps.get(request.principal, request.address, request.obj, version_id)
    fmt = hashmap_format(request.query, request.header("accept"))
    body = render_hashmap(fmt, request.obj, found)
    response = Response(body, status_code=200, media_type=CONTENT_TYPES[fmt])
    for name, value in _hashmap_headers(found):
        response.headers.append(name, value)
    return response


def _hashmap_headers(found: ObjectHashmap) -> list[tuple[str, str]]:
    version = found.version
    return [
        ("Etag", version.etag),
        ("Last-Modified", conditions.format_http_date(version.modified)),
        ("X-Object-Hash", found.top_hash),
    ]


async def _bounded_body(request: SwiftRequest, limit: int) -> bytes:
    """A small request body (a hashmap, not object data), refused past `limit` bytes."""
    length = request.header("content-length")
    if length.isdigit() and int(length) > limit:
        raise SwiftError(413)
    data = bytearray()
    async for chunk in request.http.stream():
        data += chunk
        if len(data) > limit:
            raise SwiftError(413)
    return bytes(data)


async def put_hashmap(request: SwiftRequest) -> Response:
    """Create the object from blocks already stored; 409 lists the missing ones."""
    check_name(request)
    headers = request.http.headers
    size, digests = parse_hashmap(await _bounded_body(request, MAX_HASHMAP_BODY))
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    expires = oh.delete_at(headers, request.store.ctx.clock())
    opts = WriteOptions(
        content_type=oh.content_type(headers, request.obj),
        meta=metadata.present(changes),
        headers=oh.stored_headers(headers),
    )
    store = request.store
    asked = await reach.before_write(request, request.account, request.container, request.obj)
    try:
        version = await store.hashmap_writes.put(
            request.principal, request.address, request.obj, size, digests, opts
        )
    except MissingBlocks as exc:
        # Pithos answers with the missing hashes, always as JSON.
        body = render_hashes(JSON, exc.missing)
        return Response(body, status_code=409, media_type=CONTENT_TYPES[JSON])
    await store.expiry.set(request.principal, request.address, request.obj, expires)
    await reach.after_write(request, request.account, request.container, request.obj, asked)
    return empty(
        201,
        [
            ("Etag", version.etag),
            ("Last-Modified", conditions.format_http_date(version.modified)),
            ("X-Object-Hash", version.top_hash or ""),
        ],
    )


async def upload_blocks(request: SwiftRequest) -> Response:
    """Store the body as blocks of the container's block size; 202 with their hashes.

    Never changes the container's metadata, whether `?update` is sent or not:
    a client uploading blocks means to upload blocks.
    """
    if not request.header("content-length") and "chunked" not in (
        request.header("transfer-encoding").lower()
    ):
        raise SwiftError(411)
    digests = await request.store.hashmap_writes.store_blocks(
        request.principal, request.address, body_of(request)
    )
    fmt = hashmap_format(request.query, request.header("accept"))
    return Response(render_hashes(fmt, digests), status_code=202, media_type=CONTENT_TYPES[fmt])
