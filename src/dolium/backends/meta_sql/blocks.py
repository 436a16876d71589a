"""Block references and leases in the SQL meta store.

`count` runs inside the transactions that add or remove references (a
version put, replaced or deleted; a part put or replaced; an upload
completed, aborted or dropped with its bucket), so a block's count is always
that of the committed metadata. The collector reads only rows with no
reference (a partial index holds exactly those), so its work follows the
amount of garbage, not the number of blocks stored.

Upserts use `INSERT ... ON CONFLICT`, which SQLite and PostgreSQL spell
alike; each is built by the dialect of the connection at hand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Collection, Iterable
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import codec
from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.schema import UNREFERENCED, block_leases, block_refs, parts, versions
from dolium.model import BlockRef, Extent

_R = block_refs.c
_L = block_leases.c
_ROWS = 400  # rows per statement, well under every engine's limit of parameters
_PAGE = 500  # rows per query of the reference scan, to keep transactions short


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@cache
def _lease_statements(dialect: str) -> tuple[Any, Any]:
    """(a row for each block, a lease for each block): built once per dialect and
    run with one parameter set per block, so SQLAlchemy compiles each once
    (a statement with its values inside is compiled on every call)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row = insert(block_refs).on_conflict_do_nothing(index_elements=[_R.policy, _R.digest])
    lease = insert(block_leases)
    lease = lease.on_conflict_do_update(
        index_elements=[_L.policy, _L.digest, _L.holder], set_={"expires": lease.excluded.expires}
    )
    return row, lease


async def count(conn: AsyncConnection, policy: str, extents: Iterable[Extent], delta: int) -> None:
    """Add `delta` references to each block of `extents` (once per extent)."""
    counts = Counter(e.digest for e in extents)
    await _add(conn, [(policy, d, n * delta) for d, n in counts.items()])


async def count_packed(conn: AsyncConnection, rows: Iterable[Any], delta: int) -> None:
    """As `count`, for rows with packed `extents` and a `policy` column."""
    counts: Counter[tuple[str, bytes]] = Counter()
    for row in rows:
        counts.update((row.policy, d) for d in codec.extent_digests(row.extents))
    await _add(conn, [(p, d, n * delta) for (p, d), n in counts.items()])


async def _add(conn: AsyncConnection, changes: list[tuple[str, bytes, int]]) -> None:
    for start in range(0, len(changes), _ROWS):
        values = [
            {"policy": p, "digest": d, "refs": n, "doomed": None}
            for p, d, n in changes[start : start + _ROWS]
        ]
        stmt = _insert(conn, block_refs).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_R.policy, _R.digest], set_={"refs": _R.refs + stmt.excluded.refs}
        )
        await conn.execute(stmt)


async def uncount_parts(conn: AsyncConnection, where: Any) -> None:
    """Remove the references of the parts `where` selects (before they are dropped)."""
    rows = (await conn.execute(sa.select(parts.c.policy, parts.c.extents).where(where))).all()
    await count_packed(conn, rows, -1)


def _refs(refs: Collection[BlockRef]) -> Any:
    return sa.tuple_(_R.policy, _R.digest).in_([(r.policy, r.digest) for r in refs])


