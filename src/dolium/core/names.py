"""Validation of bucket names and object keys.

Pure functions that raise domain errors; they know nothing of HTTP. Rules of
one API only (S3's 2 KB of user metadata) are checked by that front end.
"""

from __future__ import annotations

import re

from dolium import errors

MAX_KEY_BYTES = 1024
MAX_CONTAINER_BYTES = 256

# General purpose bucket rules: 3-63 characters of [a-z0-9.-], starting and
# ending with a letter or digit.
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", re.ASCII)
_IP_LIKE_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)
# Reserved by AWS for other resources (punycode, access point aliases,
# Multi-Region Access Points, directory and table buckets, documentation).
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Paths the server answers itself (the admin API, metrics, health probes):
# a bucket of one of these names could not be reached path-style.
RESERVED_BUCKET_NAMES = frozenset({"admin", "metrics", "health"})


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a valid bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "must be between 3 and 63 characters long"
    if not _BUCKET_RE.fullmatch(name):
        return (
            "may contain only lowercase letters, digits, periods and hyphens,"
            " and must begin and end with a letter or digit"
        )
    if ".." in name:
        return "must not contain two adjacent periods"
    if ".-" in name or "-." in name:
        # S3 refuses them: a DNS label may neither begin nor end with a hyphen.
        return "must not have a hyphen next to a period"
    if _IP_LIKE_RE.fullmatch(name):
        return "must not be formatted as an IP address"
    if name in RESERVED_BUCKET_NAMES:
        return "is reserved for the server's own endpoints (/admin, /metrics, /health)"
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r}"
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with {suffix!r}"
    return None


def validate_container_name(name: str) -> None:
    """InvalidArgument unless `name` is 1-256 bytes of UTF-8 without "/".

    The rule for containers made by any API; S3 creates only those whose
    name is also a valid bucket name (`validate_bucket_name`).
    """
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError as exc:  # lone surrogates: not valid UTF-8
        raise errors.InvalidArgument(
            "A container name must be valid UTF-8.", argument_name="container"
        ) from exc
    if not 1 <= size <= MAX_CONTAINER_BYTES or "/" in name:
        raise errors.InvalidArgument(
            f"A container name is 1 to {MAX_CONTAINER_BYTES} bytes of UTF-8 without '/'.",
            argument_name="container",
        )


def is_valid_bucket_name(name: str) -> bool:
    return bucket_name_problem(name) is None


def validate_bucket_name(name: str) -> None:
    """InvalidBucketName unless `name` follows the general purpose bucket rules."""
    problem = bucket_name_problem(name)
    if problem is not None:
        raise errors.InvalidBucketName(
            "The specified bucket is not valid.", bucket_name=name, reason=problem
        )


def key_size(key: str) -> int:
    """Length of a key in UTF-8 bytes, the measure S3's 1024 limit uses."""
    return len(key.encode("utf-8"))


def validate_key(key: str) -> None:
    """Check an object key: non-empty, valid UTF-8, at most 1024 bytes of it.

    An empty key never reaches an object operation in S3 (the request names
    the bucket instead); an operation that is given one explicitly, as in
    DeleteObjects or CopyObject, gets InvalidArgument.
    """
    if not key:
        raise errors.InvalidArgument("The object key must not be empty.", argument_name="key")
    try:
        size = key_size(key)
    except UnicodeEncodeError as exc:  # lone surrogates: not valid UTF-8
        raise errors.InvalidArgument(
            "The object key is not valid UTF-8.", argument_name="key"
        ) from exc
    if size > MAX_KEY_BYTES:
        raise errors.KeyTooLong("Your key is too long", size=size, max_size_allowed=MAX_KEY_BYTES)
