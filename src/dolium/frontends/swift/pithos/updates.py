"""Pithos' partial updates: `POST <object>` with `Content-Range: bytes A-B/*`
(overwrite from A; B may be left out; a number for the total demands that
size) or `bytes */*` (append), the data from the body or from
`X-Source-Object: /<container>/<object>` (with `X-Source-Account`,
`X-Source-Version`), and `X-Object-Bytes: N` to cut the result to N bytes.
Answers 204 with the new `ETag` and `X-Object-Version`.

Pithos takes any POST with `Content-Type: application/octet-stream` for a
data update; here it is one only when it also sends `Content-Range`,
`X-Source-Object` or `X-Object-Bytes`, since a Swift client may POST that
type to change an object's type. The splice itself is the core's
(`Store.updates`).
"""

from __future__ import annotations

import re

from starlette.responses import Response

from dolium.core.objects.updates import Edit
from dolium.errors import InvalidArgument
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.object_copy import split
from dolium.frontends.swift.ops.objects import body_of, declared_length
from dolium.frontends.swift.pithos import reach
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.model import container_address

_RANGE = re.compile(r"bytes (\d+)-(\d*)/(\d+|\*)")
DATA_HEADERS = ("content-range", "x-source-object", "x-object-bytes")


def is_data_update(request: SwiftRequest) -> bool:
    return any(name in request.http.headers for name in DATA_HEADERS)


def parse_range(value: str) -> tuple[int | None, int | None, int | None]:
    """(offset, length, total) of a Content-Range, as Pithos reads it (None:
    at the end, all the data, any size); 416 when it makes no sense."""
    if value == "bytes */*":
        return None, None, None
    match = _RANGE.fullmatch(value)
    if match is None:
        raise SwiftError(416, "Invalid Content-Range header")
    offset = int(match[1])
    upto = int(match[2]) if match[2] else None
    total = None if match[3] == "*" else int(match[3])
    if (
        (upto is not None and offset > upto)
        or (total is not None and offset >= total)
        or (total is not None and upto is not None and upto >= total)
    ):
        raise SwiftError(416, "Invalid Content-Range header")
    return offset, None if upto is None else upto - offset + 1, total


def source_container(request: SwiftRequest) -> tuple[str, str] | None:
    """(account, container) of the object an update takes its bytes from;
    None when it names none, or not in the form the handler accepts."""
    value = request.header("x-source-object")
    if not value:
        return None
    try:
        container, _ = split(value, "X-Source-Object")
    except SwiftError:
        return None
    account = request.header("x-source-account").removeprefix(ACCOUNT_PREFIX)
    return account or request.account, container


def _truncate(request: SwiftRequest) -> int | None:
    value = request.header("x-object-bytes")
    if not value:
        return None
    if not value.isdigit():
        raise SwiftError(400, "Invalid X-Object-Bytes header")
    return int(value)


async def post_update(request: SwiftRequest) -> Response:
    truncate = _truncate(request)
    content_range = request.header("content-range")
    if content_range:
        offset, length, total = parse_range(content_range)
    elif truncate is not None:
        offset, length, total = 0, 0, None  # a cut alone: no new bytes
    else:
        raise SwiftError(400, "Missing Content-Range header")
    source = None
    data = None
    if request.header("x-source-object"):
        container, obj = split(request.header("x-source-object"), "X-Source-Object")
        account = request.header("x-source-account").removeprefix(ACCOUNT_PREFIX)
        source = (
            container_address(account or request.account, container),
            obj,
            request.header("x-source-version") or None,
        )
    elif content_range:
        size = declared_length(request)
        if size is not None and length is not None and size != length:
            raise SwiftError(400, "Content length does not match range length")
        length = size if length is None else length
        data = body_of(request)
    asked = await reach.before_write(request, request.account, request.container, request.obj)
    edit = Edit(offset, length, total, truncate)
    try:
        version = await request.store.updates.update(
            request.principal, request.address, request.obj, edit, data, source
        )
    except InvalidArgument:
        raise SwiftError(404) from None  # no version can have the source version's id
    await reach.after_write(request, request.account, request.container, request.obj, asked)
    return empty(204, [("Etag", version.etag), ("X-Object-Version", version.version_id)])
