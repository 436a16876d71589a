"""Tenants, users, access keys, accounts and containers in the SQL meta store.

Only records: which names are valid, who may do what and how keys are made
is the core's business.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, exc

from dolium.backends.meta_sql import blocks, codec
from dolium.backends.meta_sql.addresses import ACCOUNT_USAGE, CID, address_of, params
from dolium.backends.meta_sql.base import SqlBase, all_rows, first_row
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.ordering import byte_order
from dolium.backends.meta_sql.schema import (
    access_keys,
    account_groups,
    accounts,
    bucket_names,
    buckets,
    config_epoch,
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
_B = buckets.c


def _probe(table: sa.Table, **columns: str) -> sa.Select[Any]:
    """Whether a row of `table` has these columns equal to these parameters."""
    where = [table.c[name] == _P(param) for name, param in columns.items()]
    return sa.select(sa.literal(1)).where(*where).limit(1)


def _exists(conn: Connection, probe: sa.Select[Any], **values: Any) -> bool:
    return conn.execute(probe, values).first() is not None


_TENANT_EXISTS = _probe(tenants, name="t")
_OWNS_BUCKETS = _probe(buckets, owner="t")
_USER_EXISTS = _probe(users, tenant="t", name="u")
_KEY_EXISTS = _probe(access_keys, access_key="k")
_NAME_HELD = _probe(bucket_names, name="n")
_CONTAINER_EXISTS = _probe(buckets, owner="t", name="n")
_HAS_VERSIONS = _probe(versions, bucket="c")

_GET_TENANT = tenants.select().where(tenants.c.name == _P("t"))
_TENANTS = tenants.select().order_by(byte_order(tenants.c.name))
_DROP_TENANT = tenants.delete().where(tenants.c.name == _P("t"))
_GET_USER = users.select().where(users.c.tenant == _P("t"), users.c.name == _P("u"))
_USERS = users.select().order_by(byte_order(users.c.tenant), byte_order(users.c.name))
_USERS_OF = _USERS.where(users.c.tenant == _P("t"))
_GET_KEY = access_keys.select().where(access_keys.c.access_key == _P("k"))
_KEYS = access_keys.select().order_by(byte_order(access_keys.c.access_key))
_KEYS_OF = _KEYS.where(access_keys.c.tenant == _P("t"))
_REVOKE = (
    access_keys.update()
    .where(access_keys.c.access_key == _P("k"))
    .values(active=False)
    .returning(access_keys.c.tenant)
)
_ACCOUNT = ACCOUNT_USAGE.add_columns(
    sa.select(accounts.c.meta).where(accounts.c.name == _P("a")).scalar_subquery().label("meta")
)
_DROP_ACCOUNT_META = accounts.delete().where(accounts.c.name == _P("a"))
_GROUP = (account_groups.c.account == _P("a"), account_groups.c.name == _P("g"))
_DROP_GROUP = account_groups.delete().where(*_GROUP)
_GROUPS = (
    account_groups.select()
    .where(account_groups.c.account == _P("a"))
    .order_by(account_groups.c.name, account_groups.c.member)
)
# A container with its global name, if it holds one.
_CONTAINERS = sa.select(buckets, bucket_names.c.name.label("global_name")).select_from(
    buckets.outerjoin(bucket_names, bucket_names.c.bucket == _B.id)
)
_CONTAINERS_OF = _CONTAINERS.where(_B.owner == _P("t"))
_GET_BUCKET = _CONTAINERS.where(_B.id == CID)
# Read-modify-write inside the write transaction, which serialises writers
# (BEGIN IMMEDIATE on SQLite, a row lock on PostgreSQL).
_LOCK_BUCKET = _GET_BUCKET.with_for_update(of=buckets)
_SET_CONFIGS = buckets.update().where(_B.id == _P("c")).values(configs=_P("text"))
_USAGE = sa.select(_B.bytes, _B.objects).where(_B.id == CID)
_LOCK_CONTAINER = sa.select(_B.id, _B.owner).where(_B.id == CID).with_for_update()
_DROP_UPLOADS = uploads.delete().where(uploads.c.bucket == _P("c"))
_DROP_CONTAINER = buckets.delete().where(_B.id == _P("c"))
_INSERT_TENANT = tenants.insert()
_INSERT_USER = users.insert()
_INSERT_KEY = access_keys.insert()
_INSERT_ACCOUNT_META = accounts.insert()
_INSERT_MEMBERS = account_groups.insert()
_INSERT_CONTAINER = buckets.insert()
_CLAIM_NAME = bucket_names.insert()


def _to_bucket(row: Any) -> Bucket:
    return codec.to_bucket(row, address_of(row.owner, row.name, row.global_name))


# No row (a schema made without the migrations) reads as a fixed epoch.
CONFIG_EPOCH = sa.select(sa.func.coalesce(sa.select(config_epoch.c.n).scalar_subquery(), 0))


class AccountQueries(SqlBase):
    # -- tenants ---------------------------------------------------------------
    async def create_tenant(self, tenant: Tenant, *, actor: Actor = SERVER) -> None:
        taken = TenantExists(f"tenant {tenant.name!r} exists", tenant=tenant.name)

        def op(conn: Connection) -> None:
            if _exists(conn, _TENANT_EXISTS, t=tenant.name):
                raise taken
            conn.execute(
                _INSERT_TENANT,
                {
                    "name": tenant.name,
                    "canonical_id": tenant.canonical_id,
                    "display_name": tenant.display_name,
                    "email": tenant.email,
                    "created": tenant.created,
                },
            )
            record(conn, ChangeAction.TENANT_CREATE, actor, tenant=tenant.name)

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def config_epoch(self) -> int:
        row = await self._query(first_row(CONFIG_EPOCH, {}), point=True)
        return 0 if row is None else int(row[0])

    async def get_tenant(self, name: str) -> Tenant | None:
        row = await self._query(first_row(_GET_TENANT, {"t": name}), point=True)
        return None if row is None else codec.to_tenant(row)

    async def list_tenants(self) -> list[Tenant]:
        rows = await self._query(all_rows(_TENANTS, {}))
        return [codec.to_tenant(r) for r in rows]

    async def delete_tenant(self, name: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            if not _exists(conn, _TENANT_EXISTS, t=name):
                raise NoSuchTenant(f"no tenant {name!r}", tenant=name)
            if _exists(conn, _OWNS_BUCKETS, t=name):
                raise TenantNotEmpty(f"tenant {name!r} still owns buckets", tenant=name)
            # Users and keys go with it (ON DELETE CASCADE).
            conn.execute(_DROP_TENANT, {"t": name})
            record(conn, ChangeAction.TENANT_DELETE, actor, tenant=name)

        await self._transact(op)

    # -- users -----------------------------------------------------------------
    async def create_user(self, user: User, *, actor: Actor = SERVER) -> None:
        taken = UserExists(f"user {user.name!r} exists", user=user.name)

        def op(conn: Connection) -> None:
            if not _exists(conn, _TENANT_EXISTS, t=user.tenant):
                raise NoSuchTenant(f"no tenant {user.tenant!r}", tenant=user.tenant)
            if _exists(conn, _USER_EXISTS, t=user.tenant, u=user.name):
                raise taken
            conn.execute(
                _INSERT_USER,
                {
                    "tenant": user.tenant,
                    "name": user.name,
                    "admin": user.admin,
                    "created": user.created,
                },
            )
            record(conn, ChangeAction.USER_CREATE, actor, tenant=user.tenant, name=user.name)

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def get_user(self, tenant: str, name: str) -> User | None:
        row = await self._query(first_row(_GET_USER, {"t": tenant, "u": name}), point=True)
        return None if row is None else codec.to_user(row)

    async def list_users(self, tenant: str | None = None) -> list[User]:
        query = _USERS if tenant is None else _USERS_OF
        rows = await self._query(all_rows(query, {"t": tenant}))
        return [codec.to_user(r) for r in rows]

    # -- access keys -----------------------------------------------------------
    async def create_key(self, key: AccessKey, *, actor: Actor = SERVER) -> None:
        taken = AccessKeyExists(f"access key {key.access_key!r} exists")

        def op(conn: Connection) -> None:
            if not _exists(conn, _USER_EXISTS, t=key.tenant, u=key.user):
                raise NoSuchUser(f"no user {key.user!r} in tenant {key.tenant!r}")
            if _exists(conn, _KEY_EXISTS, k=key.access_key):
                raise taken
            conn.execute(
                _INSERT_KEY,
                {
                    "access_key": key.access_key,
                    "secret_key": key.secret_key,
                    "tenant": key.tenant,
                    "user_name": key.user,
                    "created": key.created,
                    "active": key.active,
                },
            )
            record(conn, ChangeAction.KEY_CREATE, actor, tenant=key.tenant, name=key.access_key)

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            raise taken from e

    async def get_key(self, access_key: str) -> AccessKey | None:
        # On every signed request.
        row = await self._query(first_row(_GET_KEY, {"k": access_key}), point=True)
        return None if row is None else codec.to_key(row)

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]:
        query = _KEYS if tenant is None else _KEYS_OF
        rows = await self._query(all_rows(query, {"t": tenant}))
        return [codec.to_key(r) for r in rows]

    async def revoke_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            tenant = conn.execute(_REVOKE, {"k": access_key}).scalar()
            if tenant is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            record(conn, ChangeAction.KEY_REVOKE, actor, tenant=tenant, name=access_key)

        await self._transact(op)

    # -- accounts --------------------------------------------------------------
    async def get_account(self, name: str) -> Account:
        # A sum over the account's containers: a scan, however short.
        row = await self._query(lambda conn: conn.execute(_ACCOUNT, {"a": name}).one())
        return Account(name, codec.load_map(row.meta), Usage(int(row.bytes), int(row.objects)))

    async def set_account_meta(
        self, name: str, meta: Mapping[str, str], *, actor: Actor = SERVER
    ) -> None:
        text = codec.dump_map(meta)

        def op(conn: Connection) -> None:
            conn.execute(_DROP_ACCOUNT_META, {"a": name})
            if text is not None:
                conn.execute(_INSERT_ACCOUNT_META, {"name": name, "meta": text})
            record(conn, ChangeAction.ACCOUNT_META_SET, actor, tenant=name)

        await self._transact(op)

    async def set_group(
        self, account: str, group: str, members: Collection[str], *, actor: Actor = SERVER
    ) -> None:
        rows = [{"account": account, "name": group, "member": m} for m in sorted(set(members))]

        def op(conn: Connection) -> None:
            conn.execute(_DROP_GROUP, {"a": account, "g": group})
            if rows:
                conn.execute(_INSERT_MEMBERS, rows)
            record(conn, ChangeAction.ACCOUNT_GROUP_SET, actor, tenant=account, name=group)

        await self._transact(op)

    async def get_groups(self, account: str) -> dict[str, tuple[str, ...]]:
        rows = await self._query(all_rows(_GROUPS, {"a": account}))
        groups: dict[str, tuple[str, ...]] = {}
        for row in rows:
            groups[row.name] = (*groups.get(row.name, ()), row.member)
        return groups

    # -- containers ------------------------------------------------------------
    async def _create(self, bucket: Bucket, *, claim: bool, required: bool, actor: Actor) -> Bucket:
        """Insert a container and, with `claim`, its global name: required, or if free."""
        owner, name = bucket.owner, bucket.name  # a name here, not yet an address
        taken = BucketAlreadyExists(f"bucket {bucket.name!r} exists", bucket=bucket.name)
        values = codec.bucket_values(bucket) | {
            "owner": owner,
            "name": name,
            "bytes": 0,
            "objects": 0,
        }

        def op(conn: Connection) -> Bucket:
            global_held = claim and _exists(conn, _NAME_HELD, n=name)
            if (required and global_held) or _exists(conn, _CONTAINER_EXISTS, t=owner, n=name):
                raise taken
            inserted = conn.execute(_INSERT_CONTAINER, values).inserted_primary_key
            if inserted is None:
                raise StorageError("meta store: the database assigned no container id")
            cid = int(inserted[0])
            holds = claim and not global_held
            if holds:
                conn.execute(_CLAIM_NAME, {"name": name, "bucket": cid})
            address = address_of(owner, name, name if holds else None)
            record(conn, ChangeAction.BUCKET_CREATE, actor, tenant=owner, bucket=address)
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

    async def get_bucket(self, name: str) -> Bucket | None:
        row = await self._query(first_row(_GET_BUCKET, params(name)), point=True)
        return None if row is None else _to_bucket(row)

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        query = _CONTAINERS if owner is None else _CONTAINERS_OF
        rows = await self._query(all_rows(query, {"t": owner}))
        return sorted((_to_bucket(r) for r in rows), key=lambda b: b.name.encode())

    async def get_usage(self, bucket: str) -> Usage:
        row = await self._query(first_row(_USAGE, params(bucket)), point=True)
        if row is None:
            raise NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        return Usage(row.bytes, row.objects)

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        values = codec.bucket_values(bucket)
        del values["configs"]
        query = buckets.update().where(_B.id == CID).values(values)
        bound = params(bucket.name)

        def op(conn: Connection) -> None:
            if conn.execute(query, bound).rowcount == 0:
                raise NoSuchBucket(f"no bucket {bucket.name!r}", bucket=bucket.name)
            record(conn, ChangeAction.BUCKET_UPDATE, actor, tenant=bucket.owner, bucket=bucket.name)

        await self._transact(op)

    async def set_bucket_config(
        self, name: str, config: str, document: str | None, *, actor: Actor = SERVER
    ) -> Bucket:
        def op(conn: Connection) -> Bucket:
            row = conn.execute(_LOCK_BUCKET, params(name)).first()
            if row is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            configs = dict(codec.load_map(row.configs))
            if document is None:
                configs.pop(config, None)
            else:
                configs[config] = document
            text = codec.dump_map(configs)
            conn.execute(_SET_CONFIGS, {"c": row.id, "text": text})
            action = (
                ChangeAction.BUCKET_CONFIG_DELETE
                if document is None
                else ChangeAction.BUCKET_CONFIG_SET
            )
            record(conn, action, actor, tenant=row.owner, bucket=name, name=config)
            return dataclasses.replace(_to_bucket(row), configs=codec.load_map(text))

        return await self._transact(op)

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            # Locked: a concurrent put into the bucket either commits first and
            # is seen below, or waits and then finds no bucket.
            found = conn.execute(_LOCK_CONTAINER, params(name)).first()
            if found is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            cid, tenant = found.id, found.owner
            if _exists(conn, _HAS_VERSIONS, c=cid):
                raise BucketNotEmpty(f"bucket {name!r} is not empty", bucket=name)
            # Parts go with their uploads (ON DELETE CASCADE); the explicit
            # delete keeps this independent of the bucket -> uploads cascade.
            blocks.uncount_parts(conn, cid)
            # The global name goes with the container (ON DELETE CASCADE).
            conn.execute(_DROP_UPLOADS, {"c": cid})
            conn.execute(_DROP_CONTAINER, {"c": cid})
            record(conn, ChangeAction.BUCKET_DELETE, actor, tenant=tenant, bucket=name)

        await self._transact(op)
