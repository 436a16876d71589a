"""Swift's newer object versioning (its `object_versioning` middleware):
`X-Versions-Enabled` on a container, `X-Object-Version-Id` on objects,
`?versions` listings and `?version-id=` on GET, HEAD, COPY and DELETE.

It is the container's own versioning, the one S3 versioning and Pithos'
`X-Container-Policy-Versioning` set: enabling it is S3's `Enabled`,
disabling it `Suspended`, and a version id is the one S3 shows (`null` for
what was written while versioning was off). Swift's hidden versions
container, and its symlinks to it, have no counterpart: the versions are
the object's own.

As in Swift, it cannot be combined with the legacy modes
(`X-Versions-Location`, `X-History-Location`) on one container.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import Response

from dolium.errors import InvalidArgument
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.ops.versioned_writes import DELETE_MARKER_TYPE, LOCATION
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import listings as wire
from dolium.model import Bucket, ObjectVersion, Versioning

HEADER = "x-versions-enabled"
PARAMETER = "version-id"
NULL = "null"
# The MD5 of no bytes: a delete marker's hash in a listing, as Swift lists it.
_EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
_TRUE = ("true", "1", "yes", "on", "t", "y")
_LEGACY = ("x-versions-location", "x-history-location")


def asked(headers: Mapping[str, str]) -> bool | None:
    """Whether a container PUT or POST enables (True) or disables (False)
    versioning; None when it does not say."""
    value = headers.get(HEADER)
    return None if value is None else value.strip().lower() in _TRUE


def check_container_write(headers: Mapping[str, str], meta: Mapping[str, str]) -> None:
    """400 when the request would mix this versioning with the legacy modes
    (`meta`: the container's stored metadata, empty for a new one)."""
    sets_legacy = any(headers.get(name) for name in _LEGACY)
    if asked(headers) and (sets_legacy or meta.get(LOCATION)):
        raise SwiftError(
            400,
            "Cannot enable object versioning on a container that is already "
            "using the legacy versioned writes feature.",
        )


def check_legacy_write(headers: Mapping[str, str], bucket: Bucket) -> None:
    """400 for a legacy location set on a container that versions itself."""
    if any(headers.get(name) for name in _LEGACY) and bucket.versioning == Versioning.ENABLED:
        raise SwiftError(
            400, "Cannot set X-Versions-Location or X-History-Location on a versioned container"
        )


async def apply(request: SwiftRequest, enable: bool | None, bucket: Bucket) -> None:
    if enable is None:
        return
    if enable and bucket.versioning != Versioning.ENABLED:
        state = Versioning.ENABLED
    elif not enable and bucket.versioning == Versioning.ENABLED:
        state = Versioning.SUSPENDED
    else:
        return
    await request.store.buckets.set_versioning(request.principal, request.address, state)


def shown(bucket: Bucket) -> list[tuple[str, str]]:
    """`X-Versions-Enabled` of a container that has ever been versioned."""
    if bucket.versioning == Versioning.UNVERSIONED:
        return []
    return [("X-Versions-Enabled", str(bucket.versioning == Versioning.ENABLED))]


def version_header(version_id: str) -> list[tuple[str, str]]:
    """`X-Object-Version-Id` of a version written while the container kept versions."""
    return [] if version_id == NULL else [("X-Object-Version-Id", version_id)]


def requested(request: SwiftRequest) -> str | None:
    """The version `?version-id=` names (None: the current one); 400 on a write."""
    version_id = request.query.get(PARAMETER)
    if version_id is None:
        return None
    if request.method in ("PUT", "POST"):
        raise SwiftError(400, f"{request.method} to a specific version is not allowed")
    if not version_id:
        raise SwiftError(400, "Invalid version-id")
    return version_id


async def delete_version(request: SwiftRequest) -> Response:
    """DELETE `?version-id=`: that version only, and no delete marker."""
    version_id = requested(request)
    assert version_id is not None
    try:
        result = await request.store.objects.delete(
            request.principal, request.address, request.obj, version_id
        )
    except InvalidArgument:
        raise SwiftError(400, "Invalid version-id") from None
    return empty(204, version_header(result.version_id or version_id))


def _fields(version: ObjectVersion) -> dict[str, object]:
    marker = version.delete_marker
    return {
        "name": version.key,
        "bytes": 0 if marker else version.size,
        "hash": _EMPTY_MD5 if marker else version.etag,
        "content_type": DELETE_MARKER_TYPE if marker else version.content_type,
        "last_modified": wire.swift_time(version.modified),
        "version_id": version.version_id,
        "is_latest": version.is_latest,
    }


async def listing(request: SwiftRequest, headers: list[tuple[str, str]]) -> Response:
    """`GET <container>?versions`: every version and delete marker, by name,
    newest first within a name; `marker` with `version_marker` resumes."""
    query = ListingQuery.parse(request.query)
    if query.reverse:
        raise SwiftError(400, "reverse is not supported with versions")
    try:
        page = await request.store.listing.versions(
            request.principal, request.address, prefix=query.prefix, delimiter=query.delimiter,
            key_marker=query.marker, version_id_marker=request.query.get("version_marker", ""),
            max_keys=query.limit,
        )  # fmt: skip
    except InvalidArgument:
        raise SwiftError(400, "Invalid version_marker") from None
    entries: list[dict[str, object] | str] = [_fields(v) for v in page.entries]
    entries += list(page.prefixes)
    entries.sort(key=lambda e: e if isinstance(e, str) else str(e["name"]))
    if query.end_marker:
        entries = [
            e for e in entries if (e if isinstance(e, str) else str(e["name"])) < query.end_marker
        ]
    fmt = wire.listing_format(request.query, request.header("accept"))
    if fmt == wire.PLAIN and not entries:
        return empty(204, headers)
    if fmt == wire.JSON:
        body = json.dumps(
            [{"subdir": e} if isinstance(e, str) else e for e in entries], ensure_ascii=False
        )
    elif fmt == wire.XML:
        body = _xml(request.container, entries)
    else:
        body = "".join((e if isinstance(e, str) else str(e["name"])) + "\n" for e in entries)
    response = Response(body.encode(), status_code=200, media_type=wire.CONTENT_TYPES[fmt])
    for name, value in headers:
        response.headers.append(name, value)
    return response


def _xml(container: str, entries: list[dict[str, object] | str]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<container name={quoteattr(container)}>"]
    for entry in entries:
        if isinstance(entry, str):
            out.append(f"<subdir name={quoteattr(entry)}><name>{escape(entry)}</name></subdir>")
            continue
        fields = "".join(
            f"<{k}>{escape(str(v).lower() if isinstance(v, bool) else str(v))}</{k}>"
            for k, v in entry.items()
        )
        out.append(f"<object>{fields}</object>")
    out.append("</container>")
    return "".join(out)
