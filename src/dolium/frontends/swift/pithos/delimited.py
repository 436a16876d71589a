"""Pithos' `?delimiter=<d>` on DELETE, COPY and MOVE: the operation also
applies to every object named `<name><d>...`, the contents of a folder.

`DELETE <object>?delimiter=/` deletes the object and everything under
`<object>/`; `COPY`/`MOVE` take each of those to the same name under the
destination. `DELETE <container>?delimiter=/` empties the container and
leaves it. Each object is judged and changed on its own by the core, as
the single operation would be; the first refusal stops the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from dolium.errors import NotFound
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops import object_copy, objects
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.pithos import moves
from dolium.frontends.swift.request import SwiftRequest

_PAGE = 1000


def wanted(request: SwiftRequest) -> bool:
    return bool(request.query.get("delimiter"))


async def _keys(request: SwiftRequest, prefix: str) -> list[str]:
    """Every current key of the request's container under `prefix`, in order."""
    found: list[str] = []
    cursor = ""
    while True:
        page = await request.store.listing.list(
            request.principal, request.address, prefix=prefix, start_after=cursor, max_keys=_PAGE
        )
        found += [item.key for item in page.entries]
        if not page.truncated or page.next_marker is None:
            return found
        cursor = page.next_marker


def _under(request: SwiftRequest) -> str:
    delimiter = request.query["delimiter"]
    name = request.obj
    return name if name.endswith(delimiter) else name + delimiter


def _as(request: SwiftRequest, obj: str) -> SwiftRequest:
    """The request, about another object of the same container."""
    return SwiftRequest(
        request.store, request.http, request.principal, request.account, request.container,
        obj, request.query, request.trans_id, request.confined_to,
    )  # fmt: skip


async def delete(request: SwiftRequest) -> Response:
    children = await _keys(request, _under(request))
    for key in children:
        await objects.delete(_as(request, key))
    try:
        return await objects.delete(request)
    except NotFound:
        if children:
            return empty(204)  # a folder with no object of its own
        raise


async def empty_container(request: SwiftRequest) -> Response:
    for key in await _keys(request, ""):
        await objects.delete(_as(request, key))
    return empty(204)


async def _each(
    request: SwiftRequest, handler: Callable[[SwiftRequest, str], Awaitable[Response]]
) -> Response:
    """The operation on the object, then on each object under it, each to
    the same name under the destination."""
    destination = request.header("destination")
    if not destination:
        raise SwiftError(412, "Destination header required")
    delimiter = request.query["delimiter"]
    base = destination if destination.endswith(delimiter) else destination + delimiter
    prefix = _under(request)
    children = await _keys(request, prefix)
    try:
        response = await handler(request, destination)
    except NotFound:
        if not children:
            raise
        response = empty(201)  # a folder with no object of its own
    for key in children:
        await handler(_as(request, key), base + key[len(prefix) :])
    return response


async def copy(request: SwiftRequest) -> Response:
    return await _each(request, object_copy.copy_to)


async def move(request: SwiftRequest) -> Response:
    return await _each(request, moves.move_to)
