"""Small per-bucket settings: object ownership controls and the public access block.

Both are stored in the bucket's configs in the form `dolium.core.access.decisions`
reads them when it decides a request: "ownership" holds the bare
ObjectOwnership value, "public_access_block" a JSON object with S3's four
element names. A getter's None means the bucket has none, which a front end
reports with its own "not found" error.
"""

from __future__ import annotations

import enum
import json

from dolium.core.access import decisions as access
from dolium.core.access.actions import Action, Setting
from dolium.core.access.decisions import PublicAccessBlock
from dolium.core.context import Context
from dolium.errors import AclBlocksOwnership
from dolium.model import Bucket, Principal


class ObjectOwnership(enum.StrEnum):
    BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
    BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
    OBJECT_WRITER = "ObjectWriter"


def object_ownership(bucket: Bucket) -> ObjectOwnership | None:
    value = bucket.configs.get(access.OWNERSHIP)
    return ObjectOwnership(value) if value is not None else None


def stored_public_access_block(bucket: Bucket) -> PublicAccessBlock | None:
    """The bucket's public access block as configured, None when it has none."""
    if access.PUBLIC_ACCESS_BLOCK not in bucket.configs:
        return None
    return access.public_access_block(bucket)


def dump_public_access_block(block: PublicAccessBlock) -> str:
    return json.dumps(
        {
            "BlockPublicAcls": block.block_public_acls,
            "IgnorePublicAcls": block.ignore_public_acls,
            "BlockPublicPolicy": block.block_public_policy,
            "RestrictPublicBuckets": block.restrict_public_buckets,
        }
    )


class BucketSettings:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get_ownership(self, principal: Principal, bucket: str) -> ObjectOwnership | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.OWNERSHIP
        )
        return object_ownership(found)

    async def put_ownership(
        self, principal: Principal, bucket: str, ownership: ObjectOwnership
    ) -> None:
        found = await self.ctx.bucket(
            principal, bucket, Action.WRITE_SETTING, setting=Setting.OWNERSHIP
        )
        # An ACL is stored only when it grants more than the owner's full control.
        if ownership is ObjectOwnership.BUCKET_OWNER_ENFORCED and found.configs.get(access.ACL):
            raise AclBlocksOwnership(
                "The bucket's ACL grants to others: remove the grants before disabling ACLs",
                bucket=bucket,
            )
        await self.ctx.meta.set_bucket_config(
            bucket, access.OWNERSHIP, ownership.value, actor=principal.actor
        )

    async def delete_ownership(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.OWNERSHIP)
        await self.ctx.meta.set_bucket_config(bucket, access.OWNERSHIP, None, actor=principal.actor)

    async def get_public_access_block(
        self, principal: Principal, bucket: str
    ) -> PublicAccessBlock | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.PUBLIC_ACCESS_BLOCK
        )
        return stored_public_access_block(found)

    async def put_public_access_block(
        self, principal: Principal, bucket: str, block: PublicAccessBlock
    ) -> None:
        await self.ctx.bucket(
            principal, bucket, Action.WRITE_SETTING, setting=Setting.PUBLIC_ACCESS_BLOCK
        )
        document = dump_public_access_block(block)
        await self.ctx.meta.set_bucket_config(
            bucket, access.PUBLIC_ACCESS_BLOCK, document, actor=principal.actor
        )

    async def delete_public_access_block(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(
            principal, bucket, Action.DELETE_SETTING, setting=Setting.PUBLIC_ACCESS_BLOCK
        )
        await self.ctx.meta.set_bucket_config(
            bucket, access.PUBLIC_ACCESS_BLOCK, None, actor=principal.actor
        )

    async def check(
        self, principal: Principal, bucket: str, action: Action, setting: Setting
    ) -> Bucket:
        """The bucket, if `principal` may do `action` on `setting` (one with nothing stored)."""
        return await self.ctx.bucket(principal, bucket, action, setting=setting)
