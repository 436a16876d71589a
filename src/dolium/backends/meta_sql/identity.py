"""Deleting users and keys, and the identity policies of users and account groups in
the SQL meta store.

Only records: what a policy says and whom it restricts is the core's business.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from dolium.backends.meta_sql.base import SqlBase, all_rows
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.schema import (
    access_keys,
    group_policies,
    tenants,
    user_policies,
    users,
)
from dolium.errors import NoSuchAccessKey, NoSuchPolicy, NoSuchTenant, NoSuchUser
from dolium.model import SERVER, Actor, ChangeAction

_P = sa.bindparam
_U = user_policies.c
_G = group_policies.c

_DROP_KEY = (
    access_keys.delete().where(access_keys.c.access_key == _P("k")).returning(access_keys.c.tenant)
)
_DROP_USER = users.delete().where(users.c.tenant == _P("t"), users.c.name == _P("u"))
_USER_EXISTS = sa.select(sa.literal(1)).where(users.c.tenant == _P("t"), users.c.name == _P("u"))
_TENANT_EXISTS = sa.select(sa.literal(1)).where(tenants.c.name == _P("t"))
_USER_POLICY = (_U.tenant == _P("t"), _U.user_name == _P("u"), _U.name == _P("n"))
_DROP_USER_POLICY = user_policies.delete().where(*_USER_POLICY)
_INSERT_USER_POLICY = user_policies.insert()
_USER_POLICIES = (
    sa.select(_U.name, _U.document)
    .where(_U.tenant == _P("t"), _U.user_name == _P("u"))
    .order_by(_U.name)
)
_GROUP_POLICY = (_G.account == _P("t"), _G.group_name == _P("g"), _G.name == _P("n"))
_DROP_GROUP_POLICY = group_policies.delete().where(*_GROUP_POLICY)
_INSERT_GROUP_POLICY = group_policies.insert()
_GROUP_POLICIES = (
    sa.select(_G.group_name, _G.name, _G.document)
    .where(_G.account == _P("t"))
    .order_by(_G.group_name, _G.name)
)


def _found(conn: Connection, probe: sa.Select[Any], **values: str) -> bool:
    return conn.execute(probe, values).first() is not None


class IdentityQueries(SqlBase):
    async def delete_user(self, tenant: str, name: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            # Keys and policies go with it (ON DELETE CASCADE).
            if conn.execute(_DROP_USER, {"t": tenant, "u": name}).rowcount == 0:
                raise NoSuchUser(f"no user {name!r} in tenant {tenant!r}", user=name)
            record(conn, ChangeAction.USER_DELETE, actor, tenant=tenant, name=name)

        await self._transact(op)

    async def delete_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            tenant = conn.execute(_DROP_KEY, {"k": access_key}).scalar()
            if tenant is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            record(conn, ChangeAction.KEY_DELETE, actor, tenant=tenant, name=access_key)

        await self._transact(op)

    async def put_user_policy(
        self, tenant: str, user: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        row = {"tenant": tenant, "user_name": user, "name": name, "document": document}

        def op(conn: Connection) -> None:
            if not _found(conn, _USER_EXISTS, t=tenant, u=user):
                raise NoSuchUser(f"no user {user!r} in tenant {tenant!r}", user=user)
            # Replace: delete then insert, in one transaction (portable upsert).
            conn.execute(_DROP_USER_POLICY, {"t": tenant, "u": user, "n": name})
            conn.execute(_INSERT_USER_POLICY, row)
            record(conn, ChangeAction.USER_POLICY_SET, actor, tenant=tenant, name=f"{user}/{name}")

        await self._transact(op)

    async def delete_user_policy(
        self, tenant: str, user: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        def op(conn: Connection) -> None:
            if conn.execute(_DROP_USER_POLICY, {"t": tenant, "u": user, "n": name}).rowcount == 0:
                raise NoSuchPolicy(f"user {tenant}:{user} has no policy {name!r}")
            record(
                conn, ChangeAction.USER_POLICY_DELETE, actor, tenant=tenant, name=f"{user}/{name}"
            )

        await self._transact(op)

    async def get_user_policies(self, tenant: str, user: str) -> dict[str, str]:
        rows = await self._query(all_rows(_USER_POLICIES, {"t": tenant, "u": user}))
        return {row.name: row.document for row in rows}

    async def put_group_policy(
        self, account: str, group: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        row = {"account": account, "group_name": group, "name": name, "document": document}

        def op(conn: Connection) -> None:
            if not _found(conn, _TENANT_EXISTS, t=account):
                raise NoSuchTenant(f"no tenant {account!r}", tenant=account)
            conn.execute(_DROP_GROUP_POLICY, {"t": account, "g": group, "n": name})
            conn.execute(_INSERT_GROUP_POLICY, row)
            record(
                conn,
                ChangeAction.ACCOUNT_GROUP_POLICY_SET,
                actor,
                tenant=account,
                name=f"{group}/{name}",
            )

        await self._transact(op)

    async def delete_group_policy(
        self, account: str, group: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        def op(conn: Connection) -> None:
            values = {"t": account, "g": group, "n": name}
            if conn.execute(_DROP_GROUP_POLICY, values).rowcount == 0:
                raise NoSuchPolicy(f"group {account}:{group} has no policy {name!r}")
            record(
                conn,
                ChangeAction.ACCOUNT_GROUP_POLICY_DELETE,
                actor,
                tenant=account,
                name=f"{group}/{name}",
            )

        await self._transact(op)

    async def get_group_policies(self, account: str) -> dict[str, dict[str, str]]:
        rows = await self._query(all_rows(_GROUP_POLICIES, {"t": account}))
        found: dict[str, dict[str, str]] = {}
        for row in rows:
            found.setdefault(row.group_name, {})[row.name] = row.document
        return found
