"""The embedded meta store: the SQL meta store on one SQLite file.

This module only sets up SQLite: WAL with synchronous=FULL (a commit is on
disk before the write is acknowledged), foreign keys, a busy timeout, and
write transactions that begin with BEGIN IMMEDIATE, so that check-then-write
calls are serialized across tasks and across processes sharing the file.
Queries and the object model live elsewhere.

Writes go through one connection, queued in this process and committed in
groups; reads go through a small pool of read-only connections that WAL lets
run beside the writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, Self

import aiosqlite
from sqlalchemy import event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dolium.backends.meta_sql.migrate import upgrade
from dolium.backends.meta_sql.store import SqlMetaStore
from dolium.errors import ConfigError

BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's transaction
READERS = 4


class _Cursor(aiosqlite.Cursor):
    """An aiosqlite cursor that runs a statement and fetches its rows in one
    trip to the connection's thread, and closes without one.

    Each trip costs tens of microseconds, more than a small query itself;
    SQLAlchemy's adapter would make four per statement (cursor, execute,
    fetch, close). Rows are small here: no query returns more than a page.
    """

    _rows: list[Any]

    def __init__(self, conn: aiosqlite.Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows = []

    def _run(self, sql: str, parameters: Any) -> list[Any]:
        # Runs on the connection's thread.
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchall() if self._cursor.description else []

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Self:
        run: Any = self._conn._execute  # untyped in aiosqlite
        self._rows = await run(self._run, sql, parameters or ())
        return self

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        # The statement was run to completion, so sqlite3 has reset it already.
        self._rows = []


class _Connection(aiosqlite.Connection):
    """aiosqlite's connection, with cheaper cursors and no trip for a
    COMMIT or ROLLBACK when no transaction is open (a read's end)."""

    def cursor(self) -> _Cursor:  # type: ignore[override]
        # check_same_thread is off: making a cursor object touches no database state.
        return _Cursor(self, self._conn.cursor())

    async def commit(self) -> None:
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self._connection is not None and self._conn.in_transaction:
            await super().rollback()


async def _connect(path: Path) -> _Connection:
    connector = partial(
        sqlite3.connect,
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        # SQLAlchemy emits BEGIN itself (see `_begin`); sqlite3 must not.
        isolation_level=None,
        check_same_thread=False,
    )
    connection = _Connection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite connect does
    await connection
    return connection


def _engine(path: Path, *, writer: bool) -> AsyncEngine:
    engine = create_async_engine(
        URL.create("sqlite+aiosqlite", database=str(path)),
        async_creator=partial(_connect, path),
        pool_size=1 if writer else READERS,
        max_overflow=0,
        # Transactions always end in COMMIT or ROLLBACK; no reset is needed.
        pool_reset_on_return=None,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if writer:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not writer:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if writer:

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Take the write lock at BEGIN, before the transaction reads what
            # it checks: a deferred transaction would read, then fail to
            # upgrade to a writer ("database is locked") when another
            # process wrote in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    # Readers emit no BEGIN: each query is its own consistent snapshot.
    return engine


def _checked(file: Path) -> Path:
    if not file.parent.is_dir():
        raise ConfigError(
            f"meta.path: directory {file.parent} does not exist (create it or choose another path)"
        )
    if file.is_dir():
        raise ConfigError(f"meta.path: {file} is a directory (give a file name)")
    return file


class SqliteMetaStore(SqlMetaStore):
    @classmethod
    async def open(cls, *, path: str) -> Self:
        """Open (creating and migrating if needed) the database file at `path`."""
        file = _checked(Path(path))
        writer = _engine(file, writer=True)
        reader = _engine(file, writer=False)
        try:
            await upgrade(writer)
        except exc.DBAPIError as e:
            await writer.dispose()
            await reader.dispose()
            raise ConfigError(f"meta.path: cannot open {file}: {e.orig}") from e
        except BaseException:
            await writer.dispose()
            await reader.dispose()
            raise
        return cls(writer, reader=reader, group_commit=True)
