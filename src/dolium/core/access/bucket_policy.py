"""Bucket policies: validation, storage in the bucket's configs, public status.

The policy is kept as sent (GetBucketPolicy returns the client's text) in
`Bucket.configs["policy"]`; `core.access` evaluates it on every request.
The bucket owner's tenant may always read, replace and delete the policy,
even when the policy denies it, so that an owner cannot lock itself out
(as the root user of an AWS account cannot); a user with identity policies
is not the account, and needs their permission as for any other setting.
"""

from __future__ import annotations

from dolium.core.access import decisions as access
from dolium.core.access.actions import Action, Setting
from dolium.core.access.policy import MalformedPolicy, is_public, named_tenants, parse_policy
from dolium.core.context import Context
from dolium.errors import AccessDenied
from dolium.model import Bucket, Principal


class BucketPolicies:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, principal: Principal, name: str) -> str | None:
        bucket = await self._owned_or(principal, name, Action.READ_SETTING)
        return bucket.configs.get(access.POLICY)

    async def put(self, principal: Principal, name: str, text: str) -> None:
        bucket = await self._owned_or(principal, name, Action.WRITE_SETTING)
        policy = parse_policy(text, name)
        for tenant in sorted(named_tenants(policy)):
            if await self.ctx.meta.get_tenant(tenant) is None:
                raise MalformedPolicy("Invalid principal in policy")
        if access.public_access_block(bucket).block_public_policy and is_public(policy):
            raise AccessDenied("Access Denied")
        await self.ctx.meta.set_bucket_config(name, access.POLICY, text, actor=principal.actor)

    async def check_put(self, principal: Principal, name: str) -> None:
        """Refuse a caller who may not set the policy, before the policy is read."""
        await self._owned_or(principal, name, Action.WRITE_SETTING)

    async def delete(self, principal: Principal, name: str) -> None:
        await self._owned_or(principal, name, Action.DELETE_SETTING)
        await self.ctx.meta.set_bucket_config(name, access.POLICY, None, actor=principal.actor)

    async def is_public(self, principal: Principal, name: str) -> bool | None:
        """Whether the policy makes the bucket public; None without a policy."""
        bucket = await self.ctx.bucket(
            principal, name, Action.READ_SETTING, setting=Setting.POLICY_STATUS
        )
        text = bucket.configs.get(access.POLICY)
        return None if text is None else is_public(parse_policy(text, name))

    async def _owned_or(self, principal: Principal, name: str, action: Action) -> Bucket:
        bucket = await self.ctx.meta.get_bucket(name)
        if (
            bucket is not None
            and principal.tenant
            and bucket.owner == principal.tenant
            and not principal.policies
        ):
            return bucket
        return await self.ctx.bucket(principal, name, action, setting=Setting.POLICY)
