"""Who else reaches an object, as writes set it and reads show it: Pithos'
sharing (`X-Object-Sharing`) and public links (`X-Object-Public`).

A write that sets either is checked first, before it stores anything: only
whoever may change the object's grants (its owner) may, and the core
judges that. Both are applied once the object is written; a copy takes
neither from its source, only what its own request sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from dolium.core.objects.conditions import format_http_date
from dolium.frontends.swift.ops import object_versions
from dolium.frontends.swift.pithos import public, sharing
from dolium.frontends.swift.request import SwiftRequest
from dolium.model import ObjectVersion, Sharing, container_address


@dataclass(frozen=True, slots=True)
class Asked:
    sharing: Sharing | None = None  # None: left as it is
    public: bool | None = None


async def before_write(request: SwiftRequest, account: str, container: str, key: str) -> Asked:
    """What the write asks for (400 when malformed, 403 when not the caller's to set)."""
    asked = Asked(sharing.requested(request), public.requested(request))
    if asked.sharing is not None or asked.public is not None:
        address = container_address(account, container)
        await request.store.shares.check_may_share(request.principal, address, key)
    return asked


async def after_write(
    request: SwiftRequest, account: str, container: str, key: str, asked: Asked
) -> None:
    address = container_address(account, container)
    if asked.sharing is not None:
        await request.store.shares.set(request.principal, address, key, asked.sharing)
    if asked.public is not None:
        await request.store.public_links.set(request.principal, address, key, asked.public)


async def after_delete(request: SwiftRequest) -> None:
    """As Pithos: a deleted object's sharing and link go with it."""
    await request.store.shares.clear(request.principal, request.address, request.obj)
    await request.store.public_links.clear(request.principal, request.address, request.obj)


def version_headers(version: ObjectVersion, uuid: str | None) -> list[tuple[str, str]]:
    """Pithos' headers of which version a read got: its id, when and by whom
    it was written, and the UUID of the object's path."""
    headers = [
        *object_versions.version_header(version.version_id),
        ("X-Object-Version", version.version_id),
        ("X-Object-Version-Timestamp", format_http_date(version.modified)),
    ]
    if version.user:
        headers.append(("X-Object-Modified-By", version.user))
    if uuid is not None:
        headers.append(("X-Object-UUID", uuid))
    return headers


async def with_read_headers(
    request: SwiftRequest, version: ObjectVersion, response: Response, *, sharing_shown: bool
) -> Response:
    found = await request.store.shares.reach(version)
    shown = version_headers(version, found.uuid)
    if sharing_shown:
        shown += [
            *await sharing.read_headers(request, version, found.governing),
            *public.read_headers(request, found.public_id),
        ]
    for name, value in shown:
        response.headers.append(name, value)
    return response
