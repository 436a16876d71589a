"""Object Lock (WORM): a bucket's default retention, a version's retention and
legal hold, and the one rule that says whether a version may be removed.

A bucket gets Object Lock at creation, or later once its versioning is
Enabled; from then on it cannot be turned off and versioning cannot be
suspended. New versions take the bucket's default retention unless the write
names its own. A version is protected while it is under legal hold, or while
its retain-until date is ahead: COMPLIANCE protects it from everyone,
GOVERNANCE from everyone who does not both ask to bypass it and hold
Action.BYPASS_RETENTION. Protection never stops new versions or delete
markers from being added; it stops a version from being removed for good,
and its retention from being weakened.

The default retention is kept in `Bucket.configs["object_lock"]` as JSON
{"Mode": ..., "Days": n} or {"Mode": ..., "Years": n}; no entry, no default.
This module knows no HTTP and no XML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.core.objects.finder import VersionFinder
from dolium.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidBucketState,
    InvalidRequest,
    Problem,
)
from dolium.model import NO_LOCK, Bucket, Lock, LockMode, ObjectVersion, Principal, Versioning
from dolium.protocols.meta import Guard

CONFIG = "object_lock"
DAY = 86400.0
# S3 counts a year as 365 days, and bounds a default period at 100 years.
YEAR_DAYS = 365
MAX_DAYS = 36500
MAX_YEARS = 100

LOCKED_MESSAGE = "A retention or legal hold protects the version."
NO_LOCK_MESSAGE = "The bucket does not have Object Lock."


@dataclass(frozen=True, slots=True)
class DefaultRetention:
    """A bucket's default retention: a mode and a period in days or in years."""

    mode: LockMode
    days: int = 0
    years: int = 0

    def until(self, start: float) -> float:
        return start + (self.days or self.years * YEAR_DAYS) * DAY


def validate_default(default: DefaultRetention) -> DefaultRetention:
    if default.mode is LockMode.NONE or bool(default.days) == bool(default.years):
        raise InvalidArgument("A default retention needs a mode and a period in days or in years.")
    name, value, limit = (
        ("days", default.days, MAX_DAYS) if default.days else ("years", default.years, MAX_YEARS)
    )
    if value <= 0:
        raise InvalidArgument(
            f"A default retention period is a positive number of {name}.",
            problem=Problem.RETENTION_NOT_POSITIVE,
            argument=name,
        )
    if value > limit:
        raise InvalidArgument(
            f"A default retention period is at most {limit} {name}.",
            problem=Problem.RETENTION_TOO_LONG,
            argument=name,
        )
    return default


def default_retention(bucket: Bucket) -> DefaultRetention | None:
    text = bucket.configs.get(CONFIG)
    if not text:
        return None
    doc = json.loads(text)
    return DefaultRetention(
        LockMode(doc["Mode"]), int(doc.get("Days", 0)), int(doc.get("Years", 0))
    )


def _dump_default(default: DefaultRetention) -> str:
    period = {"Days": default.days} if default.days else {"Years": default.years}
    return json.dumps({"Mode": default.mode.value, **period})


# --------------------------------------------------------------------------- the rules


def retained(lock: Lock, now: float) -> bool:
    """Whether a retention period is still running."""
    return lock.mode is not LockMode.NONE and lock.until > now


def removable(lock: Lock, now: float, bypass: bool = False) -> bool:
    """Whether a version with `lock` may be removed for good.

    The one place that decides it: deletes, DeleteObjects and lifecycle all
    ask here. `bypass` means the caller asked to bypass GOVERNANCE and may.
    """
    if lock.legal_hold:
        return False
    if not retained(lock, now):
        return True
    return lock.mode is LockMode.GOVERNANCE and bypass


def check_removable(version: ObjectVersion, now: float, bypass: bool = False) -> None:
    if not removable(version.lock, now, bypass):
        raise AccessDenied(
            LOCKED_MESSAGE,
            problem=Problem.OBJECT_LOCKED,
            key=version.key,
            version_id=version.version_id,
        )


def removal_guard(now: float, bypass: bool = False) -> Guard:
    """check_removable as a meta store guard: checked in the deleting transaction,
    so a retention or legal hold placed a moment before is honoured."""
    return lambda version: check_removable(version, now, bypass)


def weakens(old: Lock, mode: LockMode, until: float) -> bool:
    """Whether replacing `old`'s retention by (mode, until) lowers its protection.

    Keeping the mode and keeping or extending the date does not; removing
    it, shortening it or changing the mode (either way) does.
    """
    return mode is not old.mode or until < old.until


def check_retention_change(
    old: Lock, mode: LockMode, until: float, now: float, bypass: bool
) -> None:
    if not retained(old, now) or not weakens(old, mode, until):
        return
    if old.mode is LockMode.COMPLIANCE or not bypass:
        raise AccessDenied(LOCKED_MESSAGE, problem=Problem.OBJECT_LOCKED)


def check_future(until: float, now: float) -> None:
    if until <= now:
        raise InvalidArgument(
            "A retention ends in the future.", problem=Problem.RETAIN_UNTIL_PAST, argument="until"
        )


async def may_bypass(
    ctx: Context, principal: Principal, bucket: Bucket, key: str, requested: bool
) -> bool:
    """GOVERNANCE is bypassed only when asked for and allowed."""
    if not requested:
        return False
    return await ctx.may(principal, bucket, Action.BYPASS_RETENTION, key)


def requested_lock(bucket: Bucket, requested: Lock | None, now: float) -> Lock | None:
    """Check the lock a write names (None: it names none) against the bucket."""
    if requested is None:
        return None
    # S3 answers a past date before it looks at the bucket.
    if requested.mode is not LockMode.NONE:
        check_future(requested.until, now)
    if not bucket.object_lock:
        raise InvalidRequest(NO_LOCK_MESSAGE, problem=Problem.NO_OBJECT_LOCK_FOR_WRITE)
    return requested


