"""Pithos' block hashmap extensions: `GET <object>?hashmap`.

The wire forms are Synnefo Pithos' (see docs/swift.md, *Pithos*); the rules
(when a hashmap is computed and kept) are the core's
(core.objects.hashmaps).
"""

from __future__ import annotations

from starlette.responses import Response

from dolium.core.objects import conditions
from dolium.core.objects.hashmaps import ObjectHashmap
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire.hashmaps import (
    CONTENT_TYPES,
    hashmap_format,
    render_hashmap,
)


async def get_hashmap(request: SwiftRequest) -> Response:
    found = await request.store.hashmaps.get(request.principal, request.address, request.obj)
    version = found.version
    h = request.http.headers
    conditions.check_read(
        version.etag,
        version.modified,
        if_match=h.get("if-match"),
        if_none_match=h.get("if-none-match"),
        if_modified_since=h.get("if-modified-since"),
        if_unmodified_since=h.get("if-unmodified-since"),
    )
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
