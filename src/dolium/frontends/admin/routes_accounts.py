"""Admin routes for tenants, their users, access keys and groups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from dolium.frontends.admin.deps import Admin, Core
from dolium.frontends.admin.schemas import (
    GROUP,
    NAME,
    GroupIn,
    KeyIn,
    KeyOut,
    PolicyIn,
    QuotaIO,
    TenantIn,
    TenantOut,
    TenantPolicyOut,
    UserCreated,
    UserIn,
    UserOut,
)

router = APIRouter(tags=["accounts"])
# Names in paths follow the rules of names in bodies: anything else is a 400.
Tenant = Annotated[str, Path(pattern=NAME)]
UserName = Annotated[str, Path(pattern=NAME)]


@router.get("/tenants", operation_id="listTenants")
async def list_tenants(admin: Admin, core: Core) -> list[TenantOut]:
    tenants = await core.admin.accounts(admin).list_tenants()
    return [TenantOut.of(t) for t in tenants]


@router.post("/tenants", status_code=201, operation_id="createTenant")
async def create_tenant(body: TenantIn, admin: Admin, core: Core) -> TenantOut:
    tenant = await core.admin.accounts(admin).create_tenant(
        body.name, body.canonical_id, body.display_name, body.email
    )
    return TenantOut.of(tenant)


@router.get("/tenants/{tenant}", operation_id="getTenant")
async def get_tenant(tenant: Tenant, admin: Admin, core: Core) -> TenantOut:
    found = await core.admin.accounts(admin).get_tenant(tenant)
    usage = (await core.admin.usage(admin)).get(found.name)
    quota = await core.admin.tenant_quota(admin, tenant)
    return TenantOut.of(found, usage, quota, await core.admin.tenant_policy(admin, tenant))


@router.put("/tenants/{tenant}/quota", operation_id="setTenantQuota")
async def set_tenant_quota(tenant: Tenant, body: QuotaIO, admin: Admin, core: Core) -> QuotaIO:
    """What all the tenant's buckets may hold together; nulls remove the limits."""
    return QuotaIO.of(await core.admin.set_tenant_quota(admin, tenant, body.quota()))


@router.put("/tenants/{tenant}/policy", operation_id="setTenantPolicy")
async def set_tenant_policy(
    tenant: Tenant, body: PolicyIn, admin: Admin, core: Core
) -> TenantPolicyOut:
    """The storage policy of the tenant's new buckets whose creation names none."""
    return TenantPolicyOut(policy=await core.admin.set_tenant_policy(admin, tenant, body.policy))


@router.delete("/tenants/{tenant}/policy", operation_id="deleteTenantPolicy")
async def delete_tenant_policy(tenant: Tenant, admin: Admin, core: Core) -> TenantPolicyOut:
    """The tenant's new buckets that name no policy go through the server's default again."""
    return TenantPolicyOut(policy=await core.admin.set_tenant_policy(admin, tenant, None))


@router.delete("/tenants/{tenant}", status_code=204, operation_id="deleteTenant")
async def delete_tenant(tenant: Tenant, admin: Admin, core: Core) -> Response:
    await core.admin.accounts(admin).delete_tenant(tenant)
    return Response(status_code=204)


@router.get("/tenants/{tenant}/users", operation_id="listUsers")
async def list_users(tenant: Tenant, admin: Admin, core: Core) -> list[UserOut]:
    users = await core.admin.accounts(admin).list_users(tenant)
    return [UserOut.of(u) for u in users]


@router.post("/tenants/{tenant}/users", status_code=201, operation_id="createUser")
async def create_user(tenant: Tenant, body: UserIn, admin: Admin, core: Core) -> UserCreated:
    accounts = core.admin.accounts(admin)
    key = await accounts.create_user(
        tenant, body.name, body.admin, access_key=body.access_key, secret_key=body.secret_key
    )
    user = await accounts.get_user(tenant, body.name)
    return UserCreated(user=UserOut.of(user), key=KeyOut.of(key, with_secret=True))


@router.get("/tenants/{tenant}/users/{user}", operation_id="getUser")
async def get_user(tenant: Tenant, user: UserName, admin: Admin, core: Core) -> UserOut:
    return UserOut.of(await core.admin.accounts(admin).get_user(tenant, user))


@router.delete("/tenants/{tenant}/users/{user}", status_code=204, operation_id="deleteUser")
async def delete_user(tenant: str, user: str, admin: Admin, core: Core) -> Response:
    """Delete a user; 409 UserNotEmpty while it holds access keys or policies."""
    await core.admin.accounts(admin).delete_user(tenant, user)
    return Response(status_code=204)


@router.post("/tenants/{tenant}/users/{user}/keys", status_code=201, operation_id="createKey")
async def create_key(
    tenant: Tenant, user: UserName, body: KeyIn, admin: Admin, core: Core
) -> KeyOut:
    key = await core.admin.accounts(admin).create_key(
        tenant, user, body.access_key, body.secret_key
    )
    return KeyOut.of(key, with_secret=True)


@router.get("/keys", operation_id="listKeys")
async def list_keys(admin: Admin, core: Core, tenant: str | None = None) -> list[KeyOut]:
    keys = await core.admin.accounts(admin).list_keys(tenant)
    return [KeyOut.of(k) for k in keys]


@router.delete("/keys/{access_key}", operation_id="revokeKey")
async def revoke_key(access_key: str, admin: Admin, core: Core) -> KeyOut:
    """Revoke a key: it signs nothing from now on, and stays listed as inactive."""
    accounts = core.admin.accounts(admin)
    await accounts.revoke_key(access_key)
    return KeyOut.of(await accounts.get_key(access_key))


@router.get("/tenants/{tenant}/groups", operation_id="listGroups")
async def list_groups(tenant: Tenant, admin: Admin, core: Core) -> dict[str, list[str]]:
    groups = await core.admin.groups(admin, tenant)
    return {name: list(members) for name, members in groups.items()}


@router.put("/tenants/{tenant}/groups/{group}", status_code=204, operation_id="setGroup")
async def set_group(
    tenant: Tenant,
    group: Annotated[str, Path(pattern=GROUP)],
    body: GroupIn,
    admin: Admin,
    core: Core,
) -> Response:
    """Replace a group's members; an empty list removes the group."""
    await core.admin.set_group(admin, tenant, group, body.members)
    return Response(status_code=204)
