"""The change log of the SQL meta store: appending records, reading the feed,
and the consumers' cursors.

Each write of the store calls `append` with its own connection, inside its
own transaction, so a record commits with its change or not at all. This
module decides no rule: what a record says is the caller's business.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.schema import changes, cursors
from dolium.model import Actor, Change, ChangeAction, ObjectVersion, version_change

_INSERT = changes.insert()
# Readers of the feed must never see a serial commit after a higher one. One
# writer at a time (SQLite) gives that; on PostgreSQL, where transactions
# commit concurrently, appenders queue on this transaction lock until commit,
# so serials are taken and committed in the same order. The key is an
# arbitrary constant, distinct from the store's other advisory locks.
_APPEND_LOCK_KEY = 0x646F6C69756D01
_APPEND_LOCK = sa.select(
    sa.func.pg_advisory_xact_lock(sa.literal(_APPEND_LOCK_KEY, sa.BigInteger()))
)
_C = cursors.c


def _values(c: Change) -> dict[str, Any]:
    return {
        "time": c.time,
        "action": str(c.action),
        "actor_tenant": c.actor.tenant,
        "actor_user": c.actor.user,
        "actor_key": c.actor.access_key,
        "actor_address": c.actor.address,
        "request_id": c.actor.request_id,
        "tenant": c.tenant,
        "bucket": c.bucket,
        "key": c.key.encode(),
        "name": c.name,
        "version_id": c.version_id,
        "size": c.size,
        "etag": c.etag,
        "top_hash": c.top_hash,
    }


def _to_change(r: Any) -> Change:
    actor = Actor(r.actor_tenant, r.actor_user, r.actor_key, r.actor_address, r.request_id)
    return Change(
        serial=r.serial,
        time=r.time,
        action=ChangeAction(r.action),
        actor=actor,
        tenant=r.tenant,
        bucket=r.bucket,
        key=bytes(r.key).decode(),
        name=r.name,
        version_id=r.version_id,
        size=r.size,
        etag=r.etag,
        top_hash=r.top_hash,
    )


async def append(conn: AsyncConnection, change: Change) -> None:
    """Append `change` in the transaction of `conn`; the database assigns its serial."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_APPEND_LOCK)
    await conn.execute(_INSERT, _values(change))


async def record(
    conn: AsyncConnection,
    action: ChangeAction,
    actor: Actor,
    *,
    tenant: str = "",
    bucket: str = "",
    key: str = "",
    name: str = "",
) -> None:
    """Append the record of a change that is not about one version."""
    await append(conn, Change(0, time.time(), action, actor, tenant, bucket, key, name))


async def record_version(
    conn: AsyncConnection,
    action: ChangeAction,
    version: ObjectVersion,
    actor: Actor,
    name: str = "",
) -> None:
    """Append the record of a change that made, changed or removed `version`."""
    await append(conn, version_change(action, version, actor, time.time(), name))


class ChangeLogQueries(SqlBase):
    async def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        if limit <= 0:
            return []
        query = (
            changes.select().where(changes.c.serial > after).order_by(changes.c.serial).limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_to_change(r) for r in rows]

    async def cursor(self, consumer: str) -> int:
        query = sa.select(_C.serial).where(_C.consumer == consumer)
        async with self._read() as conn:
            found = (await conn.execute(query)).scalar()
        return int(found) if found is not None else 0

    async def advance_cursor(self, consumer: str, serial: int) -> None:
        forward = cursors.update().where(_C.consumer == consumer, _C.serial < serial)
        known = sa.select(_C.serial).where(_C.consumer == consumer)
        insert = cursors.insert().values(consumer=consumer, serial=serial)

        async def op(conn: AsyncConnection) -> None:
            moved = (await conn.execute(forward.values(serial=serial))).rowcount
            if not moved and (await conn.execute(known)).first() is None:
                await conn.execute(insert)

        try:
            await self._transact(op)
        except exc.IntegrityError:
            # Another process created the cursor meanwhile: move it forward instead.
            await self._transact(op)
