"""Translating S3 object headers to and from the core's write options."""

from __future__ import annotations

import base64
import binascii
import datetime
import email.utils
import math
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from urllib.parse import parse_qsl

from dolium.core.access import grants
from dolium.core.content.checksums import ALGORITHMS, validate_checksum
from dolium.core.objects.write_options import WriteOptions
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire import versions
from dolium.frontends.s3.wire.acl_xml import acl_headers, requested_acl
from dolium.frontends.s3.wire.conditions import write_condition
from dolium.frontends.s3.wire.http import Headers, S3Request
from dolium.frontends.s3.wire.sse_headers import response_headers as sse_response_headers
from dolium.frontends.s3.wire.sse_headers import signed_v4, sse_request
from dolium.model import Lock, LockMode, ObjectVersion

# System metadata S3 stores with an object and returns on GET/HEAD.
STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-amz-website-redirect-location",
)
META_PREFIX = "x-amz-meta-"
RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def http_date(timestamp: float) -> str:
    return _http_date(math.floor(timestamp))


# Every response carries the current second's Date; many the same Last-Modified.
@lru_cache(maxsize=1024)
def _http_date(seconds: int) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def iso_date(timestamp: float) -> str:
    """S3's timestamp format in XML: 2009-10-12T17:50:30.000Z (UTC, milliseconds)."""
    millis = round(timestamp * 1000)
    seconds, ms = divmod(millis, 1000)
    return f"{_iso_seconds(seconds)}.{ms:03d}Z"


# Objects written together share their second; a listing page formats many.
@lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def user_metadata(request: S3Request) -> dict[str, str]:
    return {k[len(META_PREFIX) :]: v for k, v in request.headers if k.startswith(META_PREFIX)}


def system_headers(request: S3Request) -> dict[str, str]:
    stored: dict[str, str] = {}
    for name in STORED_HEADERS:
        value = request.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            # aws-chunked is the transfer framing, not the object's encoding:
            # it alone is dropped, the rest kept as sent ("deflate, gzip").
            kept = [v for v in value.split(",") if v.strip().lower() != "aws-chunked"]
            value = ",".join(kept).strip()
            if not value:
                continue
        if name == REDIRECT_LOCATION:
            check_redirect_location(value)
        stored[name] = value
    return stored


REDIRECT_LOCATION = "x-amz-website-redirect-location"
# S3 keeps at most 2 KB of redirect location.
MAX_REDIRECT_LOCATION = 2048


def check_redirect_location(value: str) -> None:
    """A website redirect is a key of the bucket ("/...") or an http(s) URL."""
    if not value.startswith(("/", "http://", "https://")):
        raise S3Error(
            400,
            "InvalidRedirectLocation",
            "The website redirect location must have a prefix of 'http://' or 'https://' or '/'.",
        )
    if len(value.encode()) > MAX_REDIRECT_LOCATION:
        raise S3Error(400, "InvalidRedirectLocation", "The website redirect location is too long.")


