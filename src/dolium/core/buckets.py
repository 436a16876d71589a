"""Bucket rules: naming, ownership, creation and deletion."""

from __future__ import annotations

from dataclasses import replace

from dolium.core.context import Context
from dolium.core.names import validate_bucket_name
from dolium.errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    InvalidArgument,
)
from dolium.model import Bucket, Principal, Versioning


class Buckets:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def create(self, principal: Principal, name: str, region: str = "") -> Bucket:
        validate_bucket_name(name)
        settings = self.ctx.settings
        bucket = Bucket(
            name=name,
            owner=principal.tenant,
            created=self.ctx.clock(),
            region=region or settings.region,
            block_size=settings.block_size,
        )
        try:
            await self.ctx.meta.create_bucket(bucket)
        except BucketAlreadyExists:
            existing = await self.ctx.meta.get_bucket(name)
            if existing is not None and existing.owner == principal.tenant:
                raise BucketAlreadyOwnedByYou(
                    "Your previous request to create the named bucket succeeded "
                    "and you already own it.",
                    bucket=name,
                ) from None
            raise BucketAlreadyExists(
                "The requested bucket name is not available. The bucket namespace is "
                "shared by all users of the system. Please select a different name "
                "and try again.",
                bucket=name,
            ) from None
        return bucket

    async def get(self, principal: Principal, name: str) -> Bucket:
        return await self.ctx.bucket(principal, name)

    async def list(self, principal: Principal) -> list[Bucket]:
        return await self.ctx.meta.list_buckets(owner=principal.tenant)

    async def delete(self, principal: Principal, name: str) -> None:
        await self.ctx.bucket(principal, name)
        try:
            await self.ctx.meta.delete_bucket(name)
        except BucketNotEmpty:
            raise BucketNotEmpty(
                "The bucket you tried to delete is not empty", bucket=name
            ) from None

    async def set_versioning(self, principal: Principal, name: str, state: Versioning) -> Bucket:
        """Enable or suspend versioning; a bucket never goes back to unversioned."""
        bucket = await self.ctx.bucket(principal, name)
        if state == Versioning.UNVERSIONED and bucket.versioning != Versioning.UNVERSIONED:
            raise InvalidArgument("Versioning, once enabled, can only be suspended.", bucket=name)
        updated = replace(bucket, versioning=state)
        await self.ctx.meta.update_bucket(updated)
        return updated
