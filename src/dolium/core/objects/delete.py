"""Deleting a key without naming a version: removed outright, or hidden by a delete marker.

Shared by DeleteObject(s) and lifecycle expiry.
"""

from __future__ import annotations

from dataclasses import dataclass

from dolium.core.context import Context
from dolium.core.objects.version_ids import write_version_id
from dolium.model import (
    UNVERSIONED_ID,
    Actor,
    Bucket,
    ObjectVersion,
    Versioning,
)


@dataclass(frozen=True)
class DeleteResult:
    key: str
    version_id: str | None  # of the removed version or of the new marker
    delete_marker: bool


async def delete_current(
    ctx: Context, bucket: Bucket, key: str, owner: str, *, actor: Actor
) -> DeleteResult:
    """Delete `key` without naming a version, as the bucket's versioning says.

    Never versioned: the unversioned slot's version goes. Otherwise a delete
    marker owned by `owner`, made by `actor` (the server's own jobs: SERVER),
    becomes the latest version (in the unversioned slot when versioning is
    suspended, replacing the version there). Shared with lifecycle expiry.
    """
    if bucket.versioning == Versioning.UNVERSIONED:
        await ctx.meta.delete_version(bucket.name, key, UNVERSIONED_ID, actor=actor)
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
    created = await ctx.meta.put_version(marker_version, actor=actor)
    return DeleteResult(key, created.version_id, True)
