"""Pithos' MOVE (`Destination`, `Destination-Account`) and PUT with
`X-Move-From` (`X-Source-Account`): an object taken from one name to another.

Onto a name that has never held an object, in the same account, and with
no new metadata or type asked for, the move is a rename in the core: every
version, the UUID, the sharing and the public link go with it. Otherwise
(the destination exists, or lies in another account, whose quota must be
kept, or the request changes metadata) it is a copy of the current version,
made as a COPY makes it, then a delete of the source. Either way only who
may delete the source may move it, as Pithos lets only the owner.
"""

from __future__ import annotations

from starlette.responses import Response

from dolium.core.objects.conditions import format_http_date
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.object_copy import copy_object, split
from dolium.frontends.swift.ops.objects import check_name
from dolium.frontends.swift.pithos import reach
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.model import ObjectVersion, container_address


def _account(request: SwiftRequest, header: str) -> str:
    value = request.header(header)
    return value.removeprefix(ACCOUNT_PREFIX) if value else request.account


def _changes_metadata(request: SwiftRequest, source: ObjectVersion) -> bool:
    h = request.http.headers
    if metadata.requested(metadata.OBJECT, h.items(), removals=False):
        return True
    sent_type = h.get("content-type", "") if request.method == "PUT" else ""
    return bool(sent_type) and sent_type != source.content_type


async def move(request: SwiftRequest) -> Response:
    """MOVE with Destination: this request's path is the source."""
    destination = request.header("destination")
    if not destination:
        raise SwiftError(412, "Destination header required")
    return await move_to(request, destination)


async def move_to(request: SwiftRequest, destination: str) -> Response:
    """MOVE to `destination` (`/container/object`, in Destination-Account)."""
    container, obj = split(destination, "Destination")
    dst = (_account(request, "destination-account"), container, obj)
    return await _move(request, (request.account, request.container, request.obj), dst)


async def put_move(request: SwiftRequest) -> Response:
    """PUT with X-Move-From: this request's path is the destination."""
    check_name(request)
    if request.header("content-length") not in ("", "0"):
        raise SwiftError(400, "Move requests require a zero byte body")
    container, obj = split(request.header("x-move-from"), "X-Move-From")
    src = (_account(request, "x-source-account"), container, obj)
    return await _move(request, src, (request.account, request.container, request.obj))


async def _move(
    request: SwiftRequest, src: tuple[str, str, str], dst: tuple[str, str, str]
) -> Response:
    if src == dst:
        raise SwiftError(409, "An object cannot be moved onto itself")
    store, principal = request.store, request.principal
    src_address, dst_address = container_address(*src[:2]), container_address(*dst[:2])
    # The source must be there, and readable, whichever way it moves.
    source = await store.objects.head(principal, src_address, src[2])
    await store.expiry.check(source)
    asked = await reach.before_write(request, *dst)
    renames = (
        src[0] == dst[0]
        and not _changes_metadata(request, source)
        and await store.moves.is_free(dst_address, dst[2])
    )
    if renames:
        await store.moves.rename(principal, src_address, src[2], dst_address, dst[2])
        await reach.after_write(request, *dst, asked)
        moved = await store.objects.head(principal, dst_address, dst[2])
        return empty(
            201,
            [
                ("Etag", moved.etag),
                ("Last-Modified", format_http_date(moved.modified)),
                ("X-Object-Version", moved.version_id),
            ],
        )
    # The source goes only once its copy is made; refused first, before copying.
    await store.moves.check_may_move(principal, src_address, src[2])
    response = await copy_object(request, src, dst)
    await store.objects.delete(principal, src_address, src[2])
    await store.shares.clear(principal, src_address, src[2])
    await store.public_links.clear(principal, src_address, src[2])
    return response
