"""Identity policies of users and account groups: checked, then kept.

A policy is a named JSON document (the IAM policy language, as
`core.access.identity` evaluates it) attached to a user or to one of its
account's groups. This service checks names and documents before the meta
store keeps them, so that what is stored always parses. Who may call it is
its callers' rule (the admin API, the IAM API).
"""

from __future__ import annotations

import re

from dolium.core.access.identity import parse_identity_policy
from dolium.errors import InvalidArgument, NoSuchPolicy, NoSuchTenant, NoSuchUser
from dolium.model import SERVER, Actor
from dolium.protocols.meta import MetaStore

# IAM's policy names: 1-128 of letters, digits and "+=,.@_-".
_POLICY_NAME_RE = re.compile(r"[A-Za-z0-9+=,.@_-]{1,128}")
# Pithos group names, as its X-Account-Group- headers allow them.
_GROUP_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_policy_name(name: str) -> str:
    if not _POLICY_NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"policy name {name!r} is invalid: use 1-128 letters, digits or '+=,.@_-'"
        )
    return name


def check_group_name(group: str) -> str:
    if not _GROUP_RE.fullmatch(group):
        raise InvalidArgument(
            f"group name {group!r} is invalid: use 1-64 letters, digits, '-' or '_'"
        )
    return group


class IdentityPolicies:
    def __init__(self, meta: MetaStore, actor: Actor = SERVER) -> None:
        self.meta = meta
        self.actor = actor

    # -- users -----------------------------------------------------------------
    async def put_user_policy(self, tenant: str, user: str, name: str, document: str) -> None:
        """Attach (or replace) a policy; MalformedPolicy if the document is not one."""
        check_policy_name(name)
        await self._user(tenant, user)
        parse_identity_policy(document)
        await self.meta.put_user_policy(tenant, user, name, document, actor=self.actor)

    async def get_user_policy(self, tenant: str, user: str, name: str) -> str:
        try:
            return (await self.list_user_policies(tenant, user))[name]
        except KeyError:
            raise NoSuchPolicy(f"user {tenant}:{user} has no policy {name!r}") from None

    async def list_user_policies(self, tenant: str, user: str) -> dict[str, str]:
        await self._user(tenant, user)
        return await self.meta.get_user_policies(tenant, user)

    async def delete_user_policy(self, tenant: str, user: str, name: str) -> None:
        await self._user(tenant, user)
        await self.meta.delete_user_policy(tenant, user, name, actor=self.actor)

    # -- groups ----------------------------------------------------------------
    async def put_group_policy(self, tenant: str, group: str, name: str, document: str) -> None:
        check_group_name(group)
        check_policy_name(name)
        await self._tenant(tenant)
        parse_identity_policy(document)
        await self.meta.put_group_policy(tenant, group, name, document, actor=self.actor)

    async def get_group_policy(self, tenant: str, group: str, name: str) -> str:
        try:
            return (await self.list_group_policies(tenant, group))[name]
        except KeyError:
            raise NoSuchPolicy(f"group {tenant}:{group} has no policy {name!r}") from None

    async def list_group_policies(self, tenant: str, group: str) -> dict[str, str]:
        await self._tenant(tenant)
        return (await self.meta.get_group_policies(tenant)).get(group, {})

    async def delete_group_policy(self, tenant: str, group: str, name: str) -> None:
        await self._tenant(tenant)
        await self.meta.delete_group_policy(tenant, group, name, actor=self.actor)

    # -- helpers ---------------------------------------------------------------
    async def _tenant(self, tenant: str) -> None:
        if await self.meta.get_tenant(tenant) is None:
            raise NoSuchTenant(f"no tenant {tenant!r}")

    async def _user(self, tenant: str, user: str) -> None:
        if await self.meta.get_user(tenant, user) is None:
            raise NoSuchUser(f"no user {tenant}:{user}")
