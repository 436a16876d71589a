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
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from dolium.backends.meta_sql import codec
from dolium.backends.meta_sql.base import SqlBase, all_rows
from dolium.backends.meta_sql.schema import UNREFERENCED, block_leases, block_refs, parts, versions
from dolium.model import BlockRef, Extent

_R = block_refs.c
_L = block_leases.c
_ROWS = 400  # rows per statement, well under every engine's limit of parameters
_PAGE = 500  # rows per query of the reference scan, to keep transactions short
_P = sa.bindparam


@dataclass(frozen=True)
class _Upserts:
    """The statements of one dialect, built once and run with one parameter set
    per block, so SQLAlchemy compiles each once (a statement with its values
    inside is compiled on every call)."""

    add_refs: Any  # add to a block's count, creating its row
    add_row: Any  # a row for a block, if it has none
    add_lease: Any  # a lease, or a later expiry of the holder's lease


@cache
def _upserts(dialect: str) -> _Upserts:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    refs = insert(block_refs).values(policy=_P("p"), digest=_P("d"), refs=_P("n"), doomed=sa.null())
    refs = refs.on_conflict_do_update(
        index_elements=[_R.policy, _R.digest], set_={"refs": _R.refs + refs.excluded.refs}
    )
    row = insert(block_refs).on_conflict_do_nothing(index_elements=[_R.policy, _R.digest])
    lease = insert(block_leases)
    lease = lease.on_conflict_do_update(
        index_elements=[_L.policy, _L.digest, _L.holder], set_={"expires": lease.excluded.expires}
    )
    return _Upserts(refs, row, lease)


def count(conn: Connection, policy: str, extents: Iterable[Extent], delta: int) -> None:
    """Add `delta` references to each block of `extents` (once per extent)."""
    counts = Counter(e.digest for e in extents)
    _add(conn, [(policy, d, n * delta) for d, n in counts.items()])


def count_packed(conn: Connection, rows: Iterable[Any], delta: int) -> None:
    """As `count`, for rows with packed `extents` and a `policy` column."""
    counts: Counter[tuple[str, bytes]] = Counter()
    for row in rows:
        counts.update((row.policy, d) for d in codec.extent_digests(row.extents))
    _add(conn, [(p, d, n * delta) for (p, d), n in counts.items()])


def _add(conn: Connection, changes: list[tuple[str, bytes, int]]) -> None:
    if not changes:
        return
    # One parameter set per block: the driver runs the one prepared statement
    # for each (executemany), with no statement to compile per call.
    conn.execute(
        _upserts(conn.dialect.name).add_refs,
        [{"p": p, "d": d, "n": n} for p, d, n in changes],
    )


_PARTS_OF_UPLOAD = sa.select(parts.c.policy, parts.c.extents).where(
    parts.c.bucket == _P("c"), parts.c.upload_id == _P("u")
)
_PARTS_OF_CONTAINER = sa.select(parts.c.policy, parts.c.extents).where(parts.c.bucket == _P("c"))


def uncount_parts(conn: Connection, container: int, upload_id: str | None = None) -> None:
    """Remove the references of the parts of an upload, or of every upload of
    the container (before they are dropped)."""
    if upload_id is None:
        rows = conn.execute(_PARTS_OF_CONTAINER, {"c": container}).all()
    else:
        rows = conn.execute(_PARTS_OF_UPLOAD, {"c": container, "u": upload_id}).all()
    count_packed(conn, rows, -1)