class BlockQueries(SqlBase):
    async def lease_blocks(
        self, refs: Collection[BlockRef], holder: str, *, now: float, until: float
    ) -> set[BlockRef]:
        wanted = sorted(set(refs), key=lambda r: (r.policy, r.digest))

        async def op(conn: AsyncConnection) -> set[BlockRef]:
            add_row, add_lease = _lease_statements(conn.dialect.name)
            busy: set[BlockRef] = set()
            for start in range(0, len(wanted), _ROWS):
                chunk = wanted[start : start + _ROWS]
                # A row for each block, so that a block stored by a writer
                # that then dies is garbage the collector can find.
                await conn.execute(
                    add_row,
                    [{"policy": r.policy, "digest": r.digest, "refs": 0} for r in chunk],
                )
                doomed = await conn.execute(
                    sa.select(_R.policy, _R.digest).where(_refs(chunk), _R.doomed.is_not(None))
                )
                busy.update(BlockRef(p, d) for p, d in doomed)
                granted = [r for r in chunk if r not in busy]
                if not granted:
                    continue
                await conn.execute(
                    add_lease,
                    [
                        {"policy": r.policy, "digest": r.digest, "holder": holder, "expires": until}
                        for r in granted
                    ],
                )
            return busy

        # Not durable: a crash that undoes a lease ends its writer too, which
        # commits nothing that needs it, and a commit that references the
        # block is durable, and with it everything committed before it.
        return await self._transact(op, durable=False)

    async def claim_garbage(self, *, now: float, stale_before: float, limit: int) -> list[BlockRef]:
        live = (
            sa.select(_L.holder)
            .where(_L.policy == _R.policy, _L.digest == _R.digest, _L.expires > now)
            .exists()
        )
        fresh = sa.or_(_R.doomed.is_(None), _R.doomed < stale_before)
        query = sa.select(_R.policy, _R.digest).where(UNREFERENCED, fresh, ~live).limit(limit)

        async def op(conn: AsyncConnection) -> list[BlockRef]:
            await conn.execute(block_leases.delete().where(_L.expires <= now))
            found = [BlockRef(p, d) for p, d in await conn.execute(query)]
            if found:
                await conn.execute(block_refs.update().where(_refs(found)).values(doomed=now))
            return found

        return await self._transact(op)

    async def forget_blocks(self, refs: Collection[BlockRef]) -> None:
        chosen = list(refs)
        if not chosen:
            return

        async def op(conn: AsyncConnection) -> None:
            for start in range(0, len(chosen), _ROWS):
                chunk = chosen[start : start + _ROWS]
                await conn.execute(
                    block_refs.delete().where(_refs(chunk), UNREFERENCED, _R.doomed.is_not(None))
                )
                # Referenced meanwhile (a writer outlived its lease): keep the row.
                await conn.execute(block_refs.update().where(_refs(chunk)).values(doomed=None))

        await self._transact(op)

    async def referenced_blocks(self) -> AsyncIterator[BlockRef]:
        """Parts first, then versions by serial, a page per short transaction.

        In that order a part that complete_upload turns into a version during
        the scan is still seen: its version gets a serial above any scanned.
        """
        pk = sa.tuple_(parts.c.bucket, parts.c.upload_id, parts.c.number)
        mark: tuple[int, str, int] = (0, "", 0)
        while True:
            query = (
                sa.select(
                    parts.c.bucket,
                    parts.c.upload_id,
                    parts.c.number,
                    parts.c.policy,
                    parts.c.extents,
                )
                .where(pk > sa.tuple_(*mark), parts.c.extents.is_not(None))
                .order_by(parts.c.bucket, parts.c.upload_id, parts.c.number)
                .limit(_PAGE)
            )
            async with self._read() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                for digest in codec.extent_digests(row.extents):
                    yield BlockRef(row.policy, digest)
            if len(rows) < _PAGE:
                break
            mark = (rows[-1].bucket, rows[-1].upload_id, rows[-1].number)
        serial = 0
        v = versions.c
        while True:
            vquery = (
                sa.select(v.serial, v.policy, v.extents)
                .where(v.serial > serial, v.extents.is_not(None))
                .order_by(v.serial)
                .limit(_PAGE)
            )
            async with self._read() as conn:
                found = (await conn.execute(vquery)).all()
            for entry in found:
                for digest in codec.extent_digests(entry.extents):
                    yield BlockRef(entry.policy, digest)
            if len(found) < _PAGE:
                break
            serial = found[-1].serial

    async def referenced_digests(self) -> AsyncIterator[bytes]:
        async for ref in self.referenced_blocks():
            yield ref.digest
