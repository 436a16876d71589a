"""A tenant's users, keys and user policies, managed by the tenant itself.

This is what IAM's user calls do: an admin user of a tenant (root's too)
manages the users of its own tenant, and no other. Another user of the
tenant may make a call only if its identity policies allow the IAM action
(`iam:CreateUser`, ...) on the user it names
(`arn:aws:iam::<tenant>:user/<name>`), as AWS lets an IAM user hold IAM
permissions; a user without policies may make none (IAM's default deny).
"""

from __future__ import annotations

from dolium.core.access import identity
from dolium.core.access.actions import Decision
from dolium.core.accounts.identity_policies import IdentityPolicies
from dolium.core.accounts.service import AccountService
from dolium.core.clock import Clock
from dolium.errors import AccessDenied, NoSuchAccessKey
from dolium.model import AccessKey, Principal, User
from dolium.protocols.meta import MetaStore


def user_arn(tenant: str, user: str) -> str:
    return f"arn:aws:iam::{tenant}:user/{user}"


class TenantUsers:
    def __init__(self, meta: MetaStore, clock: Clock, principal: Principal) -> None:
        if principal.anonymous:
            raise AccessDenied("IAM calls must be signed")
        self.principal = principal
        self.tenant = principal.tenant
        self.accounts = AccountService(meta, clock, principal.actor)
        self.policies = IdentityPolicies(meta, principal.actor)

    def allow(self, action: str, user: str | None) -> None:
        """AccessDenied unless the caller may take IAM action `action` on `user`."""
        if self.principal.admin:
            return
        arn = user_arn(self.tenant, user or self.principal.user)
        if identity.decide(self.principal, f"iam:{action}", arn) is not Decision.ALLOW:
            raise AccessDenied(
                f"{self.tenant}:{self.principal.user} is not authorized to perform "
                f"iam:{action} on resource {arn}"
            )

    def me(self, user: str | None) -> str:
        """The user a call names, or the caller when it names none (as IAM defaults)."""
        return user if user else self.principal.user

    async def create_user(self, user: str) -> User:
        self.allow("CreateUser", user)
        return await self.accounts.add_user(self.tenant, user)

    async def get_user(self, user: str | None) -> User:
        self.allow("GetUser", self.me(user))
        return await self.accounts.get_user(self.tenant, self.me(user))

    async def list_users(self) -> list[User]:
        self.allow("ListUsers", "*")
        return await self.accounts.list_users(self.tenant)

    async def delete_user(self, user: str) -> None:
        self.allow("DeleteUser", user)
        await self.accounts.delete_user(self.tenant, user)

    async def create_key(self, user: str | None) -> AccessKey:
        self.allow("CreateAccessKey", self.me(user))
        return await self.accounts.create_key(self.tenant, self.me(user))

    async def list_keys(self, user: str | None) -> list[AccessKey]:
        name = self.me(user)
        self.allow("ListAccessKeys", name)
        await self.accounts.get_user(self.tenant, name)
        return [k for k in await self.accounts.list_keys(self.tenant) if k.user == name]

    async def delete_key(self, user: str | None, access_key: str) -> None:
        name = self.me(user)
        self.allow("DeleteAccessKey", name)
        await self.accounts.get_user(self.tenant, name)
        key = await self.accounts.meta.get_key(access_key)
        if key is None or (key.tenant, key.user) != (self.tenant, name):
            raise NoSuchAccessKey(f"the access key {access_key} does not exist for user {name}")
        await self.accounts.delete_key(access_key)

    async def put_policy(self, user: str, name: str, document: str) -> None:
        self.allow("PutUserPolicy", user)
        await self.policies.put_user_policy(self.tenant, user, name, document)

    async def get_policy(self, user: str, name: str) -> str:
        self.allow("GetUserPolicy", user)
        return await self.policies.get_user_policy(self.tenant, user, name)

    async def list_policies(self, user: str) -> list[str]:
        self.allow("ListUserPolicies", user)
        return list(await self.policies.list_user_policies(self.tenant, user))

    async def delete_policy(self, user: str, name: str) -> None:
        self.allow("DeleteUserPolicy", user)
        await self.policies.delete_user_policy(self.tenant, user, name)
