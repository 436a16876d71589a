"""Operator actions over the whole server, for the admin API.

Only administrators may take them: the admin users of the root tenant,
whose keys the operator holds. An admin user of any other tenant
administers that tenant's own containers (Swift's account admin), not the
server. Every change made here is recorded in the change log as the
administrator's, so the audit log says who did it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dolium.core.accounts.identity_policies import IdentityPolicies, check_group_name
from dolium.core.accounts.quotas import Quotas
from dolium.core.accounts.service import ROOT_TENANT, AccountService, check_name
from dolium.core.accounts.tenant_policy import TenantPolicies
from dolium.core.context import Context
from dolium.errors import AccessDenied, NoSuchBucket, NotFound
from dolium.model import Bucket, Principal, Quota, Usage


class NoSuchPolicy(NotFound):
    """A storage policy the configuration does not declare."""


def is_administrator(principal: Principal) -> bool:
    return principal.admin and principal.tenant == ROOT_TENANT


@dataclass(frozen=True, slots=True)
class BucketUsage:
    bucket: Bucket
    usage: Usage


class Administration:
    def __init__(self, ctx: Context, quotas: Quotas) -> None:
        self.ctx = ctx
        self.quotas = quotas
        self.tenant_policies = TenantPolicies(ctx)

    def check(self, principal: Principal) -> None:
        """AccessDenied unless `principal` administers the server."""
        if not is_administrator(principal):
            raise AccessDenied("the admin API is for the administrators of the root tenant")

    def accounts(self, principal: Principal) -> AccountService:
        """Tenants, users and keys, as `principal` may manage them."""
        self.check(principal)
        return AccountService(self.ctx.meta, self.ctx.clock, principal.actor)

    def identity_policies(self, principal: Principal) -> IdentityPolicies:
        """The identity policies of users and groups, as `principal` may manage them."""
        self.check(principal)
        return IdentityPolicies(self.ctx.meta, principal.actor)

    async def buckets(self, principal: Principal, owner: str | None = None) -> list[BucketUsage]:
        self.check(principal)
        found = await self.ctx.meta.list_buckets(owner)
        return [BucketUsage(b, await self.ctx.meta.get_usage(b.name)) for b in found]

    async def bucket(self, principal: Principal, name: str) -> BucketUsage:
        self.check(principal)
        found = await self.ctx.meta.get_bucket(name)
        if found is None:
            raise NoSuchBucket(f"no bucket {name!r}")
        return BucketUsage(found, await self.ctx.meta.get_usage(found.name))

    async def move_bucket(self, principal: Principal, name: str, policy: str) -> BucketUsage:
        """Write the bucket's new data through `policy`; data already stored stays
        where it is and is read from there."""
        current = await self.bucket(principal, name)
        self._known(policy)
        if policy != current.bucket.policy:
            moved = replace(current.bucket, policy=policy)
            await self.ctx.meta.update_bucket(moved, actor=principal.actor)
            return BucketUsage(moved, current.usage)
        return current

    def policies(self) -> list[str]:
        return sorted({self.ctx.settings.default_policy, *self.ctx.policies})

    def _known(self, policy: str) -> None:
        if policy not in self.policies():
            raise NoSuchPolicy(
                f"no storage policy {policy!r} (configured: {', '.join(self.policies())})"
            )

    async def tenant_policy(self, principal: Principal, tenant: str) -> str | None:
        """The tenant's default storage policy; None: the server's default applies."""
        await self.accounts(principal).get_tenant(tenant)
        return await self.tenant_policies.of_account(tenant)

    async def set_tenant_policy(
        self, principal: Principal, tenant: str, policy: str | None
    ) -> str | None:
        """Set (None: remove) the policy of the tenant's new buckets that name none."""
        await self.accounts(principal).get_tenant(tenant)
        if policy is not None:
            self._known(policy)
        await self.tenant_policies.set_account(tenant, policy, actor=principal.actor)
        return await self.tenant_policies.of_account(tenant)

    async def usage(self, principal: Principal) -> dict[str, Usage]:
        """What each tenant stores."""
        self.check(principal)
        tenants = await self.ctx.meta.list_tenants()
        return {t.name: (await self.ctx.meta.get_account(t.name)).usage for t in tenants}

    async def set_bucket_quota(self, principal: Principal, name: str, quota: Quota) -> BucketUsage:
        self.check(principal)
        await self.quotas.set_bucket(name, quota, actor=principal.actor)
        return await self.bucket(principal, name)

    async def tenant_quota(self, principal: Principal, tenant: str) -> Quota:
        await self.accounts(principal).get_tenant(tenant)
        return await self.quotas.of_account(tenant)

    async def set_tenant_quota(self, principal: Principal, tenant: str, quota: Quota) -> Quota:
        await self.accounts(principal).get_tenant(tenant)
        await self.quotas.set_account(tenant, quota, actor=principal.actor)
        return await self.quotas.of_account(tenant)

    async def groups(self, principal: Principal, tenant: str) -> dict[str, tuple[str, ...]]:
        await self.accounts(principal).get_tenant(tenant)
        return await self.ctx.meta.get_groups(tenant)

    async def set_group(
        self, principal: Principal, tenant: str, group: str, members: list[str]
    ) -> None:
        await self.accounts(principal).get_tenant(tenant)
        check_group_name(group)
        for member in members:
            account, _, user = member.partition(":")
            check_name("member account", account)
            if user:
                check_name("member user", user)
        await self.ctx.meta.set_group(tenant, group, members, actor=principal.actor)
