"""Byte ranges and conditional requests (RFC 7233 / RFC 7232) as S3 applies them.

Inputs are header values as strings; outputs are plain values or domain
errors. Nothing here knows the request or the response object.

Ranges: S3 serves a single byte range. A header it cannot use (not
"bytes=", bad syntax, first > last, several ranges) is ignored and the whole
object is served; a well-formed range that selects nothing is InvalidRange.

Conditions: If-Match / If-Unmodified-Since fail with PreconditionFailed,
If-None-Match / If-Modified-Since with NotModified (on a read) or
PreconditionFailed (when they are conditions on the source of a copy). An
ETag condition, when present, makes its date twin irrelevant: If-Match true
with If-Unmodified-Since false is a success, and If-None-Match false with
If-Modified-Since true is a failure, as S3 documents.
"""

from __future__ import annotations

import calendar
import email.utils
import re
from typing import NamedTuple

from dolium import errors
from dolium.conditions import bare_etag, etag_in

# --------------------------------------------------------------------------- ranges


class ByteRange(NamedTuple):
    """An inclusive byte range inside an object."""

    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


_RANGE_SPEC_RE = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
_UNIT_PREFIX = "bytes="
# Positions past 2^64 cannot name a byte of any object; parsing them exactly
# would only let a client make the server convert huge digit strings.
_HUGE = 1 << 64


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _HUGE if len(digits) > 20 else int(digits)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve for a Range header on an object of `size` bytes.

    None means: ignore the header and serve the whole object (200). The end
    of a range past the object is clamped; a suffix longer than the object
    selects all of it. InvalidRange (416) when the range is well-formed but
    unsatisfiable: its start is at or past the end, the suffix is empty, or
    the object is empty. The error's context carries `range_requested` and
    `actual_object_size`, which S3 reports.
    """
    if not header:
        return None
    value = header.strip()
    if value[: len(_UNIT_PREFIX)].lower() != _UNIT_PREFIX:
        return None
    spec = value[len(_UNIT_PREFIX) :].strip()
    match = _RANGE_SPEC_RE.fullmatch(spec)
    if match is None:  # includes several ranges: S3 serves the whole object
        return None
    first, last = match.groups()
    if not first and not last:
        return None

    def unsatisfiable() -> errors.InvalidRange:
        return errors.InvalidRange(
            f"the range {value!r} holds no byte of {size}",
            range_requested=value,
            actual_object_size=size,
        )

    if not first:  # suffix: the last N bytes
        suffix = _position(last)
        if suffix == 0 or size <= 0:
            raise unsatisfiable()
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    if last:
        end = _position(last)
        if end < start:
            return None  # syntactically invalid per RFC 7233: ignored
    else:
        end = size - 1
    if start >= size:
        raise unsatisfiable()
    return ByteRange(start, min(end, size - 1))


def content_range(byte_range: ByteRange, size: int) -> str:
    """Content-Range of a 206 answer: "bytes 0-9/100"."""
    return f"bytes {byte_range.start}-{byte_range.end}/{size}"


def unsatisfied_content_range(size: int) -> str:
    """Content-Range of a 416 answer: "bytes */100"."""
    return f"bytes */{size}"


# --------------------------------------------------------------------------- dates


def parse_http_date(value: str | None) -> int | None:
    """Seconds since the epoch in an HTTP date, or None when it cannot be read.

    Accepts the three forms of RFC 7231 (IMF-fixdate, RFC 850, asctime); a
    date without a zone is UTC.
    """
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_tz(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    try:
        timestamp = calendar.timegm(parsed[:9]) - (parsed[9] or 0)
    except (TypeError, ValueError, OverflowError):
        return None
    return timestamp


def format_http_date(timestamp: float) -> str:
    """IMF-fixdate of a timestamp (seconds are truncated, as in Last-Modified)."""
    return email.utils.formatdate(int(timestamp), usegmt=True)


# --------------------------------------------------------------------------- ETags


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names `etag` (or is "*").

    Comparison is on the opaque tag: quotes and a weak "W/" prefix are
    ignored on both sides, and unquoted tags (which many S3 clients send)
    are accepted. The meta stores check write conditions by the same rule.
    """
    return etag_in(header, etag)


# --------------------------------------------------------------------------- conditions


def check_preconditions(
    etag: str,
    modified: float,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
    copy_source: bool = False,
) -> None:
    """Evaluate conditional headers against an existing object; return if it is served.

    `etag` is the object's ETag (quoted or not), `modified` its last
    modification time (seconds since the epoch; compared at one-second
    resolution, as Last-Modified is sent). Empty or absent headers are not
    conditions; an unreadable date is ignored.

    With `copy_source`, the conditions are on the source of a copy, and
    every failure is PreconditionFailed. Otherwise a failing If-None-Match or
    If-Modified-Since is NotModified (304). PreconditionFailed carries the
    failing condition in its context as `condition` (If-Match, ...), and
    `source=True` when it was on the source of a copy.
    """
    seconds = int(modified)

    def failed(header: str) -> errors.PreconditionFailed:
        message = f"the {header} condition does not hold"
        if copy_source:
            return errors.PreconditionFailed(message, condition=header.title(), source=True)
        return errors.PreconditionFailed(message, condition=header.title())

    def not_modified(header: str) -> errors.DoliumError:
        if copy_source:
            return failed(header)
        return errors.NotModified(etag=bare_etag(etag), modified=modified)

    if if_match and if_match.strip():
        if not etag_matches(if_match, etag):
            raise failed("if-match")
    else:
        date = parse_http_date(if_unmodified_since)
        if date is not None and seconds > date:
            raise failed("if-unmodified-since")

    if if_none_match and if_none_match.strip():
        if etag_matches(if_none_match, etag):
            raise not_modified("if-none-match")
    else:
        date = parse_http_date(if_modified_since)
        if date is not None and seconds <= date:
            raise not_modified("if-modified-since")


def check_read(
    etag: str,
    modified: float,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> None:
    """Conditions of GetObject / HeadObject: 412 PreconditionFailed or 304 NotModified."""
    check_preconditions(
        etag,
        modified,
        if_match=if_match,
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        if_unmodified_since=if_unmodified_since,
    )


def check_copy_source(
    etag: str,
    modified: float,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> None:
    """Conditions on the source of a copy: any failure is 412."""
    check_preconditions(
        etag,
        modified,
        if_match=if_match,
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        if_unmodified_since=if_unmodified_since,
        copy_source=True,
    )
