"""Applying bucket lifecycle rules: `apply` walks one bucket, `LifecycleWorker`
walks every bucket with a configuration, now or on an interval.

What it does: expires current versions, removes noncurrent versions, removes
expired object delete markers (a delete marker with no version beneath it),
and aborts incomplete multipart uploads. The rules themselves, their checks
and their storage are `dolium.core.buckets.lifecycle`'s.

Time, as S3 counts it: an action due `Days` after an instant falls due at the
first midnight UTC at or after instant + Days. A current version counts from
its creation; a noncurrent version from when it became noncurrent, which is
when its successor (the next newer version) was created.

Whether a version may be removed at all is decided in one place, `deletable`.

`apply` walks a bucket page by page and never holds more than one page of
versions and one key's state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dolium.core.buckets.lifecycle import CONFIG, DAY, Expiration, Rule, bucket_rules
from dolium.core.clock import Clock
from dolium.core.context import Context
from dolium.core.objects import object_lock
from dolium.core.objects.delete import delete_current
from dolium.errors import AccessDenied, NoSuchUpload
from dolium.model import SERVER, UNVERSIONED_ID, Bucket, ObjectVersion, Versioning

log = logging.getLogger(__name__)


def deletable(version: ObjectVersion, now: float) -> bool:
    """Whether lifecycle may remove `version` for good: not under legal hold or retention.

    Object lock decides it (`object_lock.removable`); lifecycle never bypasses
    GOVERNANCE.
    """
    return object_lock.removable(version.lock, now)


def due_after(start: float, days: int, day: float = DAY) -> float:
    """`days` after `start`, rounded up to midnight UTC (a midnight is its own ceiling).

    `day`: seconds in a day; shorter ones let a test see rules act in seconds.
    """
    at = start + days * day
    return at if at % day == 0 else (at // day + 1) * day


@dataclass
class LifecycleReport:
    bucket: str
    scanned: int = 0  # versions and delete markers read
    expired: int = 0  # current versions expired (deleted, or hidden by a delete marker)
    noncurrent_removed: int = 0  # noncurrent versions and delete markers removed
    markers_removed: int = 0  # expired object delete markers removed
    uploads_aborted: int = 0
    locked: int = 0  # versions due but kept by object lock


@dataclass
class _Key:
    """What the walk remembers of the key it is in."""

    name: str
    # The latest version, when it is a delete marker: removed at the end of
    # the key if nothing remains beneath it.
    marker: ObjectVersion | None = None
    # When the version read last was created: the next (older) one became
    # noncurrent then.
    successor_created: float = 0.0
    kept_noncurrent: int = 0  # noncurrent versions read so far that stay
    # A suspended bucket's expiry put a delete marker in the unversioned slot
    # in place of the version there, so an unversioned entry still in the
    # page is stale.
    unversioned_replaced: bool = False


@dataclass
class _Walk:
    ctx: Context
    bucket: Bucket
    rules: tuple[Rule, ...]
    now: float
    report: LifecycleReport
    day: float = DAY

    async def current(self, version: ObjectVersion, key: _Key) -> None:
        key.successor_created = version.modified
        if version.delete_marker:
            key.marker = version
            return
        due = _earliest(
            due_after(version.modified, r.expiration.days, self.day)
            if r.expiration.days is not None
            else r.expiration.date
            for r in self._applying(version)
            if r.expiration is not None
        )
        if due is None or self.now < due:
            return
        bucket = self.bucket
        # The version the expiry removes for good, if any: the object itself
        # in a bucket never versioned; with versioning suspended, the version
        # in the unversioned slot, which the delete marker put there replaces
        # wherever it is.
        replaced: ObjectVersion | None = None
        if bucket.versioning == Versioning.UNVERSIONED:
            replaced = version
        elif bucket.versioning == Versioning.SUSPENDED:
            replaced = (
                version
                if version.version_id == UNVERSIONED_ID
                else await self.ctx.meta.get_version(bucket.name, version.key, UNVERSIONED_ID)
            )
        if replaced is not None and not deletable(replaced, self.now):
            self.report.locked += 1
            return
        await delete_current(self.ctx, bucket, version.key, bucket.owner, actor=SERVER)
        self.report.expired += 1
        key.unversioned_replaced = replaced is not None
        if replaced is not version:
            key.kept_noncurrent += 1  # it stays, as the newest noncurrent version

    async def noncurrent(self, version: ObjectVersion, key: _Key) -> None:
        since, key.successor_created = key.successor_created, version.modified
        if key.unversioned_replaced and version.version_id == UNVERSIONED_ID:
            return
        due = _earliest(
            due_after(since, r.noncurrent.days, self.day)
            for r in self._applying(version)
            if r.noncurrent is not None
            and r.noncurrent.days is not None
            and (r.noncurrent.newer_versions or 0) <= key.kept_noncurrent
        )
        if due is not None and self.now >= due:
            try:
                # Object lock is checked where the version is removed, in one transaction.
                await self.ctx.meta.delete_version(
                    self.bucket.name,
                    version.key,
                    version.version_id,
                    object_lock.removal_guard(self.now),
                    actor=SERVER,
                )
            except AccessDenied:
                self.report.locked += 1
            else:
                self.report.noncurrent_removed += 1
                return
        key.kept_noncurrent += 1

    async def finish(self, key: _Key) -> None:
        marker = key.marker
        if marker is None or key.kept_noncurrent:
            return
        # A delete marker alone: due at once under ExpiredObjectDeleteMarker,
        # and under Expiration Days once it is that old, as S3 does.
        due = _earliest(
            _marker_due(r.expiration, marker, self.now, self.day) for r in self._applying(marker)
        )
        if due is not None and self.now >= due:
            await self.ctx.meta.delete_version(
                self.bucket.name, marker.key, marker.version_id, actor=SERVER
            )
            self.report.markers_removed += 1

    def _applying(self, version: ObjectVersion) -> Iterable[Rule]:
        # A delete marker has no tags and counts as size 0.
        tags = {} if version.delete_marker else version.tags
        size = 0 if version.delete_marker else version.size
        return (r for r in self.rules if r.scope.matches(version.key, tags, size))


def _marker_due(
    expiration: Expiration | None, marker: ObjectVersion, now: float, day: float = DAY
) -> float | None:
    if expiration is None:
        return None
    if expiration.expired_object_delete_marker:
        return now
    if expiration.days is not None:
        return due_after(marker.modified, expiration.days, day)
    return None


def _common_prefix(prefixes: Sequence[str]) -> str:
    """The longest string every one of `prefixes` starts with."""
    first, last = min(prefixes), max(prefixes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def _earliest(times: Iterable[float | None]) -> float | None:
    found = [t for t in times if t is not None]
    return min(found) if found else None


async def apply(
    ctx: Context, bucket: Bucket, now: float, *, page: int = 1000, day: float = DAY
) -> LifecycleReport:
    """Apply the bucket's enabled rules as of `now`, one page of versions at a time;
    `day`: seconds in a lifecycle day (`lifecycle_day`)."""
    report = LifecycleReport(bucket.name)
    rules = tuple(r for r in bucket_rules(bucket) or () if r.enabled)
    if not rules:
        return report
    prefix = _common_prefix([r.scope.key_prefix for r in rules])
    walk = _Walk(ctx, bucket, rules, now, report, day)
    if any(r.expiration is not None or r.noncurrent is not None for r in rules):
        await _walk_versions(walk, prefix, page)
    if any(r.abort_days is not None for r in rules):
        await _abort_uploads(walk, prefix, page)
    return report


async def _walk_versions(walk: _Walk, prefix: str, page: int) -> None:
    after: tuple[str, int] | None = None
    key: _Key | None = None
    while True:
        versions = await walk.ctx.meta.list_versions(
            walk.bucket.name, prefix=prefix, after=after, limit=page
        )
        for version in versions:
            walk.report.scanned += 1
            if key is None or version.key != key.name:
                if key is not None:
                    await walk.finish(key)
                key = _Key(version.key)
                await walk.current(version, key)
            else:
                await walk.noncurrent(version, key)
        if len(versions) < page:
            break
        after = (versions[-1].key, versions[-1].serial)
    if key is not None:
        await walk.finish(key)


async def _abort_uploads(walk: _Walk, prefix: str, page: int) -> None:
    rules = [r for r in walk.rules if r.abort_days is not None]
    after_key, after_id = "", ""
    while True:
        uploads = await walk.ctx.meta.list_uploads(
            walk.bucket.name,
            prefix=prefix,
            after_key=after_key,
            after_upload_id=after_id,
            limit=page,
        )
        for upload in uploads:
            due = _earliest(
                due_after(upload.initiated, r.abort_days, walk.day)
                for r in rules
                if r.abort_days is not None and upload.key.startswith(r.scope.key_prefix)
            )
            if due is not None and walk.now >= due:
                try:
                    await walk.ctx.meta.abort_upload(
                        walk.bucket.name, upload.upload_id, actor=SERVER
                    )
                    walk.report.uploads_aborted += 1
                except NoSuchUpload:
                    pass  # completed or aborted meanwhile
        if len(uploads) < page:
            break
        after_key, after_id = uploads[-1].key, uploads[-1].upload_id


class LifecycleWorker:
    """Applies every bucket's lifecycle rules, now (`run_once`) or every `interval` seconds."""

    def __init__(self, ctx: Context, clock: Clock | None = None, day: float = DAY) -> None:
        self.ctx = ctx
        self.clock = clock or ctx.clock
        self.day = day

    async def run_once(self) -> list[LifecycleReport]:
        reports: list[LifecycleReport] = []
        for bucket in await self.ctx.meta.list_buckets():
            if CONFIG not in bucket.configs:
                continue
            try:
                reports.append(await apply(self.ctx, bucket, self.clock(), day=self.day))
            except Exception:
                # One bucket's failure must not stop the others; the next run retries.
                log.exception("lifecycle: bucket %s failed", bucket.name)
        return reports

    async def run_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                for report in await self.run_once():
                    log.info("lifecycle: %s", report)
            except Exception:
                log.exception("lifecycle run failed")