def needs_integrity(bucket: Bucket, requested: Lock | None) -> bool:
    """Whether a PutObject must carry Content-MD5 or a checksum: it has lock parameters,
    its own or the bucket's default retention."""
    return requested is not None or (bucket.object_lock and default_retention(bucket) is not None)


def new_version_lock(bucket: Bucket, requested: Lock | None, created: float) -> Lock:
    """The lock a version created at `created` gets: its own retention, or the default."""
    if not bucket.object_lock:
        return NO_LOCK
    lock = requested or NO_LOCK
    default = default_retention(bucket)
    if lock.mode is LockMode.NONE and default is not None:
        lock = replace(lock, mode=default.mode, until=default.until(created))
    return lock


# --------------------------------------------------------------------------- the service


class ObjectLock:
    def __init__(self, ctx: Context, objects: VersionFinder) -> None:
        self.ctx = ctx
        self.objects = objects

    async def get_config(
        self, principal: Principal, bucket_name: str
    ) -> tuple[bool, DefaultRetention | None]:
        """(enabled, default retention) of the bucket."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.READ_SETTING, setting=Setting.OBJECT_LOCK
        )
        return bucket.object_lock, default_retention(bucket) if bucket.object_lock else None

    async def put_config(
        self, principal: Principal, bucket_name: str, default: DefaultRetention | None
    ) -> Bucket:
        """Enable Object Lock (for good) and set or clear the default retention.

        S3 lets a bucket without Object Lock have it once its versioning is
        Enabled, which it then stays.
        """
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.WRITE_SETTING, setting=Setting.OBJECT_LOCK
        )
        if default is not None:
            validate_default(default)
        if not bucket.object_lock:
            if bucket.versioning != Versioning.ENABLED:
                raise InvalidBucketState(
                    "Object Lock needs versioning enabled first.",
                    problem=Problem.LOCK_NEEDS_VERSIONING,
                    bucket=bucket.name,
                )
            bucket = replace(bucket, object_lock=True)
            await self.ctx.meta.update_bucket(bucket, actor=principal.actor)
        document = _dump_default(default) if default is not None else None
        return await self.ctx.meta.set_bucket_config(
            bucket.name, CONFIG, document, actor=principal.actor
        )

    async def visible_lock(
        self, principal: Principal, bucket: Bucket, version: ObjectVersion
    ) -> Lock:
        """What of `version`'s lock `principal` may see (see the function of that name)."""
        return await visible_lock(self.ctx, principal, bucket, version)

    async def _version(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        version_id: str | None,
        action: Action,
    ) -> tuple[Bucket, ObjectVersion]:
        bucket = await self.ctx.bucket(principal, bucket_name, action, key, version_id=version_id)
        if not bucket.object_lock:
            raise InvalidRequest(
                NO_LOCK_MESSAGE, problem=Problem.NO_OBJECT_LOCK, bucket=bucket.name
            )
        return bucket, await self.objects.find(bucket, key, version_id)

    async def get_retention(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectVersion:
        """The version whose retention to show (its `lock.mode` is NONE when it has none)."""
        _, version = await self._version(
            principal, bucket_name, key, version_id, Action.READ_RETENTION
        )
        return version

    async def put_retention(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        mode: LockMode,
        until: float,
        *,
        version_id: str | None = None,
        bypass: bool = False,
    ) -> ObjectVersion:
        """Set a version's retention; mode NONE removes it (GOVERNANCE with bypass only)."""
        bucket, version = await self._version(
            principal, bucket_name, key, version_id, Action.WRITE_RETENTION
        )
        now = self.ctx.clock()
        if mode is LockMode.NONE:
            until = 0.0
        else:
            check_future(until, now)
        allowed = await may_bypass(self.ctx, principal, bucket, key, bypass)

        def guard(stored: ObjectVersion) -> None:
            # Checked against the stored lock, in the transaction that changes it.
            check_retention_change(stored.lock, mode, until, now, allowed)

        updated = replace(version, lock=replace(version.lock, mode=mode, until=until))
        return await self.ctx.meta.update_version(
            updated, ("retention",), guard, actor=principal.actor
        )

    async def get_legal_hold(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectVersion:
        _, version = await self._version(
            principal, bucket_name, key, version_id, Action.READ_LEGAL_HOLD
        )
        return version

    async def put_legal_hold(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        on: bool,
        version_id: str | None = None,
    ) -> ObjectVersion:
        """Place or remove a legal hold: anyone allowed WRITE_LEGAL_HOLD may, at will."""
        _, version = await self._version(
            principal, bucket_name, key, version_id, Action.WRITE_LEGAL_HOLD
        )
        updated = replace(version, lock=replace(version.lock, legal_hold=on))
        return await self.ctx.meta.update_version(updated, ("legal_hold",), actor=principal.actor)


async def visible_lock(
    ctx: Context, principal: Principal, bucket: Bucket, version: ObjectVersion
) -> Lock:
    """The parts of a version's lock a reader may see on GET/HEAD: retention with
    READ_RETENTION, the legal hold with READ_LEGAL_HOLD."""
    lock = version.lock
    if lock == NO_LOCK:
        return lock
    if not await ctx.may(principal, bucket, Action.READ_RETENTION, version.key):
        lock = replace(lock, mode=LockMode.NONE, until=0.0)
    if not await ctx.may(principal, bucket, Action.READ_LEGAL_HOLD, version.key):
        lock = replace(lock, legal_hold=None)
    return lock