_IN_REFS = sa.tuple_(_R.policy, _R.digest).in_(_P("pairs", expanding=True))
_DOOMED = sa.select(_R.policy, _R.digest).where(_IN_REFS, _R.doomed.is_not(None))
_LIVE = (
    sa.select(_L.holder)
    .where(_L.policy == _R.policy, _L.digest == _R.digest, _L.expires > _P("now"))
    .exists()
)
_GARBAGE = (
    sa.select(_R.policy, _R.digest)
    .where(UNREFERENCED, sa.or_(_R.doomed.is_(None), _R.doomed < _P("stale")), ~_LIVE)
    .limit(_P("n", type_=sa.Integer()))
)
_COUNTS = (
    sa.select(_R.policy, sa.func.count().label("blocks"), sa.func.sum(_R.refs).label("references"))
    .where(_R.refs > sa.literal_column("0"))
    .group_by(_R.policy)
)
_EXPIRE_LEASES = block_leases.delete().where(_L.expires <= _P("now"))
_DOOM = block_refs.update().where(_IN_REFS).values(doomed=_P("now"))
_FORGET = block_refs.delete().where(_IN_REFS, UNREFERENCED, _R.doomed.is_not(None))
_SPARE = block_refs.update().where(_IN_REFS).values(doomed=None)
_PARTS_PAGE = (
    sa.select(parts.c.bucket, parts.c.upload_id, parts.c.number, parts.c.policy, parts.c.extents)
    .where(
        sa.tuple_(parts.c.bucket, parts.c.upload_id, parts.c.number)
        > sa.tuple_(_P("b"), _P("u"), _P("p")),
        parts.c.extents.is_not(None),
    )
    .order_by(parts.c.bucket, parts.c.upload_id, parts.c.number)
    .limit(_PAGE)
)
_VERSIONS_PAGE = (
    sa.select(versions.c.serial, versions.c.policy, versions.c.extents)
    .where(versions.c.serial > _P("s"), versions.c.extents.is_not(None))
    .order_by(versions.c.serial)
    .limit(_PAGE)
)


def _pairs(refs: Collection[BlockRef]) -> dict[str, Any]:
    return {"pairs": [(r.policy, r.digest) for r in refs]}


class BlockQueries(SqlBase):
    async def lease_blocks(
        self, refs: Collection[BlockRef], holder: str, *, now: float, until: float
    ) -> set[BlockRef]:
        wanted = sorted(set(refs), key=lambda r: (r.policy, r.digest))

        def op(conn: Connection) -> set[BlockRef]:
            upserts = _upserts(conn.dialect.name)
            busy: set[BlockRef] = set()
            for start in range(0, len(wanted), _ROWS):
                chunk = wanted[start : start + _ROWS]
                # A row for each block, so that a block stored by a writer
                # that then dies is garbage the collector can find.
                conn.execute(
                    upserts.add_row,
                    [{"policy": r.policy, "digest": r.digest, "refs": 0} for r in chunk],
                )
                busy.update(BlockRef(p, d) for p, d in conn.execute(_DOOMED, _pairs(chunk)))
                granted = [r for r in chunk if r not in busy]
                if not granted:
                    continue
                conn.execute(
                    upserts.add_lease,
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
        def op(conn: Connection) -> list[BlockRef]:
            conn.execute(_EXPIRE_LEASES, {"now": now})
            query = {"now": now, "stale": stale_before, "n": limit}
            found = [BlockRef(p, d) for p, d in conn.execute(_GARBAGE, query)]
            if found:
                conn.execute(_DOOM, {**_pairs(found), "now": now})
            return found

        return await self._transact(op)

    async def forget_blocks(self, refs: Collection[BlockRef]) -> None:
        chosen = list(refs)
        if not chosen:
            return

        def op(conn: Connection) -> None:
            for start in range(0, len(chosen), _ROWS):
                chunk = _pairs(chosen[start : start + _ROWS])
                conn.execute(_FORGET, chunk)
                # Referenced meanwhile (a writer outlived its lease): keep the row.
                conn.execute(_SPARE, chunk)

        await self._transact(op)

    async def referenced_blocks(self) -> AsyncIterator[BlockRef]:
        """Parts first, then versions by serial, a page per short transaction.

        In that order a part that complete_upload turns into a version during
        the scan is still seen: its version gets a serial above any scanned.
        """
        mark: dict[str, Any] = {"b": 0, "u": "", "p": 0}
        while True:
            rows = await self._query(all_rows(_PARTS_PAGE, mark))
            for row in rows:
                for digest in codec.extent_digests(row.extents):
                    yield BlockRef(row.policy, digest)
            if len(rows) < _PAGE:
                break
            mark = {"b": rows[-1].bucket, "u": rows[-1].upload_id, "p": rows[-1].number}
        serial = 0
        while True:
            found = await self._query(all_rows(_VERSIONS_PAGE, {"s": serial}))
            for entry in found:
                for digest in codec.extent_digests(entry.extents):
                    yield BlockRef(entry.policy, digest)
            if len(found) < _PAGE:
                break
            serial = found[-1].serial

    async def block_counts(self) -> dict[str, tuple[int, int]]:
        rows = await self._query(all_rows(_COUNTS, {}))
        return {r.policy: (int(r.blocks), int(r.references or 0)) for r in rows}

    async def referenced_digests(self) -> AsyncIterator[bytes]:
        async for ref in self.referenced_blocks():
            yield ref.digest
