"""Pithos' purges of history: `DELETE <object>?until=<t>` removes every
version of the object (current, past, delete markers) modified at or before
`t`; `DELETE <container>?until=<t>` removes the past versions and delete
markers of its objects modified at or before `t`, keeping every current
object and the container. Both answer 204.

Each version goes through the core's delete of one version, so object
locks and permissions hold as for any such delete.
"""

from __future__ import annotations

from starlette.responses import Response

from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.pithos import versions
from dolium.frontends.swift.request import SwiftRequest


def wanted(request: SwiftRequest) -> bool:
    return versions.until(request) is not None


async def purge_object(request: SwiftRequest) -> Response:
    when = versions.until(request)
    assert when is not None  # routed here only with it
    await request.store.history.purge(request.principal, request.address, request.obj, when)
    return empty(204)


async def purge_container(request: SwiftRequest) -> Response:
    when = versions.until(request)
    assert when is not None
    await request.store.history.purge_container(request.principal, request.address, when)
    return empty(204)