def content_md5(request: S3Request) -> bytes | None:
    value = request.header("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    return digest


def declared_checksums(
    request: S3Request,
) -> tuple[tuple[str, ...], Callable[[], Mapping[str, str]]]:
    """Algorithms to compute, and a getter for the values the client declared.

    Values come from x-amz-checksum-* headers, or from trailers named by
    x-amz-trailer (known only once the body has been read).
    """
    algorithms: list[str] = []
    declared: dict[str, str] = {}
    for algorithm in ALGORITHMS:
        value = request.header(f"x-amz-checksum-{algorithm.lower()}")
        if value is not None:
            validate_checksum(algorithm, value)
            declared[algorithm] = value
            algorithms.append(algorithm)
    trailer = (request.header("x-amz-trailer") or "").strip().lower()
    trailer_algorithm = ""
    if trailer:
        trailer_algorithm = trailer.removeprefix("x-amz-checksum-").upper()
        if not trailer.startswith("x-amz-checksum-") or trailer_algorithm not in ALGORITHMS:
            raise S3Error(
                400,
                "InvalidRequest",
                "The value specified in the x-amz-trailer header is not supported",
            )
        algorithms.append(trailer_algorithm)
    for name in ("x-amz-checksum-algorithm", "x-amz-sdk-checksum-algorithm"):
        wanted = (request.header(name) or "").upper()
        if wanted and wanted not in ALGORITHMS:
            raise S3Error(
                400,
                "InvalidRequest",
                "Checksum algorithm provided is unsupported. Please try again with any of "
                "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
            )
        if wanted and wanted not in algorithms:
            algorithms.append(wanted)
    if len(declared) > 1:
        raise S3Error(
            400,
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )

    def expected() -> Mapping[str, str]:
        values = dict(declared)
        if trailer_algorithm:
            value = request.trailers.get(trailer)
            if value is None:
                raise S3Error(
                    400, "InvalidRequest", "The x-amz-trailer header was not sent in the trailer"
                )
            validate_checksum(trailer_algorithm, value)
            values[trailer_algorithm] = value
        return values

    return tuple(dict.fromkeys(algorithms)), expected


def write_options(request: S3Request, declared_size: int | None) -> WriteOptions:
    algorithms, expected = declared_checksums(request)
    return WriteOptions(
        content_type=request.header("content-type") or "binary/octet-stream",
        meta=user_metadata(request),
        headers=system_headers(request),
        content_md5=content_md5(request),
        declared_size=declared_size,
        checksum_algorithms=algorithms,
        expected_checksums=expected,
        condition=write_condition(request),
        tags=tagging_header(request),
        acl=acl_header(request),
        lock=lock_header(request),
        sse=sse_request(request),
        policy=request.storage_policy,
        kms_allowed=signed_v4(request),
    )


def acl_header(request: S3Request) -> str:
    """The ACL x-amz-acl / x-amz-grant-* ask for, as `WriteOptions.acl` ("" for none)."""
    return grants.encode(requested_acl(acl_headers(request.headers)))


LOCK_MODE = "x-amz-object-lock-mode"
LOCK_UNTIL = "x-amz-object-lock-retain-until-date"
LOCK_HOLD = "x-amz-object-lock-legal-hold"


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp (UTC when no offset); None if malformed."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _lock_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def lock_header(request: S3Request) -> Lock | None:
    """The object lock a write names in x-amz-object-lock-*; None when it names none.

    Mode and date come together. Whether the bucket allows them and whether
    the date is ahead are the core's rules.
    """
    mode, until, hold = (request.header(n) for n in (LOCK_MODE, LOCK_UNTIL, LOCK_HOLD))
    if mode is None and until is None and hold is None:
        return None
    lock = Lock()
    if mode is not None or until is not None:
        if mode is None or until is None:
            missing = LOCK_MODE if mode is None else LOCK_UNTIL
            raise _lock_argument(f"{LOCK_UNTIL} and {LOCK_MODE} must both be supplied", missing, "")
        if mode not in (LockMode.GOVERNANCE, LockMode.COMPLIANCE):
            raise _lock_argument("Unknown wormMode directive.", LOCK_MODE, mode)
        at = parse_timestamp(until)
        if at is None:
            raise _lock_argument(
                "The retain until date must be provided in ISO 8601 format", LOCK_UNTIL, until
            )
        lock = Lock(LockMode(mode), at)
    if hold is not None:
        if hold not in ("ON", "OFF"):
            raise _lock_argument("Legal Hold must be either of 'ON' or 'OFF'", LOCK_HOLD, hold)
        lock = Lock(lock.mode, lock.until, hold == "ON")
    return lock


def lock_headers(lock: Lock) -> Headers:
    """What GET and HEAD say of a version's lock (of the legal hold, only once placed)."""
    headers: Headers = []
    if lock.mode is not LockMode.NONE:
        headers.append((LOCK_MODE, lock.mode.value))
        headers.append((LOCK_UNTIL, iso_date(lock.until)))
    if lock.legal_hold is not None:
        headers.append((LOCK_HOLD, "ON" if lock.legal_hold else "OFF"))
    return headers


TAGGING_HEADER_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
    "parameters without tag name duplicates."
)


def parse_tagging_header(value: str) -> dict[str, str]:
    """Tags from an x-amz-tagging value: URL query form, "k1=v1&k2=v2".

    A key without "=" has an empty value. An empty key, a duplicate key or
    bytes that are not UTF-8 (the header arrives as latin-1 text) are
    InvalidArgument; whether the tags themselves are valid is the core's rule.
    """
    try:
        text = value.encode("latin-1").decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        raise S3Error(400, "InvalidArgument", TAGGING_HEADER_MESSAGE) from None
    tags: dict[str, str] = {}
    for key, tag_value in pairs:
        if not key or key in tags:
            raise S3Error(400, "InvalidArgument", TAGGING_HEADER_MESSAGE)
        tags[key] = tag_value
    return tags


def tagging_header(request: S3Request) -> dict[str, str]:
    value = request.header("x-amz-tagging")
    return parse_tagging_header(value) if value is not None else {}


def copy_tags(request: S3Request) -> dict[str, str] | None:
    """The tags a CopyObject gives its copy; None keeps the source's (directive COPY)."""
    directive = (request.header("x-amz-tagging-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(400, "InvalidArgument", "Unknown tagging directive.")
    return tagging_header(request) if directive == "REPLACE" else None


def object_headers(version: ObjectVersion, *, checksums: bool, versioned: bool) -> Headers:
    headers: Headers = [
        ("etag", f'"{version.etag}"'),
        ("last-modified", http_date(version.modified)),
        ("content-type", version.content_type or "binary/octet-stream"),
        ("accept-ranges", "bytes"),
    ]
    headers.extend(version.headers.items())
    headers.extend((META_PREFIX + k, v) for k, v in version.meta.items())
    headers.extend(sse_response_headers(version.sse))
    if versioned:
        headers.append(("x-amz-version-id", versions.to_s3(version.version_id)))
    if checksums:
        for algorithm, value in version.checksums.items():
            headers.append((f"x-amz-checksum-{algorithm.lower()}", value))
        if version.checksum_type:
            headers.append(("x-amz-checksum-type", version.checksum_type))
    if version.tags:
        headers.append(("x-amz-tagging-count", str(len(version.tags))))
    return headers


def apply_overrides(headers: Headers, query: Mapping[str, str]) -> Headers:
    overrides = {RESPONSE_OVERRIDES[k]: v for k, v in query.items() if k in RESPONSE_OVERRIDES}
    if not overrides:
        return headers
    kept = [(k, v) for k, v in headers if k not in overrides]
    return kept + list(overrides.items())
