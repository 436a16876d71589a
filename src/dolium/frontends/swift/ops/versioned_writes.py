"""Object versioning as Swift's `versioned_writes` does it: a container
names another (its versions container) where earlier contents of its
objects are kept as objects of their own.

`X-Versions-Location: <container>` (stack mode): a PUT or COPY over an
object first copies the current object to `<versions>/<NNN><name>/<ts>`
(NNN: the name's length in bytes, three hex digits; ts: the replaced
object's timestamp), and a DELETE puts the newest archived copy back in
place (or deletes the object when there is none).
`X-History-Location: <container>` (history mode): PUTs archive the same
way; a DELETE archives the object too and leaves a delete marker (an empty
object of type `application/x-deleted;swift_versions_deleted=1`).

Archiving copies by reference to the blocks, so it costs no data. The
setting is kept in the container's metadata under names no header can
set; the archived copies are visible and listable as Swift shows them.
Dolium's own object versions (S3 versioning) are a different thing and are
not used here: Swift's clients expect the copies in the versions container.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote

from dolium.core.access.actions import Action
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import AccessDenied, NoSuchBucket, NotFound
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire.listings import x_timestamp
from dolium.model import ObjectVersion, container_address

# Container metadata names: a ":" cannot be part of a header's name, so no
# X-Container-Meta-* header can set or show them.
LOCATION = "sysmeta:versions-location"
MODE = "sysmeta:versions-mode"
STACK, HISTORY = "stack", "history"
HEADERS = {STACK: "X-Versions-Location", HISTORY: "X-History-Location"}
DELETE_MARKER_TYPE = "application/x-deleted;swift_versions_deleted=1"

INFO: dict[str, object] = {"allowed_flags": ["x-versions-location", "x-history-location"]}


def container_changes(headers: Mapping[str, str]) -> dict[str, str | None]:
    """The metadata a container PUT or POST sets for versioning; 400 if malformed."""
    stack, history = headers.get("x-versions-location"), headers.get("x-history-location")
    if stack is not None and history is not None:
        raise SwiftError(
            400, "Only one of X-Versions-Location or X-History-Location may be specified"
        )
    value, mode = (stack, STACK) if stack is not None else (history, HISTORY)
    if value:
        location = unquote(value)
        if "/" in location:
            raise SwiftError(412, "Container name cannot contain slashes")
        return {LOCATION: location, MODE: mode}
    if value is not None or any(
        f"x-remove-{which}-location" in headers for which in ("versions", "history")
    ):
        return {LOCATION: None, MODE: None}
    return {}


def shown(meta: Mapping[str, str]) -> list[tuple[str, str]]:
    """The versioning header a container HEAD or GET answers with."""
    location = meta.get(LOCATION)
    if not location:
        return []
    return [(HEADERS.get(meta.get(MODE, STACK), HEADERS[STACK]), location)]


def prefix_of(key: str) -> str:
    return f"{len(key.encode('utf-8', 'surrogatepass')):03x}{key}/"


async def _setting(request: SwiftRequest, container: str) -> tuple[str, str] | None:
    """(versions container, mode) of a container, None when it keeps no versions."""
    try:
        meta = await request.store.containers.stored_meta(
            container_address(request.account, container)
        )
    except NotFound:
        return None
    location = meta.get(LOCATION)
    return (location, meta.get(MODE, STACK)) if location else None


async def _writable(request: SwiftRequest, versions: str) -> str:
    address = container_address(request.account, versions)
    principal = request.principal
    if auth.is_member(
        principal, request.account
    ) and not await request.store.containers.member_allows(principal, address, Action.WRITE):
        raise auth.refusal(principal)
    return address


async def _archive(request: SwiftRequest, versions: str, container: str, key: str) -> bool:
    """Copy the object, if there is one, into the versions container; whether there was."""
    store, principal = request.store, request.principal
    address = container_address(request.account, container)
    try:
        current = await store.objects.head(principal, address, key)
    except NotFound:
        return False
    target = await _writable(request, versions)
    name = prefix_of(key) + x_timestamp(current.modified)
    try:
        await store.objects.copy(principal, (address, key, None), target, name, CopyOptions())
    except NoSuchBucket:
        # Swift's answer when the versions container is missing.
        raise SwiftError(412) from None
    return True


async def before_write(request: SwiftRequest, container: str, key: str) -> None:
    """Archive what a PUT or COPY to (container, key) is about to replace."""
    setting = await _setting(request, container)
    if setting is not None:
        await _archive(request, setting[0], container, key)


async def delete(request: SwiftRequest) -> bool:
    """A DELETE in a container that keeps versions; False when it keeps none
    (the caller deletes as usual). Raises NotFound for nothing to delete."""
    setting = await _setting(request, request.container)
    if setting is None:
        return False
    versions, mode = setting
    if mode == HISTORY:
        await _history_delete(request, versions)
    else:
        await _stack_delete(request, versions)
    return True


async def _history_delete(request: SwiftRequest, versions: str) -> None:
    store, principal = request.store, request.principal
    existed = await _archive(request, versions, request.container, request.obj)
    target = await _writable(request, versions)
    marker = prefix_of(request.obj) + x_timestamp(store.ctx.clock())
    opts = WriteOptions(content_type=DELETE_MARKER_TYPE, declared_size=0)
    try:
        await store.objects.put(principal, target, marker, _nothing(), opts)
    except NoSuchBucket:
        raise SwiftError(412) from None
    if not existed:
        raise NotFound(f"no object {request.obj!r}")
    await store.objects.delete(principal, request.address, request.obj)


async def _stack_delete(request: SwiftRequest, versions: str) -> None:
    """Put the newest archived copy back in place of the object; delete the
    object when there is none."""
    store, principal = request.store, request.principal
    target = await _writable(request, versions)
    newest = await _newest(request, target, prefix_of(request.obj))
    if newest is None:
        await store.objects.head(principal, request.address, request.obj)  # 404 if absent
        await store.objects.delete(principal, request.address, request.obj)
        return
    await store.objects.copy(
        principal, (target, newest.key, None), request.address, request.obj, CopyOptions()
    )
    await store.objects.delete(principal, target, newest.key)


async def _newest(request: SwiftRequest, address: str, prefix: str) -> ObjectVersion | None:
    """The newest archived copy that is not a delete marker (names sort by time)."""
    names: list[str] = []
    cursor = ""
    while True:
        try:
            page = await request.store.listing.list(
                request.principal, address, prefix=prefix, start_after=cursor, max_keys=1000
            )
        except NoSuchBucket:
            return None
        names.extend(e.key for e in page.entries)
        if not page.truncated or not page.entries:
            break
        cursor = page.entries[-1].key
    for name in reversed(names):
        try:
            version = await request.store.objects.head(request.principal, address, name)
        except (NotFound, AccessDenied):
            continue
        if version.content_type != DELETE_MARKER_TYPE:
            return version
    return None


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator
