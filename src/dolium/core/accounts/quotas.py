"""Quotas: what a bucket, and what all the buckets of a tenant, may hold.

Operators set them (the admin API); owners cannot, through any API:
a bucket's quota is a configuration document of its own ("quota"), which
no S3 or Swift call writes, and a tenant's is kept in its account
metadata under a name no Swift header can spell (RESERVED, with a colon),
which `AccountInfo` hides from the account's owner.

A write is checked twice (see dolium.quotas): here, before its data is
stored, when its size is declared; and by the meta store when it commits,
against concurrent writers. Deleting always works.
"""

from __future__ import annotations

import json

from dolium import quotas
from dolium.core.caches import Cache
from dolium.core.context import Context
from dolium.errors import InvalidArgument, NoSuchBucket
from dolium.model import NO_QUOTA, SERVER, Actor, Bucket, Limits, Quota, Usage

CONFIG = "quota"  # the bucket's configuration document
RESERVED = "dolium:quota"  # the account metadata name of the tenant's quota


def decode(text: str | None) -> Quota:
    if not text:
        return NO_QUOTA
    document = json.loads(text)
    return Quota(document.get("bytes"), document.get("objects"))


def encode(quota: Quota) -> str | None:
    if quota.unlimited:
        return None
    return json.dumps({"bytes": quota.bytes, "objects": quota.objects}, separators=(",", ":"))


def checked(quota: Quota) -> Quota:
    for name, value in (("bytes", quota.bytes), ("objects", quota.objects)):
        if value is not None and not 0 <= value <= 2**62:
            raise InvalidArgument(f"quota {name}: {value} is not between 0 and 2^62")
    return quota


def is_reserved(name: str) -> bool:
    """Account metadata names that are the server's, not the owner's."""
    return ":" in name


class Quotas:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._accounts: Cache[str, Quota] = ctx.caches.cache()

    def of_bucket(self, bucket: Bucket) -> Quota:
        return decode(bucket.configs.get(CONFIG))

    async def of_account(self, account: str) -> Quota:
        """The tenant's quota, read through the caches (moved on by any change of it)."""

        async def load(name: str) -> Quota:
            return decode((await self.ctx.meta.get_account(name)).meta.get(RESERVED))

        return await self._accounts.get(account, load)

    async def limits(self, bucket: Bucket) -> Limits | None:
        """The quotas a write to `bucket` must keep; None when there are none."""
        limits = Limits(self.of_bucket(bucket), await self.of_account(bucket.owner))
        return None if limits.unlimited else limits

    async def precheck(self, bucket: Bucket, limits: Limits | None, size: int | None) -> None:
        """QuotaExceeded before any data is stored, when a new object of
        `size` bytes cannot fit whatever else happens meanwhile."""
        if limits is None or size is None:
            return
        used = await self.ctx.meta.get_usage(bucket.name)
        grown = Usage(used.bytes + size, used.objects)
        quotas.check("bucket", limits.bucket, grown, name=bucket.container)
        if not limits.account.unlimited:
            total = (await self.ctx.meta.get_account(bucket.owner)).usage
            quotas.check(
                "account", limits.account, Usage(total.bytes + size, total.objects),
                name=bucket.owner,
            )  # fmt: skip

    # -- setting them (callers check that an administrator asks) ------------------
    async def set_bucket(self, name: str, quota: Quota, *, actor: Actor = SERVER) -> Bucket:
        found = await self.ctx.meta.get_bucket(name)
        if found is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
        text = encode(checked(quota))
        return await self.ctx.meta.set_bucket_config(found.name, CONFIG, text, actor=actor)

    async def set_account(self, account: str, quota: Quota, *, actor: Actor = SERVER) -> None:
        meta = dict((await self.ctx.meta.get_account(account)).meta)
        text = encode(checked(quota))
        if text is None:
            meta.pop(RESERVED, None)
        else:
            meta[RESERVED] = text
        await self.ctx.meta.set_account_meta(account, meta, actor=actor)
