"""Public links (`X-Object-Public`), and the anonymous reads they allow.

`X-Object-Public: true` on a PUT, POST or copy publishes the object,
`false` or an empty value unpublishes it; the owner's HEAD and GET show the
link as a full URL. The link is `/v1/public/<id>` on this server: Pithos
serves it at `<base>/public/<id>`, but here a path outside `/v1/` would be
taken for an S3 bucket, and no Swift account is named `public` (accounts
are `AUTH_<tenant>`).

A link is read without credentials (HEAD and GET only), with ranges and
conditional headers, and answers with only the headers Pithos gives it:
no `X-Object-*` and no metadata. The object is served as stored: a large
object's manifest is not followed through a public link, since its
segments are not public.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from dolium.core.objects import conditions
from dolium.core.store import Store
from dolium.errors import InvalidRange
from dolium.frontends.swift.auth import ANONYMOUS, storage_url
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects.read import check_conditions
from dolium.frontends.swift.ops.byteranges import MultipartRanges, parse_ranges
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import ObjectVersion

HEADER = "x-object-public"
PATH = "/v1/public/"
# The only headers a public read answers with, besides the range's own.
SHOWN = ("Content-Type", "Etag", "Last-Modified", "Content-Encoding", "Content-Disposition")
DISPOSITIONS = ("inline", "attachment")


def is_public_path(path: str) -> bool:
    return path.startswith(PATH)


def requested(request: SwiftRequest) -> bool | None:
    """Whether the request publishes (True) or unpublishes (False) the object;
    None when it says nothing; 400 for another value."""
    value = request.http.headers.get(HEADER)
    if value is None:
        return None
    value = value.replace(" ", "").lower()
    if value == "true":
        return True
    if value in ("false", ""):
        return False
    raise SwiftError(400, "Bad X-Object-Public header value")


def link(http: Request, public_id: str) -> str:
    """The full URL of a public id, on the host and scheme the client reached us by."""
    base = storage_url(http, "").rsplit("/v1/", 1)[0]
    return f"{base}{PATH}{public_id}"


def read_headers(request: SwiftRequest, public_id: str | None) -> list[tuple[str, str]]:
    """The owner's view of the object's link (nobody else learns it)."""
    if not request.is_owner or public_id is None:
        return []
    return [("X-Object-Public", link(request.http, public_id))]


def _disposition(http: Request, version: ObjectVersion) -> str | None:
    """Pithos' Content-Disposition: the object's own, unless a valid type is asked for."""
    asked = http.query_params.get("disposition-type", "")
    own = version.headers.get("content-disposition")
    if own and asked not in DISPOSITIONS:
        return own
    name = version.key.rsplit("/", 1)[-1].replace('"', "")
    return f'{asked if asked in DISPOSITIONS else "inline"}; filename="{name}"'


async def serve(store: Store, http: Request, trans_id: str) -> Response:
    if http.method not in ("GET", "HEAD"):
        raise SwiftError(405)
    version = await store.public_links.open(http.scope["path"][len(PATH) :])
    await store.expiry.check(version)
    request = SwiftRequest(store, http, ANONYMOUS, "", trans_id=trans_id)
    check_conditions(request, version.etag, version.modified)
    headers = [(n, v) for n, v in oh.read_headers(version, None) if n in SHOWN]
    headers = [(n, v) for n, v in headers if n != "Content-Disposition"]
    disposition = _disposition(http, version)
    if disposition is not None:
        headers.append(("Content-Disposition", disposition))
    size = version.size
    try:
        ranges = parse_ranges(http.headers.get("range"), size)
    except InvalidRange:
        return empty(416, [("Content-Range", conditions.unsatisfied_content_range(size))])
    if http.method == "HEAD":
        response = Response(status_code=200, media_type=None)
        _add(response, headers)
        response.headers["content-length"] = str(size)
        return response
    if ranges is not None and len(ranges) > 1:
        parts = MultipartRanges(ranges, size, version.content_type)

        async def read(start: int, end: int) -> AsyncIterator[bytes]:
            return await store.objects.read(version, start, end)

        headers = [(n, v) for n, v in headers if n != "Content-Type"]
        headers.append(("Content-Type", parts.content_type))
        return _streamed(parts.body(read), 206, headers, parts.length)
    start, end, status = 0, size - 1, 200
    if ranges is not None:
        start, end, status = ranges[0].start, ranges[0].end, 206
        headers.append(("Content-Range", conditions.content_range(ranges[0], size)))
    length = end - start + 1 if size else 0
    data = await store.objects.read(version, start, end) if length else _nothing()
    return _streamed(data, status, headers, length)


def _add(response: Response, headers: list[tuple[str, str]]) -> None:
    for name, value in headers:
        response.headers.append(name, value)


def _streamed(
    data: AsyncIterator[bytes], status: int, headers: list[tuple[str, str]], length: int
) -> Response:
    response = StreamingResponse(data, status_code=status)
    _add(response, headers)
    response.headers["content-length"] = str(length)
    return response


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
