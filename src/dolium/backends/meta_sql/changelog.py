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
from sqlalchemy import Connection, exc

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
_P = sa.bindparam
_LIMIT = _P("n", type_=sa.Integer())
_FEED = (
    changes.select().where(changes.c.serial > _P("after")).order_by(changes.c.serial).limit(_LIMIT)
)
_CURSOR = sa.select(_C.serial).where(_C.consumer == _P("c"))
_FORWARD = (
    cursors.update().where(_C.consumer == _P("c"), _C.serial < _P("s")).values(serial=_P("s"))
)
_NEW_CURSOR = cursors.insert().values(consumer=_P("c"), serial=_P("s"))


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


def append(conn: Connection, change: Change) -> None:
    """Append `change` in the transaction of `conn`; the database assigns its serial."""
    if conn.dialect.name == "postgresql":
        conn.execute(_APPEND_LOCK)
    conn.execute(_INSERT, _values(change))


def record(
    conn: Connection,
    action: ChangeAction,
    actor: Actor,
    *,
    tenant: str = "",
    bucket: str = "",
    key: str = "",
    name: str = "",
) -> None:
    """Append the record of a change that is not about one version."""
    append(conn, Change(0, time.time(), action, actor, tenant, bucket, key, name))


def record_version(
    conn: Connection,
    action: ChangeAction,
    version: ObjectVersion,
    actor: Actor,
    name: str = "",
) -> None:
    """Append the record of a change that made, changed or removed `version`."""
    append(conn, version_change(action, version, actor, time.time(), name))


class ChangeLogQueries(SqlBase):
    async def record_refusal(self, change: Change) -> None:
        await self._transact(lambda conn: append(conn, change), durable=False)

    async def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        if limit <= 0:
            return []

        def op(conn: Connection) -> list[Change]:
            rows = conn.execute(_FEED, {"after": after, "n": limit})
            return [_to_change(r) for r in rows]

        return await self._query(op)

    async def cursor(self, consumer: str) -> int:
        def op(conn: Connection) -> Any:
            return conn.execute(_CURSOR, {"c": consumer}).scalar()

        found = await self._query(op, point=True)
        return int(found) if found is not None else 0

    async def advance_cursor(self, consumer: str, serial: int) -> None:
        values = {"c": consumer, "s": serial}

        def op(conn: Connection) -> None:
            moved = conn.execute(_FORWARD, values).rowcount
            if not moved and conn.execute(_CURSOR, values).first() is None:
                conn.execute(_NEW_CURSOR, values)

        try:
            await self._transact(op)
        except exc.IntegrityError:
            # Another process created the cursor meanwhile: move it forward instead.
            await self._transact(op)
