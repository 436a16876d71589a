"""An AuditStore in a SQLite file of its own (DATA/audit.db by default).

Its own file, not the meta store's: the audit log is read (searched,
exported) by tools while the server writes, and its growth must not slow
the metadata. WAL mode, synchronous=FULL: an append is durable when it
returns, and a process killed during one leaves the log as it was before
it. Appends run in one transaction that first checks the log's size, so two
sealers (a server and the CLI) cannot interleave.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from dolium.errors import AppendConflict, StorageError
from dolium.protocols.audit import AuditEntry, AuditQuery, NodeKey

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    resource TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (time);
CREATE INDEX IF NOT EXISTS entries_actor ON entries (actor, idx);
CREATE INDEX IF NOT EXISTS entries_resource ON entries (resource, idx);
CREATE TABLE IF NOT EXISTS nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
"""
_BUSY_MS = 10_000
_SIZE = "SELECT COALESCE(MAX(idx) + 1, 0) FROM entries"
_COLUMNS = "SELECT idx, seq, time, actor, resource, record FROM entries"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqliteAuditStore:
    @classmethod
    async def open(cls, *, path: str) -> Self:
        """Open (creating if needed) the audit database file at `path`."""
        return await asyncio.to_thread(cls, Path(path))

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"audit store {path}: {exc}") from exc

    async def _run(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return await asyncio.to_thread(self._fetch, sql, args)

    def _fetch(self, sql: str, args: Sequence[Any]) -> list[Any]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"audit store {self.path}: {exc}") from exc

    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        await asyncio.to_thread(self._append, entries, nodes)

    def _append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    (size,) = conn.execute(_SIZE).fetchone()
                    if entries and entries[0].index != size:
                        raise AppendConflict(
                            f"the log holds {size} entries, not {entries[0].index}"
                        )
                    conn.executemany(
                        "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                        [(e.index, e.seq, e.time, e.actor, e.resource, e.record) for e in entries],
                    )
                    conn.executemany(
                        "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?)",
                        [(level, idx, h) for (level, idx), h in nodes.items()],
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StorageError(f"audit store {self.path}: {exc}") from exc

    async def size(self) -> int:
        rows = await self._run(_SIZE)
        return int(rows[0][0])

    async def last_seq(self) -> int:
        rows = await self._run("SELECT seq FROM entries ORDER BY idx DESC LIMIT 1")
        return int(rows[0][0]) if rows else 0

    async def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        found: dict[NodeKey, bytes] = {}
        for i in range(0, len(keys), 400):  # SQLite's limit on bound values, with room
            chunk = keys[i : i + 400]
            # Only placeholders are formatted into the statement.
            where = " OR ".join("(level = ? AND idx = ?)" for _ in chunk)
            sql = f"SELECT level, idx, hash FROM nodes WHERE {where}"  # noqa: S608
            for level, idx, h in await self._run(sql, [v for key in chunk for v in key]):
                found[(level, idx)] = bytes(h)
        return found

    async def entries(self, first: int, end: int) -> list[AuditEntry]:
        rows = await self._run(f"{_COLUMNS} WHERE idx >= ? AND idx < ? ORDER BY idx", (first, end))
        return [_entry(r) for r in rows]

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        clauses: list[str] = ["idx > ?"]
        args: list[Any] = [query.after]
        if query.term:
            clauses.append("CAST(record AS TEXT) LIKE ? ESCAPE '\\'")
            args.append(f"%{_like(query.term)}%")
        if query.since is not None:
            clauses.append("time >= ?")
            args.append(query.since)
        if query.until is not None:
            clauses.append("time < ?")
            args.append(query.until)
        if query.actor:
            clauses.append("actor = ?")
            args.append(query.actor)
        resource = query.resource.rstrip("/")
        if resource:
            clauses.append("(resource = ? OR substr(resource, 1, ?) = ?)")
            args += [resource, len(resource) + 1, resource + "/"]
        # Only the fixed clauses above, with placeholders, are formatted in.
        sql = f"{_COLUMNS} WHERE {' AND '.join(clauses)} ORDER BY idx LIMIT ?"
        rows = await self._run(sql, [*args, query.limit])
        return [_entry(r) for r in rows]

    async def prune(self, end: int) -> int:
        return await asyncio.to_thread(self._prune, end)

    def _prune(self, end: int) -> int:
        with self._lock:
            try:
                # The newest entry stays: the log's size and last serial are read from it.
                cursor = self._conn.execute(
                    "DELETE FROM entries WHERE idx < ? AND idx < (SELECT MAX(idx) FROM entries)",
                    (end,),
                )
                return cursor.rowcount
            except sqlite3.Error as exc:
                raise StorageError(f"audit store {self.path}: {exc}") from exc

    async def put_checkpoint(self, size: int, note: str) -> None:
        await self._run("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", (size, note))

    async def checkpoints(self) -> list[tuple[int, str]]:
        rows = await self._run("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(size), str(note)) for size, note in rows]

    async def close(self) -> None:
        with self._lock:
            self._conn.close()


def _entry(row: Sequence[Any]) -> AuditEntry:
    idx, seq, time, actor, resource, record = row
    return AuditEntry(int(idx), int(seq), float(time), actor, resource, bytes(record))
