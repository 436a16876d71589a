"""Symlinks, as Swift's `symlink` middleware makes them: an empty object
whose `X-Symlink-Target: <container>/<object>` (and optionally
`X-Symlink-Target-Account`) names another object, which a GET or HEAD of
the link answers with instead (`Content-Location` says where it led).

`X-Symlink-Target-Etag` makes a static link: its PUT checks the target's
ETag (409 when gone or different), and a read through it is 409 when the
target has changed since. A link may point at a link, up to
`SYMLOOP_MAX` of them (409 past that); one that points nowhere is 404 on
read, as in Swift. `?symlink=get` reads, copies or deletes the link
itself; a POST to a link changes the link and answers 307 to the target.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote, unquote

from starlette.responses import Response

from dolium.core.access.actions import Action
from dolium.core.objects import conditions
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NotFound
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import versioned_writes
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import ObjectVersion, container_address

SYMLOOP_MAX = 2
TARGET = "x-symlink-target"
TARGET_ACCOUNT = "x-symlink-target-account"
TARGET_ETAG = "x-symlink-target-etag"
HEADERS = (TARGET, TARGET_ACCOUNT, TARGET_ETAG)
CONTENT_TYPE = "application/symlink"

INFO: dict[str, object] = {"symloop_max": SYMLOOP_MAX, "static_links": True}


def is_symlink(version: ObjectVersion) -> bool:
    return bool(version.headers.get(TARGET))


def wants_link(request: SwiftRequest) -> bool:
    """Whether the request is about the link itself (`?symlink=get`)."""
    return request.query.get("symlink") == "get"


def _parse_target(value: str) -> tuple[str, str]:
    container, slash, obj = unquote(value).partition("/")
    if not container or not slash or not obj:
        raise SwiftError(
            412, "X-Symlink-Target header must be of the form <container name>/<object name>"
        )
    return container, obj


def _target_account(request: SwiftRequest, value: str | None) -> str:
    if not value:
        return request.account
    account = unquote(value)
    if "/" in account:
        raise SwiftError(412, "Account name cannot contain slashes")
    return account.removeprefix(ACCOUNT_PREFIX)


def location(account: str, container: str, obj: str) -> str:
    return quote(f"/v1/{ACCOUNT_PREFIX}{account}/{container}/{obj}")


def _target_of(request: SwiftRequest, version: ObjectVersion) -> tuple[str, str, str]:
    container, _, obj = version.headers[TARGET].partition("/")
    account = version.headers.get(TARGET_ACCOUNT, "") or request.account
    return account, container, obj


async def _head(request: SwiftRequest, account: str, container: str, obj: str) -> ObjectVersion:
    """The object a link leads to, as the caller may read it."""
    address = container_address(account, container)
    principal = request.principal
    if auth.is_member(principal, request.account) and not (
        account == request.account
        and await request.store.containers.member_allows(principal, address, Action.READ)
    ):
        raise AccessDenied(f"may not read {obj!r}")
    version = await request.store.objects.head(principal, address, obj)
    await request.store.expiry.check(version)
    return version


Target = tuple[str, str, str]  # account, container, object


async def follow(
    request: SwiftRequest, version: ObjectVersion
) -> tuple[ObjectVersion, Target | None]:
    """The object a link leads to (through links), and which it is; the
    version itself and None when it is no link or the link itself is asked for."""
    where, found = "", None
    hops = 0
    while is_symlink(version) and not wants_link(request):
        account, container, obj = _target_of(request, version)
        previous, where = where, location(account, container, obj)
        if hops >= SYMLOOP_MAX:
            raise SwiftError(
                409,
                f"Too many levels of symbolic links, maximum allowed is {SYMLOOP_MAX}",
                headers=[("Content-Location", previous)],
            )
        try:
            target = await _head(request, account, container, obj)
        except NotFound:
            raise SwiftError(404, headers=[("Content-Location", where)]) from None
        etag = version.headers.get(TARGET_ETAG)
        if etag and target.etag != etag:
            raise SwiftError(
                409,
                "X-Symlink-Target-Etag headers do not match",
                headers=[("Content-Location", where)],
            )
        version, hops, found = target, hops + 1, (account, container, obj)
    return version, found


async def put(request: SwiftRequest) -> Response:
    """PUT with X-Symlink-Target: an empty object that names its target."""
    headers = request.http.headers
    if request.header("content-length") != "0":
        raise SwiftError(400, "Symlink requests require a zero byte body")
    container, obj = _parse_target(headers[TARGET])
    account = _target_account(request, headers.get(TARGET_ACCOUNT))
    kept = {TARGET: f"{container}/{obj}"}
    if account != request.account:
        kept[TARGET_ACCOUNT] = ACCOUNT_PREFIX + account
    etag = headers.get(TARGET_ETAG, "").strip().strip('"')
    if etag:
        try:
            target = await _head(request, account, container, obj)
        except NotFound:
            raise SwiftError(409, "X-Symlink-Target does not exist") from None
        target, _ = await follow(request, target)
        if target.etag != etag:
            raise SwiftError(
                409,
                f"Object Etag {target.etag!r} does not match X-Symlink-Target-Etag header {etag!r}",
            )
        kept[TARGET_ETAG] = etag
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    # The target rides on the stored content type, for listings to show
    # (`symlink_path`), as in Swift; reads never answer it.
    listed = f";symlink_target={quote(kept[TARGET])}"
    if TARGET_ACCOUNT in kept:
        listed += f";symlink_target_account={quote(kept[TARGET_ACCOUNT])}"
    sent_type = kinds.strip_swift_bytes(headers.get("content-type") or CONTENT_TYPE)
    opts = WriteOptions(
        content_type=sent_type + listed,
        meta=metadata.present(changes),
        headers={**oh.stored_headers(headers), **kept},
        declared_size=0,
    )
    store = request.store
    await quotas.check_write(request.store, request.account, request.container, 0)
    await versioned_writes.before_write(request, request.container, request.obj)
    version = await store.objects.put(
        request.principal, request.address, request.obj, _nothing(), opts
    )
    expires = oh.delete_at(headers, store.ctx.clock())
    await store.expiry.set(request.principal, request.address, request.obj, expires)
    answer = [
        ("Etag", version.etag),
        ("Last-Modified", conditions.format_http_date(version.modified)),
    ]
    if etag:
        answer.append(("X-Symlink-Target-Etag", etag))
    return empty(201, answer)


def check_post(request: SwiftRequest) -> None:
    if TARGET in request.http.headers:
        raise SwiftError(400, "A PUT request is required to set a symlink target")


def after_post(request: SwiftRequest, version: ObjectVersion) -> Response | None:
    """A POST to a link changes the link, and says where it points (307)."""
    if not is_symlink(version) or wants_link(request):
        return None
    return empty(307, [("Location", location(*_target_of(request, version)))])


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
