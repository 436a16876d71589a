"""What the services of one attribute (tags, locks, ACLs) need of the objects service.

A protocol, so that those modules never import the objects service, which
imports their rules: the dependency runs one way.
"""

from __future__ import annotations

from typing import Protocol

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.errors import AccessDenied, NotFound
from dolium.model import Bucket, ObjectVersion, Principal


class VersionFinder(Protocol):
    async def find(self, bucket: Bucket, key: str, version_id: str | None) -> ObjectVersion:
        """The named version, or the latest; raise NoSuchKey / NoSuchVersion."""


async def permitted_version(
    ctx: Context,
    objects: VersionFinder,
    principal: Principal,
    bucket_name: str,
    key: str,
    version_id: str | None,
    action: Action,
) -> tuple[Bucket, ObjectVersion]:
    """The version `principal` may apply `action` to, as `Objects.open` decides.

    A policy may judge by the version's own tags (s3:ExistingObjectTag/<key>),
    so the version is asked about too when the bucket alone does not allow
    it; a missing key is told apart only to whoever may list the bucket.
    """
    bucket, allowed = await ctx.object_bucket(principal, bucket_name, action, key, version_id)
    try:
        version = await objects.find(bucket, key, version_id)
    except NotFound:
        if not allowed and not await ctx.may(principal, bucket, Action.LIST):
            raise AccessDenied(f"{action.name} on a missing key {key!r}") from None
        raise
    if not allowed and not await ctx.version_allows(principal, bucket, action, version, version_id):
        raise AccessDenied(f"{action.name} on {key!r} in {bucket_name!r} is not allowed")
    return bucket, version
