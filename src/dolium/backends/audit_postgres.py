"""An AuditStore in PostgreSQL (asyncpg): for servers that keep their metadata there.

Its tables (audit_entries, audit_nodes, audit_checkpoints) may share the
meta store's database. An append is one transaction that takes an advisory
lock and checks the log's size first, so sealers in several processes or on
several machines never interleave; committed means durable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

import asyncpg  # type: ignore[import-untyped]  # no stubs; used only here

from dolium.errors import AppendConflict, ConfigError, StorageError
from dolium.protocols.audit import AuditEntry, AuditQuery, NodeKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_entries (
    idx BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    resource TEXT NOT NULL,
    record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_time ON audit_entries (time);
CREATE INDEX IF NOT EXISTS audit_entries_actor ON audit_entries (actor, idx);
CREATE INDEX IF NOT EXISTS audit_entries_resource ON audit_entries (resource, idx);
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
"""
# pg_advisory_xact_lock keys: one for appends, one for creating the tables.
_APPEND_LOCK = 0x6175646974  # "audit"
_SCHEMA_LOCK = 0x61756469745F73  # "audit_s"
_SIZE = "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries"
_COLUMNS = "SELECT idx, seq, time, actor, resource, record FROM audit_entries"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresAuditStore:
    @classmethod
    async def open(cls, *, dsn: str, pool_size: int = 4) -> Self:
        """Connect to the database at `dsn` (postgresql://USER:PASS@HOST:PORT/DB)."""
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size, timeout=10)
        except (OSError, asyncpg.PostgresError, ValueError, TimeoutError) as exc:
            raise ConfigError(f"audit.options.dsn: cannot connect: {exc}") from None
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
                await conn.execute(_SCHEMA)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        try:
            async with self._pool.acquire() as conn:
                return list(await conn.fetch(sql, *args))
        except (OSError, asyncpg.PostgresError) as exc:
            raise StorageError(f"audit store: {exc}") from exc

    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                size = await conn.fetchval(_SIZE)
                if entries and entries[0].index != size:
                    first = entries[0].index
                    raise AppendConflict(f"the log holds {size} entries, not {first}")
                await conn.executemany(
                    "INSERT INTO audit_entries VALUES ($1, $2, $3, $4, $5, $6)",
                    [(e.index, e.seq, e.time, e.actor, e.resource, e.record) for e in entries],
                )
                await conn.executemany(
                    "INSERT INTO audit_nodes VALUES ($1, $2, $3) "
                    "ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash",
                    [(level, idx, h) for (level, idx), h in nodes.items()],
                )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StorageError(f"audit store: {exc}") from exc

    async def size(self) -> int:
        rows = await self._fetch(_SIZE)
        return int(rows[0][0])

    async def last_seq(self) -> int:
        rows = await self._fetch("SELECT seq FROM audit_entries ORDER BY idx DESC LIMIT 1")
        return int(rows[0][0]) if rows else 0

    async def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        if not keys:
            return {}
        rows = await self._fetch(
            "SELECT n.level, n.idx, n.hash FROM audit_nodes n "
            "JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) "
            "ON n.level = k.level AND n.idx = k.idx",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}

    async def entries(self, first: int, end: int) -> list[AuditEntry]:
        rows = await self._fetch(
            f"{_COLUMNS} WHERE idx >= $1 AND idx < $2 ORDER BY idx", first, end
        )
        return [_entry(r) for r in rows]

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        clauses: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        clauses.append(f"idx > {arg(query.after)}")
        if query.term:
            like = arg(f"%{_like(query.term)}%")
            clauses.append(f"convert_from(record, 'UTF8') LIKE {like} ESCAPE '\\'")
        if query.since is not None:
            clauses.append(f"time >= {arg(query.since)}")
        if query.until is not None:
            clauses.append(f"time < {arg(query.until)}")
        if query.actor:
            clauses.append(f"actor = {arg(query.actor)}")
        resource = query.resource.rstrip("/")
        if resource:
            clauses.append(
                f"(resource = {arg(resource)} OR left(resource, {arg(len(resource) + 1)}) = "
                f"{arg(resource + '/')})"
            )
        # Only the fixed clauses above, with placeholders, are formatted in.
        sql = f"{_COLUMNS} WHERE {' AND '.join(clauses)} ORDER BY idx LIMIT {arg(query.limit)}"
        return [_entry(r) for r in await self._fetch(sql, *args)]

    async def prune(self, end: int) -> int:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                # The newest entry stays: the log's size and last serial are read from it.
                status = await conn.execute(
                    "DELETE FROM audit_entries WHERE idx < $1 "
                    "AND idx < (SELECT MAX(idx) FROM audit_entries)",
                    end,
                )
        except (OSError, asyncpg.PostgresError) as exc:
            raise StorageError(f"audit store: {exc}") from exc
        return int(status.split()[-1])

    async def put_checkpoint(self, size: int, note: str) -> None:
        await self._fetch(
            "INSERT INTO audit_checkpoints VALUES ($1, $2) "
            "ON CONFLICT (size) DO UPDATE SET note = EXCLUDED.note",
            size,
            note,
        )

    async def checkpoints(self) -> list[tuple[int, str]]:
        rows = await self._fetch("SELECT size, note FROM audit_checkpoints ORDER BY size")
        return [(int(r[0]), str(r[1])) for r in rows]

    async def close(self) -> None:
        await self._pool.close()


def _entry(row: Any) -> AuditEntry:
    idx, seq, time, actor, resource, record = row
    return AuditEntry(int(idx), int(seq), float(time), actor, resource, bytes(record))
