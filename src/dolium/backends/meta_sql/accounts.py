"""Tenants, users, access keys and buckets in the SQL meta store.

Only records: which names are valid, who may do what and how keys are made
is the core's business.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import blocks, codec
from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.ordering import byte_order
from dolium.backends.meta_sql.schema import (
    access_keys,
    buckets,
    parts,
    tenants,
    uploads,
    users,
    versions,
)
from dolium.errors import (
    AccessKeyExists,
    BucketAlreadyExists,
    BucketNotEmpty,
    NoSuchAccessKey,
    NoSuchBucket,
    NoSuchTenant,
    NoSuchUser,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import SERVER, AccessKey, Actor, Bucket, ChangeAction, Tenant, User

_P = sa.bindparam


async def _exists(conn: AsyncConnection, query: sa.Select[Any]) -> bool:
    return (await conn.execute(query.limit(1))).first() is not None


def _one(column: sa.ColumnElement[Any], value: object) -> sa.Select[Any]:
    return sa.select(sa.literal(1)).where(column == value)


class AccountQueries(SqlBase):
    # -- tenants ---------------------------------------------------------------
    async def create_tenant(self, tenant: Tenant, *, actor: Actor = SERVER) -> None:
        taken = TenantExists(f"tenant {tenant.name!r} exists", tenant=tenant.name)

        async def op(conn: AsyncConnection) -> None:
            if await _exists(conn, _one(tenants.c.name, tenant.name)):
                raise taken
            await conn.execute(
                tenants.insert().values(
                    name=tenant.name,
                    canonical_id=tenant.canonical_id,
                    display_name=tenant.display_name,
                    email=tenant.email,
                    created=tenant.created,
                )
            )
            await record(conn, ChangeAction.TENANT_CREATE, actor, tenant=tenant.name)

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def get_tenant(self, name: str) -> Tenant | None:
        async with self._read() as conn:
            row = (await conn.execute(tenants.select().where(tenants.c.name == name))).first()
        return None if row is None else codec.to_tenant(row)

    async def list_tenants(self) -> list[Tenant]:
        async with self._read() as conn:
            rows = (await conn.execute(tenants.select().order_by(byte_order(tenants.c.name)))).all()
        return [codec.to_tenant(r) for r in rows]

    async def delete_tenant(self, name: str, *, actor: Actor = SERVER) -> None:
        async def op(conn: AsyncConnection) -> None:
            if not await _exists(conn, _one(tenants.c.name, name)):
                raise NoSuchTenant(f"no tenant {name!r}", tenant=name)
            if await _exists(conn, _one(buckets.c.owner, name)):
                raise TenantNotEmpty(f"tenant {name!r} still owns buckets", tenant=name)
            # Users and keys go with it (ON DELETE CASCADE).
            await conn.execute(tenants.delete().where(tenants.c.name == name))
            await record(conn, ChangeAction.TENANT_DELETE, actor, tenant=name)

        await self._transact(op)

    # -- users -----------------------------------------------------------------
    async def create_user(self, user: User, *, actor: Actor = SERVER) -> None:
        taken = UserExists(f"user {user.name!r} exists", user=user.name)

        async def op(conn: AsyncConnection) -> None:
            if not await _exists(conn, _one(tenants.c.name, user.tenant)):
                raise NoSuchTenant(f"no tenant {user.tenant!r}", tenant=user.tenant)
            if await _exists(
                conn, _one(users.c.tenant, user.tenant).where(users.c.name == user.name)
            ):
                raise taken
            await conn.execute(
                users.insert().values(
                    tenant=user.tenant, name=user.name, admin=user.admin, created=user.created
                )
            )
            await record(conn, ChangeAction.USER_CREATE, actor, tenant=user.tenant, name=user.name)

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def get_user(self, tenant: str, name: str) -> User | None:
        query = users.select().where(users.c.tenant == tenant, users.c.name == name)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else codec.to_user(row)

    async def list_users(self, tenant: str | None = None) -> list[User]:
        query = users.select().order_by(byte_order(users.c.tenant), byte_order(users.c.name))
        if tenant is not None:
            query = query.where(users.c.tenant == tenant)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_user(r) for r in rows]

    # -- access keys -----------------------------------------------------------
    async def create_key(self, key: AccessKey, *, actor: Actor = SERVER) -> None:
        taken = AccessKeyExists(f"access key {key.access_key!r} exists")

        async def op(conn: AsyncConnection) -> None:
            if not await _exists(
                conn, _one(users.c.tenant, key.tenant).where(users.c.name == key.user)
            ):
                raise NoSuchUser(f"no user {key.user!r} in tenant {key.tenant!r}")
            if await _exists(conn, _one(access_keys.c.access_key, key.access_key)):
                raise taken
            await conn.execute(
                access_keys.insert().values(
                    access_key=key.access_key,
                    secret_key=key.secret_key,
                    tenant=key.tenant,
                    user_name=key.user,
                    created=key.created,
                    active=key.active,
                )
            )
            await record(
                conn, ChangeAction.KEY_CREATE, actor, tenant=key.tenant, name=key.access_key
            )

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    _GET_KEY = access_keys.select().where(access_keys.c.access_key == _P("k"))

    async def get_key(self, access_key: str) -> AccessKey | None:
        # On every signed request: a prepared statement, one round trip.
        async with self._read() as conn:
            row = (await conn.execute(self._GET_KEY, {"k": access_key})).first()
        return None if row is None else codec.to_key(row)

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]:
        query = access_keys.select().order_by(byte_order(access_keys.c.access_key))
        if tenant is not None:
            query = query.where(access_keys.c.tenant == tenant)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_key(r) for r in rows]

    async def revoke_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        query = (
            access_keys.update()
            .where(access_keys.c.access_key == access_key)
            .values(active=False)
            .returning(access_keys.c.tenant)
        )

        async def op(conn: AsyncConnection) -> None:
            tenant = (await conn.execute(query)).scalar()
            if tenant is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            await record(conn, ChangeAction.KEY_REVOKE, actor, tenant=tenant, name=access_key)

        await self._transact(op)

    # -- buckets ---------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        taken = BucketAlreadyExists(f"bucket {bucket.name!r} exists", bucket=bucket.name)

        async def op(conn: AsyncConnection) -> None:
            if await _exists(conn, _one(buckets.c.name, bucket.name)):
                raise taken
            await conn.execute(buckets.insert().values(codec.bucket_values(bucket)))
            await record(
                conn, ChangeAction.BUCKET_CREATE, actor, tenant=bucket.owner, bucket=bucket.name
            )

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    _GET_BUCKET = buckets.select().where(buckets.c.name == _P("name"))

    async def get_bucket(self, name: str) -> Bucket | None:
        async with self._read() as conn:
            row = (await conn.execute(self._GET_BUCKET, {"name": name})).first()
        return None if row is None else codec.to_bucket(row)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        query = buckets.select().order_by(byte_order(buckets.c.name))
        if owner is not None:
            query = query.where(buckets.c.owner == owner)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_bucket(r) for r in rows]

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        values = codec.bucket_values(bucket)
        del values["name"], values["configs"]
        query = buckets.update().where(buckets.c.name == bucket.name).values(values)

        async def op(conn: AsyncConnection) -> None:
            if (await conn.execute(query)).rowcount == 0:
                raise NoSuchBucket(f"no bucket {bucket.name!r}", bucket=bucket.name)
            await record(
                conn, ChangeAction.BUCKET_UPDATE, actor, tenant=bucket.owner, bucket=bucket.name
            )

        await self._transact(op)

    async def set_bucket_config(
        self, name: str, config: str, document: str | None, *, actor: Actor = SERVER
    ) -> Bucket:
        # Read-modify-write inside the write transaction, which serialises
        # writers (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL).
        select = self._GET_BUCKET.with_for_update()

        async def op(conn: AsyncConnection) -> Bucket:
            row = (await conn.execute(select, {"name": name})).first()
            if row is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            configs = dict(codec.load_map(row.configs))
            if document is None:
                configs.pop(config, None)
            else:
                configs[config] = document
            text = codec.dump_map(configs)
            await conn.execute(buckets.update().where(buckets.c.name == name).values(configs=text))
            action = (
                ChangeAction.BUCKET_CONFIG_DELETE
                if document is None
                else ChangeAction.BUCKET_CONFIG_SET
            )
            await record(conn, action, actor, tenant=row.owner, bucket=name, name=config)
            return dataclasses.replace(codec.to_bucket(row), configs=codec.load_map(text))

        return await self._transact(op)

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        owner = sa.select(buckets.c.owner).where(buckets.c.name == name)

        async def op(conn: AsyncConnection) -> None:
            # Locked: a concurrent put into the bucket either commits first and
            # is seen below, or waits and then finds no bucket.
            tenant = (await conn.execute(owner.with_for_update())).scalar()
            if tenant is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            if await _exists(conn, _one(versions.c.bucket, name)):
                raise BucketNotEmpty(f"bucket {name!r} is not empty", bucket=name)
            # Parts go with their uploads (ON DELETE CASCADE); the explicit
            # delete keeps this independent of the bucket -> uploads cascade.
            await blocks.uncount_parts(conn, parts.c.bucket == name)
            await conn.execute(uploads.delete().where(uploads.c.bucket == name))
            await conn.execute(buckets.delete().where(buckets.c.name == name))
            await record(conn, ChangeAction.BUCKET_DELETE, actor, tenant=tenant, bucket=name)

        await self._transact(op)
