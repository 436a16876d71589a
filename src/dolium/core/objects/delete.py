"""Deleting a key without naming a version: removed outright, or hidden by a delete marker.

Shared by DeleteObject(s) and lifecycle expiry.
"""

from __future__ import annotations

from dataclasses import dataclass

from dolium.conditions import WriteCondition, check_condition
from dolium.core.context import Context
from dolium.core.objects.version_ids import write_version_id
from dolium.model import UNVERSIONED_ID, Actor, Bucket, ObjectVersion, Versioning
from dolium.protocols.meta import Guard


@dataclass(frozen=True)
class DeleteResult:
    key: str
    version_id: str | None  # of the removed version or of the new marker
    delete_marker: bool


def conditional(condition: WriteCondition | None, guard: Guard | None = None) -> Guard | None:
    """`guard` (if any) and then `condition`, as one meta store guard: both are checked
    in the transaction that deletes, so that a concurrent write cannot slip between."""
    if condition is None:
        return guard

    def check(version: ObjectVersion) -> None:
        if guard is not None:
            guard(version)
        check_condition(condition, version)

    return check


async def delete_version(
    ctx: Context,
    bucket: Bucket,
    key: str,
    version_id: str,
    guard: Guard | None,
    condition: WriteCondition | None,
    *,
    actor: Actor,
) -> ObjectVersion | None:
    """Remove one version if `guard` and `condition` allow it (see `conditional`).

    A condition that needs an object is checked first against nothing found,
    so that a refused request records no change; and again when the version
    went meanwhile.
    """
    if condition is not None and await ctx.meta.get_version(bucket.name, key, version_id) is None:
        check_condition(condition, None)
    removed = await ctx.meta.delete_version(
        bucket.name, key, version_id, conditional(condition, guard), actor=actor
    )
    if removed is None:
        check_condition(condition, None)
    return removed


async def delete_current(
    ctx: Context,
    bucket: Bucket,
    key: str,
    owner: str,
    *,
    actor: Actor,
    condition: WriteCondition | None = None,
) -> DeleteResult:
    """Delete `key` without naming a version, as the bucket's versioning says.

    Never versioned: the unversioned slot's version goes. Otherwise a delete
    marker owned by `owner`, made by `actor` (the server's own jobs: SERVER),
    becomes the latest version (in the unversioned slot when versioning is
    suspended, replacing the version there). Shared with lifecycle expiry.

    `condition` is checked against the current object in the transaction that
    removes it or adds the marker.
    """
    if bucket.versioning == Versioning.UNVERSIONED:
        await delete_version(ctx, bucket, key, UNVERSIONED_ID, None, condition, actor=actor)
        return DeleteResult(key, None, False)
    now = ctx.clock()
    marker_version = ObjectVersion(
        bucket=bucket.name,
        key=key,
        version_id=write_version_id(bucket, now),
        modified=now,
        owner=owner,
        user=actor.user,
        delete_marker=True,
        content_type="",
    )
    created = await ctx.meta.put_version(marker_version, condition, actor=actor)
    return DeleteResult(key, created.version_id, True)
