"""Checking a conditional write or delete against the key's current object.

Shared by the meta stores, which check inside the transaction of the write,
and the core, which checks a delete's condition before it decides what to
delete: one rule, so that every store and path refuses alike.
"""

from __future__ import annotations

from typing import Protocol

from dolium.errors import NoSuchKey, PreconditionFailed
from dolium.model import ConditionFailure, WriteCondition


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
