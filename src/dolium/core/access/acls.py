"""ACL sub-resources: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl.

The bucket's ACL lives in its configs under "acl" (absent = private to the
bucket owner); a version's in `ObjectVersion.acl` ("" = private to the
version's owner tenant). What an ACL a request asks for comes to, and
whether the bucket allows it, is `grants`'s rule; this module adds who may
read and write an ACL, and that an ACL never changes its resource's owner
(an <Owner> that is not the owner is AccessDenied).

Who may: the bucket ACL by the bucket's access rules (the ACL setting's
READ_SETTING / WRITE_SETTING, which READ_ACP / WRITE_ACP grants on the
bucket allow);
an object's ACL by the object's own ACL as well (READ_ACP / WRITE_ACP on
the version), as reads of the object are. With ACLs disabled
(BucketOwnerEnforced) every ACL reads as the bucket owner's full control.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dolium.core.access import acl, grants
from dolium.core.access import decisions as access
from dolium.core.access.acl import Acl
from dolium.core.access.actions import Action, Setting
from dolium.core.access.grants import Requested
from dolium.core.context import Context
from dolium.core.objects.finder import permitted_version
from dolium.core.objects.service import Objects
from dolium.errors import AccessDenied, DoliumError, NoSuchBucket
from dolium.model import Bucket, ObjectVersion, Principal, Versioning


@dataclass(frozen=True)
class ObjectAcl:
    acl: Acl
    version: ObjectVersion
    # The bucket has had versioning: the version id is worth reporting.
    versioned: bool

    @property
    def version_id(self) -> str | None:
        return self.version.version_id if self.versioned else None


def _check_owner(requested: Requested, owner: acl.Grantee) -> None:
    # Headers name no owner (""); a body's <Owner> must be the current one.
    if isinstance(requested, Acl) and requested.owner_id and requested.owner_id != owner.id:
        raise AccessDenied("Access Denied")


class Acls:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    # ------------------------------------------------------------------ buckets

    async def get_bucket(self, principal: Principal, bucket_name: str) -> Acl:
        """The bucket's ACL, its owner as the owner tenant is named now."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.READ_SETTING, setting=Setting.ACL
        )
        owner = await grants.grantee_of_tenant(self.ctx.meta, bucket.owner)
        text = bucket.configs.get(access.ACL)
        if not text or not access.acls_enabled(bucket):
            return acl.private(owner)
        return Acl(owner.id, owner.display_name, acl.loads(text).grants)

    async def put_bucket(self, principal: Principal, bucket_name: str, requested: Requested) -> Acl:
        """Replace the bucket's ACL; returns it as stored (the bucket's, if ACLs are off)."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.WRITE_SETTING, setting=Setting.ACL
        )
        owner = await grants.grantee_of_tenant(self.ctx.meta, bucket.owner)
        result = await grants.build(self.ctx.meta, bucket, owner, requested, for_object=False)
        _check_owner(requested, owner)
        if not access.acls_enabled(bucket):
            return acl.private(owner)  # accepted, and nothing to store
        text = grants.stored(result)
        await self.ctx.meta.set_bucket_config(
            bucket.name, access.ACL, text or None, actor=principal.actor
        )
        return result

    # ------------------------------------------------------------------ objects

    async def _find(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        version_id: str | None,
        action: Action,
    ) -> tuple[Bucket, ObjectVersion]:
        """The version whose ACL `principal` may read or write (as `Objects.open` decides)."""
        return await permitted_version(
            self.ctx, self.objects, principal, bucket_name, key, version_id, action
        )

    async def check_object(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        version_id: str | None,
        action: Action,
    ) -> None:
        """Refuse `action` on a version before the request's body is read.

        Raises AccessDenied, or NoSuchBucket, as `_find` would; anything else
        (a missing version the caller may learn about, a delete marker) the
        operation itself answers, in its own way, once it has its body.
        """
        try:
            await self._find(principal, bucket_name, key, version_id, action)
        except (AccessDenied, NoSuchBucket):
            raise
        except DoliumError:
            return

    async def _owner(self, bucket: Bucket, version: ObjectVersion) -> acl.Grantee:
        # With ACLs disabled the bucket owner owns every object.
        tenant = version.owner if access.acls_enabled(bucket) else bucket.owner
        return await grants.grantee_of_tenant(self.ctx.meta, tenant)

    async def get_object(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectAcl:
        """A version's ACL (the latest's by default); NoSuchKey on a delete marker."""
        bucket, version = await self._find(principal, bucket_name, key, version_id, Action.READ_ACL)
        owner = await self._owner(bucket, version)
        if version.acl and access.acls_enabled(bucket):
            found = Acl(owner.id, owner.display_name, acl.loads(version.acl).grants)
        else:
            found = acl.private(owner)
        return ObjectAcl(found, version, bucket.versioning != Versioning.UNVERSIONED)

    async def put_object(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        requested: Requested,
        version_id: str | None = None,
    ) -> ObjectAcl:
        """Replace a version's ACL; neither a new version nor a new ETag."""
        bucket, version = await self._find(
            principal, bucket_name, key, version_id, Action.WRITE_ACL
        )
        owner = await self._owner(bucket, version)
        result = await grants.build(self.ctx.meta, bucket, owner, requested, for_object=True)
        _check_owner(requested, owner)
        versioned = bucket.versioning != Versioning.UNVERSIONED
        if not access.acls_enabled(bucket):
            return ObjectAcl(acl.private(owner), version, versioned)
        updated = replace(version, acl=grants.stored(result))
        if updated.acl != version.acl:
            await self.ctx.meta.update_version(updated, ("acl",), actor=principal.actor)
        return ObjectAcl(result, updated, versioned)
