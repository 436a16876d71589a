"""Pithos' versions on the Swift front end: `?version=<id>` and `?version=list`
on objects, `?until=<timestamp>` on accounts, containers and objects, and
the container policy `X-Container-Policy-Versioning: auto|none`.

A Pithos version is named here by its version id (the one S3 shows), where
Pithos used an integer serial; `X-Object-Version` carries it. A container
keeps history once its policy is `auto` (S3 versioning enabled); `none`
suspends it. Containers start with no history, as Swift's do.

`until` is Pithos' integer Unix time; another value is ignored, as Pithos
ignores it. What the past holds is the core's (`Store.history`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

from dolium.core.objects.conditions import format_http_date
from dolium.errors import InvalidArgument
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.pithos.listings import rolled
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire.listings import Entry
from dolium.model import Bucket, ListedObject, ObjectVersion, Versioning

POLICY_HEADER = "x-container-policy-versioning"
AUTO, NONE = "auto", "none"
LIST = "list"


def until(request: SwiftRequest) -> float | None:
    value = request.query.get("until", "")
    return float(value) if value.isdigit() else None


def until_header(level: str, when: float) -> tuple[str, str]:
    return (f"X-{level}-Until-Timestamp", format_http_date(when))


def asked(request: SwiftRequest) -> bool:
    """Whether an object read names a past version (`?version=` or `?until=`)."""
    return (
        bool(request.query.get("version"))
        or "version-id" in request.query
        or until(request) is not None
    )


async def find(request: SwiftRequest) -> ObjectVersion:
    """The version an object read names: `?version=`, else the one at `?until=`,
    else the current one; 404 for a version id that names none."""
    store, principal = request.store, request.principal
    swift_id = request.query.get("version-id")
    if swift_id is not None:
        # Swift's object versioning names the version the same way.
        try:
            return await store.objects.head(principal, request.address, request.obj, swift_id)
        except InvalidArgument:
            raise SwiftError(400, "Invalid version-id") from None
    version_id = request.query.get("version")
    if version_id:
        try:
            return await store.objects.head(principal, request.address, request.obj, version_id)
        except InvalidArgument:
            raise SwiftError(404) from None
    when = until(request)
    if when is not None:
        return await store.history.at(principal, request.address, request.obj, when)
    return await store.objects.head(principal, request.address, request.obj)


async def version_list(request: SwiftRequest) -> Response:
    """`GET ?version=list`: `{"versions": [[id, "mtime"], ...]}`, oldest first."""
    if request.method != "GET":
        raise SwiftError(400)
    found = await request.store.history.versions(request.principal, request.address, request.obj)
    body = {"versions": [[v.version_id, repr(v.modified)] for v in reversed(found)]}
    return Response(json.dumps(body).encode(), status_code=200, media_type="application/json")


def policy_asked(headers: Mapping[str, str]) -> str | None:
    """The versioning policy a container PUT or POST sets (None: none); 400 when bad."""
    value = headers.get(POLICY_HEADER)
    if value is None:
        return None
    if value not in (AUTO, NONE):
        raise SwiftError(400, "Bad X-Container-Policy-Versioning header value")
    return value


async def apply_policy(request: SwiftRequest, policy: str | None, bucket: Bucket) -> None:
    if policy == AUTO and bucket.versioning != Versioning.ENABLED:
        await request.store.buckets.set_versioning(
            request.principal, request.address, Versioning.ENABLED
        )
    elif policy == NONE and bucket.versioning == Versioning.ENABLED:
        await request.store.buckets.set_versioning(
            request.principal, request.address, Versioning.SUSPENDED
        )


def policy_headers(bucket: Bucket) -> list[tuple[str, str]]:
    policy = AUTO if bucket.versioning == Versioning.ENABLED else NONE
    return [("X-Container-Policy-Versioning", policy)]


async def container_at(
    request: SwiftRequest, when: float, query: ListingQuery | None
) -> tuple[list[tuple[str, str]], list[Entry]]:
    """The headers (counts as of `when`) and listing page of the container then."""
    store, principal = request.store, request.principal
    count, size = await store.history.usage_at(principal, request.address, when)
    headers = [
        ("X-Container-Object-Count", str(count)),
        ("X-Container-Bytes-Used", str(size)),
        until_header("Container", when),
    ]
    if query is None or not query.limit:
        return headers, []
    page = await store.history.list_at(
        principal, request.address, when, prefix=query.prefix, start_after=query.marker,
        limit=query.limit,
    )  # fmt: skip
    return headers, rolled(query, [ListedObject.of(v) for v in page])
