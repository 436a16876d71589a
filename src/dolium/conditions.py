"""Conditional writes and deletes: the condition, and its check against the key's
current object.

Shared by the meta stores, which check inside the transaction of the write,
and the core, which checks a delete's condition before it decides what to
delete: one rule, so that every store and path refuses alike.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from dolium.errors import NoSuchKey, PreconditionFailed


def bare_etag(etag: str) -> str:
    """An entity tag without its quotes and weak prefix: what ETag lists compare."""
    etag = etag.strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    if len(etag) >= 2 and etag[0] == '"' and etag[-1] == '"':
        etag = etag[1:-1]
    return etag


def etag_in(etags: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list (comma-separated, or "*") names `etag`.

    Object ETags are hex digits and "-N", so a comma never occurs inside one.
    """
    target = bare_etag(etag)
    for item in etags.split(","):
        candidate = item.strip()
        if candidate == "*" or (candidate and bare_etag(candidate) == target):
            return True
    return False


def _seconds_of(modified: float) -> tuple[int, int]:
    """The whole second a time is shown as: in headers (truncated) and in XML
    listings (rounded to the millisecond first), which can differ by one."""
    return int(modified), int(round(modified, 3))


class ConditionFailure(enum.Enum):
    """Why a WriteCondition does not hold."""

    MISSING = "missing"  # it needs a current object and there is none
    FAILED = "failed"  # the current object is not the one it names


@dataclass(frozen=True, slots=True)
class WriteCondition:
    """Test-and-set condition a meta store checks inside its write transaction.

    All of it is evaluated against the key's current object (its latest
    version, unless that is a delete marker), with RFC 7232's meaning:
    `if_match`: a list of ETags or "*"; the write needs a current object
    named by it. `if_none_match`: "*" (True) or a list of ETags; the write
    fails when there is a current object it names, and holds when there is
    none. `size` / `modified` (whole seconds): the current object must have
    them; they hold when there is no current object (conditional deletes,
    as S3 documents them).
    """

    if_match: str | None = None
    if_none_match: bool | str = False
    size: int | None = None
    modified: int | None = None

    def failure(
        self, current: bool, etag: str = "", size: int = 0, modified: float = 0.0
    ) -> ConditionFailure | None:
        """What fails when the key's current object is (`current`) one of this
        `etag`, `size` and `modified` time, or is absent (not `current`)."""
        if self.if_match is not None:
            if not current:
                return ConditionFailure.MISSING
            if not etag_in(self.if_match, etag):
                return ConditionFailure.FAILED
        if current and self.if_none_match:
            none_match = "*" if self.if_none_match is True else str(self.if_none_match)
            if etag_in(none_match, etag):
                return ConditionFailure.FAILED
        if current and self.size is not None and size != self.size:
            return ConditionFailure.FAILED
        if current and self.modified is not None and self.modified not in _seconds_of(modified):
            return ConditionFailure.FAILED
        return None


class Current(Protocol):
    """What a condition looks at: an ObjectVersion, or a row of one."""

    @property
    def delete_marker(self) -> bool: ...
    @property
    def etag(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def modified(self) -> float: ...


def check_condition(condition: WriteCondition | None, latest: Current | None) -> None:
    """Raise unless `condition` holds for `latest` (None or a delete marker: no object)."""
    if condition is None:
        return
    if latest is None or latest.delete_marker:
        failure = condition.failure(False)
    else:
        failure = condition.failure(True, latest.etag, latest.size, latest.modified)
    if failure is ConditionFailure.MISSING:
        raise NoSuchKey("no object to match the condition")
    if failure is ConditionFailure.FAILED:
        raise PreconditionFailed("the object is not the one the condition names")
