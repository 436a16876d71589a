"""Tenants, users, access keys, accounts and containers in the SQL meta store.

Only records: which names are valid, who may do what and how keys are made
is the core's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import blocks, codec
from dolium.backends.meta_sql.addresses import (
    ACCOUNT_USAGE,
    CID,
    address_of,
    container_id,
    params,
)
from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.ordering import byte_order
from dolium.backends.meta_sql.schema import (
    access_keys,
    account_groups,
    accounts,
    bucket_names,
    buckets,
    config_epoch,
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
    StorageError,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import (
    SERVER,
    AccessKey,
    Account,
    Actor,
    Bucket,
    ChangeAction,
    Tenant,
    Usage,
    User,
)

_P = sa.bindparam


async def _exists(conn: AsyncConnection, query: sa.Select[Any]) -> bool:
    return (await conn.execute(query.limit(1))).first() is not None


def _one(column: sa.ColumnElement[Any], value: object) -> sa.Select[Any]:
    return sa.select(sa.literal(1)).where(column == value)


# No row (a schema made without the migrations) reads as a fixed epoch.
_EPOCH = sa.select(sa.func.coalesce(sa.select(config_epoch.c.n).scalar_subquery(), 0))


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

    async def config_epoch(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(_EPOCH)).scalar_one())

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

    # -- accounts --------------------------------------------------------------
    async def get_account(self, name: str) -> Account:
        meta = sa.select(accounts.c.meta).where(accounts.c.name == name).scalar_subquery()
        query = ACCOUNT_USAGE.add_columns(meta.label("meta"))
        async with self._read() as conn:
            row = (await conn.execute(query, {"a": name})).one()
        return Account(name, codec.load_map(row.meta), Usage(int(row.bytes), int(row.objects)))

    async def set_account_meta(
        self, name: str, meta: Mapping[str, str], *, actor: Actor = SERVER
    ) -> None:
        text = codec.dump_map(meta)

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(accounts.delete().where(accounts.c.name == name))
            if text is not None:
                await conn.execute(accounts.insert().values(name=name, meta=text))
            await record(conn, ChangeAction.ACCOUNT_META_SET, actor, tenant=name)

        await self._transact(op)

    async def set_group(
        self, account: str, group: str, members: Collection[str], *, actor: Actor = SERVER
    ) -> None:
        mine = (account_groups.c.account == account, account_groups.c.name == group)
        rows = [{"account": account, "name": group, "member": m} for m in sorted(set(members))]

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(account_groups.delete().where(*mine))
            if rows:
                await conn.execute(account_groups.insert(), rows)
            await record(conn, ChangeAction.ACCOUNT_GROUP_SET, actor, tenant=account, name=group)

        await self._transact(op)

    async def get_groups(self, account: str) -> dict[str, tuple[str, ...]]:
        query = (
            account_groups.select()
            .where(account_groups.c.account == account)
            .order_by(account_groups.c.name, account_groups.c.member)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        groups: dict[str, tuple[str, ...]] = {}
        for row in rows:
            groups[row.name] = (*groups.get(row.name, ()), row.member)
        return groups

    # -- containers ------------------------------------------------------------
    async def _create(self, bucket: Bucket, *, claim: bool, required: bool, actor: Actor) -> Bucket:
        """Insert a container and, with `claim`, its global name: required, or if free."""
        owner, name = bucket.owner, bucket.name  # a name here, not yet an address
        taken = BucketAlreadyExists(f"bucket {bucket.name!r} exists", bucket=bucket.name)
        held = sa.select(bucket_names.c.bucket).where(bucket_names.c.name == name)
        mine = sa.select(buckets.c.id).where(buckets.c.owner == owner, buckets.c.name == name)

        async def op(conn: AsyncConnection) -> Bucket:
            global_held = claim and await _exists(conn, held)
            if (required and global_held) or await _exists(conn, mine):
                raise taken
            values = codec.bucket_values(bucket) | {
                "owner": owner,
                "name": name,
                "bytes": 0,
                "objects": 0,
            }
            inserted = (await conn.execute(buckets.insert().values(values))).inserted_primary_key
            if inserted is None:
                raise StorageError("meta store: the database assigned no container id")
            cid = int(inserted[0])
            holds = claim and not global_held
            if holds:
                await conn.execute(bucket_names.insert().values(name=name, bucket=cid))
            address = address_of(owner, name, name if holds else None)
            await record(conn, ChangeAction.BUCKET_CREATE, actor, tenant=owner, bucket=address)
            return dataclasses.replace(bucket, name=address, id=cid)

        try:
            return await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def create_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> Bucket:
        return await self._create(bucket, claim=True, required=True, actor=actor)

    async def create_container(
        self, bucket: Bucket, *, claim: bool, actor: Actor = SERVER
    ) -> Bucket:
        return await self._create(bucket, claim=claim, required=False, actor=actor)

    # A container with its global name, if it holds one.
    _CONTAINERS = sa.select(buckets, bucket_names.c.name.label("global_name")).select_from(
        buckets.outerjoin(bucket_names, bucket_names.c.bucket == buckets.c.id)
    )
    _GET_BUCKET = _CONTAINERS.where(buckets.c.id == CID)

    @staticmethod
    def _to_bucket(row: Any) -> Bucket:
        return codec.to_bucket(row, address_of(row.owner, row.name, row.global_name))

    async def get_bucket(self, name: str) -> Bucket | None:
        async with self._read() as conn:
            row = (await conn.execute(self._GET_BUCKET, params(name))).first()
        return None if row is None else self._to_bucket(row)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        query = self._CONTAINERS
        if owner is not None:
            query = query.where(buckets.c.owner == owner)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return sorted((self._to_bucket(r) for r in rows), key=lambda b: b.name.encode())

    async def get_usage(self, bucket: str) -> Usage:
        query = sa.select(buckets.c.bytes, buckets.c.objects).where(buckets.c.id == CID)
        async with self._read() as conn:
            row = (await conn.execute(query, params(bucket))).first()
        if row is None:
            raise NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        return Usage(row.bytes, row.objects)

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        values = codec.bucket_values(bucket)
        del values["configs"]
        query = buckets.update().where(buckets.c.id == container_id(bucket.name)).values(values)

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
        select = self._GET_BUCKET.with_for_update(of=buckets)

        async def op(conn: AsyncConnection) -> Bucket:
            row = (await conn.execute(select, params(name))).first()
            if row is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            configs = dict(codec.load_map(row.configs))
            if document is None:
                configs.pop(config, None)
            else:
                configs[config] = document
            text = codec.dump_map(configs)
            await conn.execute(buckets.update().where(buckets.c.id == row.id).values(configs=text))
            action = (
                ChangeAction.BUCKET_CONFIG_DELETE
                if document is None
                else ChangeAction.BUCKET_CONFIG_SET
            )
            await record(conn, action, actor, tenant=row.owner, bucket=name, name=config)
            return dataclasses.replace(self._to_bucket(row), configs=codec.load_map(text))

        return await self._transact(op)

    _LOCK_CONTAINER = (
        sa.select(buckets.c.id, buckets.c.owner).where(buckets.c.id == CID).with_for_update()
    )

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        async def op(conn: AsyncConnection) -> None:
            # Locked: a concurrent put into the bucket either commits first and
            # is seen below, or waits and then finds no bucket.
            found = (await conn.execute(self._LOCK_CONTAINER, params(name))).first()
            if found is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            cid, tenant = found.id, found.owner
            if await _exists(conn, _one(versions.c.bucket, cid)):
                raise BucketNotEmpty(f"bucket {name!r} is not empty", bucket=name)
            # Parts go with their uploads (ON DELETE CASCADE); the explicit
            # delete keeps this independent of the bucket -> uploads cascade.
            await blocks.uncount_parts(conn, parts.c.bucket == cid)
            # The global name goes with the container (ON DELETE CASCADE).
            await conn.execute(uploads.delete().where(uploads.c.bucket == cid))
            await conn.execute(buckets.delete().where(buckets.c.id == cid))
            await record(conn, ChangeAction.BUCKET_DELETE, actor, tenant=tenant, bucket=name)

        await self._transact(op)
