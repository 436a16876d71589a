"""What every handler's answer shares: timestamps, empty answers, listings."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.responses import Response

from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import listings
from dolium.frontends.swift.wire.listings import x_timestamp

__all__ = ["empty", "listing", "x_timestamp"]


def empty(status: int, headers: Sequence[tuple[str, str]] = ()) -> Response:
    response = Response(status_code=status, media_type="text/html; charset=UTF-8")
    for name, value in headers:
        response.headers.append(name, value)
    if status not in {204, 304}:
        response.headers["content-length"] = "0"
    else:
        # A 204 or 304 has no body, and so no length to state.
        del response.headers["content-length"]
    return response


def listing(
    request: SwiftRequest,
    kind: str,
    name: str,
    entries: Sequence[listings.Entry],
    headers: Sequence[tuple[str, str]],
) -> Response:
    """A listing in the asked format; an empty plain-text one is 204, as in Swift."""
    fmt = listings.listing_format(request.query, request.header("accept"))
    if fmt == listings.PLAIN and not entries:
        return empty(204, [*headers, ("Content-Type", listings.CONTENT_TYPES[fmt])])
    body = listings.render(fmt, kind, name, entries)
    response = Response(body, status_code=200, media_type=listings.CONTENT_TYPES[fmt])
    for header, value in headers:
        response.headers.append(header, value)
    if request.method == "HEAD":
        response.body = b""
    return response
