"""How a stored version says it is a large object's manifest.

An SLO manifest is kept as an object whose data is the manifest's JSON,
with `x-static-large-object` and the large object's ETag and size among
its headers, and `;swift_bytes=<size>` on its content type (what Swift's
container listings show as its size). A DLO manifest is any object with an
`x-object-manifest` header naming `container/prefix`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from dolium.frontends.swift.errors import SwiftError
from dolium.model import ObjectVersion

SLO = "x-static-large-object"
SLO_ETAG = "x-object-sysmeta-slo-etag"
SLO_SIZE = "x-object-sysmeta-slo-size"
DLO = "x-object-manifest"
SLO_HEADERS = (SLO, SLO_ETAG, SLO_SIZE)


def is_slo(version: ObjectVersion) -> bool:
    return version.headers.get(SLO, "").lower() in ("true", "1", "yes", "on", "t", "y")


def is_dlo(version: ObjectVersion) -> bool:
    return bool(version.headers.get(DLO)) and not is_slo(version)


def slo_etag(version: ObjectVersion) -> str:
    return version.headers.get(SLO_ETAG, "")


def slo_size(version: ObjectVersion) -> int:
    try:
        return int(version.headers.get(SLO_SIZE, "0"))
    except ValueError:
        return 0


def manifest_get(query: Mapping[str, str]) -> bool:
    """Whether the request asks for the manifest itself, not the large object."""
    return query.get("multipart-manifest") == "get"


def dlo_source(value: str) -> tuple[str, str] | None:
    """(container, prefix) of an X-Object-Manifest value; None when malformed."""
    container, slash, prefix = unquote(value).lstrip("/").partition("/")
    if not container or not slash:
        return None
    return container, prefix


# Parameters kept on a stored content type for what listings show (a
# manifest's size, a symlink's target), as Swift keeps them; never answered.
LISTING_PARAMS = ("swift_bytes", "symlink_target", "symlink_target_account")


def add_swift_bytes(content_type: str, size: int) -> str:
    return f"{strip_swift_bytes(content_type)};swift_bytes={size}"


def strip_swift_bytes(content_type: str) -> str:
    """A content type without the parameters kept for listings (`LISTING_PARAMS`)."""
    return ";".join(
        p
        for p in content_type.split(";")
        if p.strip().lower().partition("=")[0] not in LISTING_PARAMS
    )


def listing_param(content_type: str, name: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == name:
            return value
    return None


def listed_size(content_type: str, size: int) -> tuple[str, int]:
    """(content type, size) a listing shows: a manifest's large-object size."""
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "swift_bytes":
            try:
                return strip_swift_bytes(content_type), int(value)
            except ValueError:
                break
    return content_type, size


def check_write_headers(method: str, headers: Mapping[str, str]) -> None:
    """Refuse, as Swift's middlewares do, what a PUT or POST may not set."""
    if SLO in headers and method in ("PUT", "POST"):
        raise SwiftError(
            400,
            "X-Static-Large-Object is a reserved header. To create a static "
            "large object add query param multipart-manifest=put.",
        )
    value = headers.get(DLO)
    if value is not None:
        container, slash, prefix = value.partition("/")
        if not container or not slash or not prefix or "?" in value or "&" in value:
            raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")
        if prefix.startswith("/"):
            raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")
