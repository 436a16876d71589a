"""Who else reaches an object, as writes set it and reads show it: Pithos'
sharing (`X-Object-Sharing`).

A write that sets it is checked first, before it stores anything: only
whoever may change the object's grants (its owner) may, and the core
judges that. It is applied once the object is written; a copy takes
nothing from its source, only what its own request sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from dolium.frontends.swift.pithos import sharing
from dolium.frontends.swift.request import SwiftRequest
from dolium.model import ObjectVersion, Sharing, container_address


@dataclass(frozen=True, slots=True)
class Asked:
    sharing: Sharing | None = None  # None: left as it is


async def before_write(request: SwiftRequest, account: str, container: str, key: str) -> Asked:
    """What the write asks for (400 when malformed, 403 when not the caller's to set)."""
    asked = Asked(sharing.requested(request))
    if asked.sharing is not None:
        address = container_address(account, container)
        await request.store.shares.check_may_share(request.principal, address, key)
    return asked


async def after_write(
    request: SwiftRequest, account: str, container: str, key: str, asked: Asked
) -> None:
    address = container_address(account, container)
    if asked.sharing is not None:
        await request.store.shares.set(request.principal, address, key, asked.sharing)


async def after_delete(request: SwiftRequest) -> None:
    """As Pithos: a deleted object's sharing goes with it."""
    await request.store.shares.clear(request.principal, request.address, request.obj)


async def with_read_headers(
    request: SwiftRequest, version: ObjectVersion, response: Response
) -> Response:
    for name, value in await sharing.read_headers(request, version):
        response.headers.append(name, value)
    return response
