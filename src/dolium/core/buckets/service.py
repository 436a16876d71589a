"""Bucket rules: naming, ownership, creation and deletion.

A bucket is a container: unique per (account, name), reachable through S3
by the global name it holds, or as `account:name` (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dolium.core.access import decisions as access
from dolium.core.access import grants, identity, swift_account_acl
from dolium.core.access.actions import Action, Setting
from dolium.core.access.policy import resource_arn
from dolium.core.accounts.tenant_policy import TenantPolicies
from dolium.core.context import Context
from dolium.core.names import is_valid_bucket_name, validate_bucket_name, validate_container_name
from dolium.errors import (
    AccessDenied,
    AclBlocksOwnership,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    InvalidArgument,
    InvalidBucketState,
    NoSuchBucket,
    Problem,
)
from dolium.model import Bucket, Principal, Versioning, container_address


class Buckets:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tenant_policies = TenantPolicies(ctx)

    async def create(
        self,
        principal: Principal,
        name: str,
        region: str = "",
        *,
        object_lock: bool = False,
        acl: str = "",
        ownership: str | None = None,
        policy: str | None = None,
    ) -> Bucket:
        """Create a bucket; one with Object Lock has versioning Enabled for good.

        `policy` is the storage policy its data goes through (None: the
        tenant's default, else the server's); one the server lacks is
        NoSuchStoragePolicy.

        `acl` is the ACL asked for, as `WriteOptions.acl`; it is checked
        before the bucket exists and set right after. `ownership` is the
        bucket's object ownership setting (None: none), stored likewise; with
        ACLs disabled by it, an ACL granting to others is refused first.
        """
        self.check_create(principal, name)
        settings = self.ctx.settings
        policy = await self.tenant_policies.for_new_bucket(principal.tenant, policy)
        bucket = Bucket(
            name=name,
            owner=principal.tenant,
            created=self.ctx.clock(),
            region=region or settings.region,
            block_size=settings.block_size,
            policy=policy,
            object_lock=object_lock,
            versioning=Versioning.ENABLED if object_lock else Versioning.UNVERSIONED,
        )
        acl_text = await grants.acl_for_new_bucket(self.ctx.meta, principal, bucket, acl)
        if ownership == access.OWNER_ENFORCED and acl_text:
            raise AclBlocksOwnership(
                "An ACL that grants to others cannot go with ACLs disabled", bucket=name
            )
        try:
            bucket = await self.ctx.meta.create_bucket(bucket, actor=principal.actor)
        except BucketAlreadyExists:
            # The tenant's own container of that name counts as its bucket,
            # even one that another API made without the global name.
            existing = await self.ctx.meta.get_bucket(name)
            if existing is None or existing.owner != principal.tenant:
                existing = await self.ctx.meta.get_bucket(container_address(principal.tenant, name))
            if existing is not None and existing.owner == principal.tenant:
                raise BucketAlreadyOwnedByYou(
                    f"bucket {name!r} exists and is yours", bucket=name
                ) from None
            raise BucketAlreadyExists(f"bucket name {name!r} is taken", bucket=name) from None
        if acl_text:
            bucket = await self.ctx.meta.set_bucket_config(
                name, access.ACL, acl_text, actor=principal.actor
            )
        if ownership is not None:
            bucket = await self.ctx.meta.set_bucket_config(
                name, access.OWNERSHIP, ownership, actor=principal.actor
            )
        return bucket

    async def create_container(self, account: str, name: str, policy: str | None = None) -> Bucket:
        """Create a container for an API that scopes names by account (Swift, Pithos).

        The caller has decided that its principal may create in `account`.
        The container takes the global S3 name equal to its own when that
        is a valid bucket name and free; otherwise S3 reaches it only as
        `account:name` (its address, the returned bucket's name). Raise
        BucketAlreadyExists if the account has a container of that name.
        `policy` as for `create`.
        """
        validate_container_name(name)
        settings = self.ctx.settings
        policy = await self.tenant_policies.for_new_bucket(account, policy)
        container = Bucket(
            name=name,
            owner=account,
            created=self.ctx.clock(),
            region=settings.region,
            block_size=settings.block_size,
            policy=policy,
        )
        return await self.ctx.meta.create_container(container, claim=is_valid_bucket_name(name))

    async def get(
        self,
        principal: Principal,
        name: str,
        action: Action,
        setting: Setting | None = None,
        *,
        key: str | None = None,
    ) -> Bucket:
        """The bucket, if `principal` may do `action` on it (on `setting` or `key` of it)."""
        return await self.ctx.bucket(principal, name, action, key, setting=setting)

    def check_create(self, principal: Principal, name: str) -> None:
        """Refuse a caller who may not create bucket `name`, or a name S3 refuses.

        Needs nothing stored, so a front end asks it before reading the
        request's body."""
        if principal.anonymous:
            raise AccessDenied("an anonymous caller may not create buckets")
        validate_bucket_name(name)
        if not identity.permits(principal, "s3:CreateBucket", resource_arn(name)):
            raise AccessDenied("the user's policies do not allow it to create buckets", bucket=name)

    async def exists(self, name: str) -> None:
        """Raise NoSuchBucket unless it exists (batch calls check access per key)."""
        if await self.ctx.meta.get_bucket(name) is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)

    async def expect_owner(self, name: str, account: str) -> None:
        """Refuse a request that names the account it expects to own the bucket
        (to keep a caller from writing into a bucket that changed hands)
        when another owns it. The bucket's existence is not hidden: a
        missing one is NoSuchBucket, as any request would learn."""
        bucket = await self.ctx.meta.get_bucket(name)
        if bucket is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
        if bucket.owner != account:
            raise AccessDenied(f"bucket {name!r} is not owned by account {account!r}")

    async def list(self, principal: Principal) -> list[Bucket]:
        if principal.anonymous:
            raise AccessDenied("an anonymous caller has no buckets to list")
        if not identity.permits(principal, "s3:ListAllMyBuckets", resource_arn("*")):
            raise AccessDenied("the user's policies do not allow it to list buckets")
        return await self.ctx.meta.list_buckets(owner=principal.tenant)

    async def list_of(self, principal: Principal, account: str) -> Sequence[Bucket]:
        """The containers of `account`: the caller's own, or another's whose
        Swift account ACL names the caller."""
        if principal.tenant == account:
            return await self.list(principal)
        if await swift_account_acl.level_in(self.ctx.meta, principal, account) is None:
            raise AccessDenied(f"account {account!r} does not share its containers")
        return await self.ctx.meta.list_buckets(owner=account)

    async def delete(self, principal: Principal, name: str) -> None:
        await self.ctx.bucket(principal, name, Action.DELETE_CONTAINER)
        await self.ctx.meta.delete_bucket(name, actor=principal.actor)

    async def set_versioning(self, principal: Principal, name: str, state: Versioning) -> Bucket:
        """Enable or suspend versioning; a bucket never goes back to unversioned."""
        bucket = await self.ctx.bucket(
            principal, name, Action.WRITE_SETTING, setting=Setting.VERSIONING
        )
        if state == Versioning.UNVERSIONED and bucket.versioning != Versioning.UNVERSIONED:
            raise InvalidArgument("Versioning, once enabled, can only be suspended.", bucket=name)
        if bucket.object_lock and state != Versioning.ENABLED:
            raise InvalidBucketState(
                "A bucket with Object Lock keeps versioning enabled.",
                problem=Problem.LOCK_KEEPS_VERSIONING,
                bucket=name,
            )
        updated = replace(bucket, versioning=state)
        await self.ctx.meta.update_bucket(updated, actor=principal.actor)
        return updated
