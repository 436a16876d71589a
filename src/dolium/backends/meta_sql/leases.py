"""Leases of background work in the SQL meta store (MetaStore.hold_lease).

One upsert takes, renews or leaves the lease, in one statement that
SQLite and PostgreSQL spell alike: the row changes only when it is free,
expired, or already the holder's. Reading the row back in the same
transaction tells who holds it, which is as good as the row lock or the
single writer that made the change.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.schema import job_leases

_J = job_leases.c
_P = sa.bindparam
_HOLDER = sa.select(_J.holder, _J.expires).where(_J.name == _P("name"))
_DROP = job_leases.delete().where(_J.name == _P("name"), _J.holder == _P("holder"))


@cache
def _take(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    take = insert(job_leases).values(name=_P("name"), holder=_P("holder"), expires=_P("until"))
    return take.on_conflict_do_update(
        index_elements=[_J.name],
        set_={"holder": take.excluded.holder, "expires": take.excluded.expires},
        where=sa.or_(_J.holder == take.excluded.holder, _J.expires <= _P("now")),
    )


class LeaseQueries(SqlBase):
    async def hold_lease(self, name: str, holder: str, *, now: float, until: float) -> bool:
        values = {"name": name, "holder": holder, "now": now, "until": until}

        def op(conn: Connection) -> bool:
            conn.execute(_take(conn.dialect.name), values)
            row = conn.execute(_HOLDER, values).first()
            return row is not None and row.holder == holder

        # Not durable: a lease lost in a crash of the database is taken again.
        return await self._transact(op, durable=False)

    async def drop_lease(self, name: str, holder: str) -> None:
        values = {"name": name, "holder": holder}
        await self._transact(lambda conn: conn.execute(_DROP, values), durable=False)

    async def lease_holder(self, name: str, *, now: float) -> str | None:
        row = await self._query(lambda conn: conn.execute(_HOLDER, {"name": name}).first())
        return row.holder if row is not None and row.expires > now else None
