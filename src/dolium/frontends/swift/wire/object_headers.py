"""An object's headers both ways: what a write sends, what a read answers.

System headers Swift keeps with an object are stored in the version's
`headers` under the same lower-case names the S3 front end uses, so either
API returns what the other wrote.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

from dolium.core.objects.conditions import format_http_date
from dolium.core.objects.hashmaps import object_top_hash
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire.listings import x_timestamp
from dolium.model import ObjectVersion

# What Swift stores from a PUT or POST besides user metadata (its
# `allowed_headers` default, less what it keeps apart: X-Delete-At).
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-robots-tag",
    # A DLO's manifest: "container/prefix" of its segments.
    "x-object-manifest",
)
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# What makes an object a symlink (set by a symlink PUT only), shown when
# the link itself is read.
SYMLINK_HEADERS = ("x-symlink-target", "x-symlink-target-account", "x-symlink-target-etag")


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in STORED_HEADERS if headers.get(name)}


def content_type(headers: Mapping[str, str], name: str) -> str:
    """The type sent, or (when absent or detection is asked for) one guessed from the name."""
    sent = headers.get("content-type", "")
    detect = headers.get("x-detect-content-type", "").lower() in ("true", "1", "yes", "on")
    if sent and not detect:
        return sent
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def expected_md5(headers: Mapping[str, str]) -> bytes | None:
    """The ETag a PUT declares, as the MD5 the data must have; 422 if it is no MD5."""
    value = headers.get("etag", "").strip().strip('"')
    if not value:
        return None
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        raise SwiftError(422) from None
    if len(digest) != 16:
        raise SwiftError(422)
    return digest


def delete_at(headers: Mapping[str, str], now: float) -> float | None:
    """When the object is to expire, from X-Delete-At or X-Delete-After; 400 if malformed."""
    after = headers.get("x-delete-after")
    at = headers.get("x-delete-at")
    if after is not None:
        try:
            seconds = int(after)
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After") from None
        if seconds < 0:
            raise SwiftError(400, "X-Delete-After in past")
        return float(int(now) + seconds)
    if at is not None:
        try:
            when = int(float(at))
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At") from None
        if when <= now:
            raise SwiftError(400, "X-Delete-At in past")
        return float(when)
    return None


def read_headers(version: ObjectVersion, expires_at: float | None) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", kinds.strip_swift_bytes(version.content_type)),
        ("Etag", version.etag),
        ("Last-Modified", format_http_date(version.modified)),
        ("X-Timestamp", x_timestamp(version.modified)),
        ("Accept-Ranges", "bytes"),
    ]
    headers.extend(
        (name.title(), value)
        for name, value in sorted(version.headers.items())
        if name in STORED_HEADERS
    )
    headers.extend(
        (name.title(), value)
        for name, value in sorted(version.headers.items())
        if name in SYMLINK_HEADERS
    )
    headers.extend(metadata.response_headers(metadata.OBJECT, version.meta))
    top = object_top_hash(version)
    if top is not None:
        # Pithos' top hash; absent until computed for blocks off the block grid.
        headers.append(("X-Object-Hash", top))
    if expires_at is not None:
        headers.append(("X-Delete-At", str(int(expires_at))))
    return headers
