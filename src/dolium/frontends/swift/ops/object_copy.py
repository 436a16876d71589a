"""Server-side copies: PUT with X-Copy-From, and COPY with Destination.

The copy keeps the source's metadata, content type and system headers, with
what the request sends laid over them; `X-Fresh-Metadata: true` starts from
nothing instead. The core copies by reference to the source's blocks.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.responses import Response

from dolium.core.objects.conditions import format_http_date
from dolium.core.objects.write_options import CopyOptions
from dolium.errors import InvalidArgument
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import symlinks, versioned_writes
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.objects import check_name
from dolium.frontends.swift.pithos import reach
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import container_address


def split(path: str, header: str) -> tuple[str, str]:
    """(container, object) of a `/container/object` header value (leading "/" optional)."""
    container, slash, obj = unquote(path).lstrip("/").partition("/")
    if not container or not slash or not obj:
        raise SwiftError(412, f"{header} header must be of the form <container name>/<object name>")
    return container, obj


def _account(request: SwiftRequest, header: str) -> str:
    # Pithos names a copy's source account X-Source-Account.
    value = request.header(header) or (
        request.header("x-source-account") if header.startswith("x-copy-from") else ""
    )
    if not value:
        return request.account
    return value.removeprefix(ACCOUNT_PREFIX)


def source_version(request: SwiftRequest) -> str | None:
    """The source version a copy names (Pithos' X-Source-Version); None: the current one."""
    # Swift's object versioning names it with ?version-id= on a COPY.
    return request.header("x-source-version") or request.query.get("version-id") or None


def other_container(request: SwiftRequest) -> tuple[str, str] | None:
    """(account, container) of a copy's other end: its source for a PUT with
    X-Copy-From, its destination for a COPY; None when the header is malformed
    (the handler refuses it)."""
    if request.method in ("COPY", "MOVE"):
        header, account_header = "destination", "destination-account"
    elif request.header("x-move-from"):
        header, account_header = "x-move-from", "x-copy-from-account"
    else:
        header, account_header = "x-copy-from", "x-copy-from-account"
    try:
        container, _ = split(request.header(header), header)
    except SwiftError:
        return None
    return _account(request, account_header), container


async def copy_object(
    request: SwiftRequest,
    src: tuple[str, str, str],
    dst: tuple[str, str, str],
    version_id: str | None = None,
) -> Response:
    """Copy object src (account, container, object), its `version_id` or its
    current version, to dst."""
    store, principal = request.store, request.principal
    headers = request.http.headers
    src_address = container_address(src[0], src[1])
    try:
        source = await store.objects.head(principal, src_address, src[2], version_id)
    except InvalidArgument:
        raise SwiftError(404) from None  # no version can have that id
    await store.expiry.check(source)
    source, target = await symlinks.follow(request, source)
    if target is not None:
        # A copy of a link copies what it leads to, unless ?symlink=get.
        src, src_address = target, container_address(target[0], target[1])
        version_id = None
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    sent = metadata.present(changes)
    if request.flag("x-fresh-metadata"):
        meta, kept_headers, kept_type = sent, {}, None
    else:
        meta = {**source.meta, **sent}
        kept_headers, kept_type = dict(source.headers), source.content_type
    sent_type = headers.get("content-type") if request.method != "COPY" else None
    opts = CopyOptions(
        replace_metadata=True,
        content_type=sent_type or kept_type or oh.content_type({}, dst[2]),
        meta=meta,
        headers={**kept_headers, **oh.stored_headers(headers)},
    )
    dst_address = container_address(dst[0], dst[1])
    # Sharing is not copied: the copy gets what the request sets, if anything.
    asked = await reach.before_write(request, *dst)
    if dst[0] == request.account:
        await quotas.check_write(request.store, request.account, dst[1], source.size)
        await versioned_writes.before_write(request, dst[1], dst[2])
    created, _ = await store.objects.copy(
        principal, (src_address, src[2], version_id), dst_address, dst[2], opts
    )
    expires = oh.delete_at(headers, store.ctx.clock())
    await store.expiry.set(principal, dst_address, dst[2], expires)
    await reach.after_write(request, *dst, asked)
    return empty(
        201,
        [
            ("Etag", created.etag),
            ("Last-Modified", format_http_date(created.modified)),
            ("X-Copied-From", f"{src[1]}/{src[2]}"),
            ("X-Copied-From-Account", ACCOUNT_PREFIX + src[0]),
            ("X-Copied-From-Last-Modified", format_http_date(source.modified)),
            ("X-Object-Version", created.version_id),
        ],
    )


async def put_copy(request: SwiftRequest) -> Response:
    """PUT with X-Copy-From: this request's path is the destination."""
    check_name(request)
    if request.header("content-length") not in ("", "0"):
        raise SwiftError(400, "Copy requests require a zero byte body")
    container, obj = split(request.header("x-copy-from"), "X-Copy-From")
    src = (_account(request, "x-copy-from-account"), container, obj)
    dst = (request.account, request.container, request.obj)
    return await copy_object(request, src, dst, source_version(request))


async def copy(request: SwiftRequest) -> Response:
    """COPY with Destination: this request's path is the source."""
    destination = request.header("destination")
    if not destination:
        raise SwiftError(412, "Destination header required")
    return await copy_to(request, destination)


async def copy_to(request: SwiftRequest, destination: str) -> Response:
    """COPY to `destination` (`/container/object`, in Destination-Account)."""
    container, obj = split(destination, "Destination")
    dst = (_account(request, "destination-account"), container, obj)
    src = (request.account, request.container, request.obj)
    return await copy_object(request, src, dst, source_version(request))
