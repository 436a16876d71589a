"""Conditional writes and deletes as S3 spells them, read into `WriteCondition`s.

Writes (PutObject, CopyObject's destination, CompleteMultipartUpload) take
If-Match and If-None-Match with their RFC 7232 meaning: a list of ETags or
`*`. Deletes take If-Match, `x-amz-if-match-last-modified-time` and
`x-amz-if-match-size` (DeleteObject), or the ETag, LastModifiedTime and Size
elements of an Object (DeleteObjects). The meta store checks the condition
in the transaction that writes or deletes; nothing here looks at an object.
"""

from __future__ import annotations

import datetime
import math

from dolium.conditions import WriteCondition
from dolium.core.objects.conditions import parse_http_date
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire.http import S3Request

LAST_MODIFIED = "x-amz-if-match-last-modified-time"
SIZE = "x-amz-if-match-size"


def _given(value: str | None) -> str | None:
    """A condition header's value; an empty one is no condition (RFC 7232)."""
    return value.strip() or None if value is not None else None


def write_condition(request: S3Request) -> WriteCondition | None:
    """If-Match / If-None-Match of a write; None when it has neither."""
    if_match = _given(request.header("if-match"))
    if_none_match = _given(request.header("if-none-match"))
    if if_match is None and if_none_match is None:
        return None
    none_match: bool | str = False
    if if_none_match is not None:
        none_match = True if if_none_match == "*" else if_none_match
    return WriteCondition(if_match=if_match, if_none_match=none_match)


def _argument(name: str, value: str) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        f"Invalid value for {name}",
        ArgumentName=name,
        ArgumentValue=value,
    )


def _iso(value: str) -> float | None:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _seconds(name: str, value: str) -> int:
    """Whole seconds of a timestamp: an HTTP date (what SDKs send in a header) or ISO 8601."""
    when: float | None = parse_http_date(value)
    if when is None:
        when = _iso(value)
    if when is None or not math.isfinite(when):
        raise _argument(name, value)
    return math.floor(when)


def _size(name: str, value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise _argument(name, value)
    return int(value)


def object_condition(
    etag: str | None, modified: str | None, size: str | None, *, names: tuple[str, str, str]
) -> WriteCondition | None:
    """The condition of one delete from its three parts (None: absent); `names` are what
    the request calls them, for errors."""
    etag, modified, size = _given(etag), _given(modified), _given(size)
    if etag is None and modified is None and size is None:
        return None
    return WriteCondition(
        if_match=etag,
        modified=_seconds(names[1], modified) if modified is not None else None,
        size=_size(names[2], size) if size is not None else None,
    )


def delete_condition(request: S3Request) -> WriteCondition | None:
    """What a DeleteObject asks of the object it deletes; None for an unconditional delete.

    If-None-Match has no meaning S3 gives it on a delete and is ignored.
    """
    return object_condition(
        request.header("if-match"),
        request.header(LAST_MODIFIED),
        request.header(SIZE),
        names=("If-Match", LAST_MODIFIED, SIZE),
    )
