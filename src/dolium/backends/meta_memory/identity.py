"""Deleting users and keys, and the identity policies of the in-memory meta store."""

from __future__ import annotations

from dolium.backends.meta_memory.state import MemoryState
from dolium.errors import NoSuchAccessKey, NoSuchPolicy, NoSuchTenant, NoSuchUser
from dolium.model import SERVER, Actor, ChangeAction


class MemoryIdentity(MemoryState):
    async def delete_user(self, tenant: str, name: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if self._users.pop((tenant, name), None) is None:
                raise NoSuchUser(f"no user {name!r} in tenant {tenant!r}", user=name)
            self._keys = {
                k: v for k, v in self._keys.items() if (v.tenant, v.user) != (tenant, name)
            }
            self._user_policies.pop((tenant, name), None)
            self._record(ChangeAction.USER_DELETE, actor, tenant=tenant, name=name)

    async def delete_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            key = self._keys.pop(access_key, None)
            if key is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            self._record(ChangeAction.KEY_DELETE, actor, tenant=key.tenant, name=access_key)

    async def put_user_policy(
        self, tenant: str, user: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            if (tenant, user) not in self._users:
                raise NoSuchUser(f"no user {user!r} in tenant {tenant!r}", user=user)
            self._user_policies.setdefault((tenant, user), {})[name] = document
            self._record(ChangeAction.USER_POLICY_SET, actor, tenant=tenant, name=f"{user}/{name}")

    async def delete_user_policy(
        self, tenant: str, user: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            if self._user_policies.get((tenant, user), {}).pop(name, None) is None:
                raise NoSuchPolicy(f"user {tenant}:{user} has no policy {name!r}")
            self._record(
                ChangeAction.USER_POLICY_DELETE, actor, tenant=tenant, name=f"{user}/{name}"
            )

    async def get_user_policies(self, tenant: str, user: str) -> dict[str, str]:
        found = self._user_policies.get((tenant, user), {})
        return {name: found[name] for name in sorted(found)}

    async def put_group_policy(
        self, account: str, group: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            if account not in self._tenants:
                raise NoSuchTenant(f"no tenant {account!r}", tenant=account)
            self._group_policies.setdefault(account, {}).setdefault(group, {})[name] = document
            self._record(
                ChangeAction.ACCOUNT_GROUP_POLICY_SET, actor, tenant=account, name=f"{group}/{name}"
            )

    async def delete_group_policy(
        self, account: str, group: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            groups = self._group_policies.get(account, {})
            if groups.get(group, {}).pop(name, None) is None:
                raise NoSuchPolicy(f"group {account}:{group} has no policy {name!r}")
            if not groups[group]:
                del groups[group]
            self._record(
                ChangeAction.ACCOUNT_GROUP_POLICY_DELETE,
                actor,
                tenant=account,
                name=f"{group}/{name}",
            )

    async def get_group_policies(self, account: str) -> dict[str, dict[str, str]]:
        groups = self._group_policies.get(account, {})
        return {g: {n: groups[g][n] for n in sorted(groups[g])} for g in sorted(groups)}
