"""The embedded meta store: the SQL meta store on one SQLite file.

This module only sets up SQLite: WAL with synchronous=FULL (a commit is on
disk before the write is acknowledged), foreign keys, a busy timeout, and
write transactions that begin with BEGIN IMMEDIATE, so that check-then-write
calls are serialized across tasks and across processes sharing the file.
A transaction that need not be durable (base.NOT_DURABLE) commits with
synchronous=NORMAL: in WAL mode that skips the fsync, and the store stays
consistent; the next durable commit makes it durable too.
Queries and the object model live elsewhere.

Writes go through one connection, queued in this process and committed in
groups; reads go through a small pool of read-only connections that WAL lets
run beside the writer. A thin layer over aiosqlite (`_Cursor`) cuts the trips
to each connection's thread to one per statement.
"""

from __future__ import annotations

import sqlite3
import struct
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


# Statements that return nothing and change nothing on their own: they can wait
# and travel with the next statement that does.
_DEFERRABLE = ("BEGIN", "SAVEPOINT", "RELEASE")


class _Cursor(aiosqlite.Cursor):
    """An aiosqlite cursor that makes one trip to the connection's thread per
    statement, and none for a cursor, a fetch or a close.

    Each trip costs tens of microseconds, more than a small query itself;
    SQLAlchemy's adapter would make four per statement (cursor, execute,
    fetch, close). Results are fetched whole, as that adapter does anyway.
    Transaction control (BEGIN, SAVEPOINT, RELEASE) waits for the next
    statement and goes in the same trip; an error it raises is that
    statement's error.
    """

    _conn: _Connection
    _rows: list[Any]

    def __init__(self, conn: _Connection, cursor: sqlite3.Cursor) -> None:
        super().__init__(conn, cursor)
        self._rows = []

    def _run(self, before: list[str], sql: str, parameters: Any) -> list[Any]:
        # Runs on the connection's thread.
        for statement in before:
            self._cursor.execute(statement)
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchall() if self._cursor.description else []

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Self:
        if sql.startswith(_DEFERRABLE) and not parameters:
            self._conn.deferred.append(sql)
            self._rows = []
            return self
        run: Any = self._conn._execute  # untyped in aiosqlite
        self._rows = await run(self._run, self._conn.take_deferred(), sql, parameters or ())
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
    """aiosqlite's connection with `_Cursor`s, and no trip for a COMMIT or
    ROLLBACK when the database has no transaction open (a read's end, or a
    transaction that never ran a statement)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred: list[str] = []

    def take_deferred(self) -> list[str]:
        taken, self.deferred = self.deferred, []
        return taken

    def cursor(self) -> _Cursor:  # type: ignore[override]
        # check_same_thread is off: making a cursor object touches no database state.
        return _Cursor(self, self._conn.cursor())

    def _commit(self, before: list[str]) -> None:
        # Runs on the connection's thread.
        for statement in before:
            self._conn.execute(statement)
        self._conn.commit()

    async def commit(self) -> None:
        before = self.take_deferred()
        if self._conn.in_transaction:
            run: Any = self._execute  # untyped in aiosqlite
            await run(self._commit, before)

    async def rollback(self) -> None:
        self.deferred = []
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
            # SQLite applies the level a transaction commits with only
            # outside a transaction: set here, and only when it changes, so
            # a run of writes of one kind costs no extra statement.
            level = "FULL" if conn.get_execution_options().get("durable", True) else "NORMAL"
            info = conn.connection.info
            if info.get("synchronous", "FULL") != level:
                conn.exec_driver_sql(f"PRAGMA synchronous={level}")
                info["synchronous"] = level
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
    _check_wal(file.with_name(file.name + "-wal"))
    return file


_WAL_MAGIC = (0x377F0682, 0x377F0683)  # checksums little- / big-endian
_WAL_VERSION = 3007000
_WAL_HEADER = 32


def _check_wal(wal: Path) -> None:
    """Refuse a write-ahead log whose header is not SQLite's.

    SQLite ignores such a log without a word, and with it every transaction
    committed since the last checkpoint: the server would come up serving an
    older, or empty, store. SQLite writes the 32-byte header in one write
    before any frame, so a crash does not leave it torn; a bad one is damage.
    """
    try:
        with wal.open("rb") as f:
            header = f.read(_WAL_HEADER)
    except FileNotFoundError:
        return
    except OSError as e:
        raise ConfigError(f"meta.path: cannot read {wal}: {e.strerror}") from e
    if len(header) < _WAL_HEADER:
        return  # empty, or no frame was ever written
    magic, version = struct.unpack(">II", header[:8])
    valid = magic in _WAL_MAGIC and version == _WAL_VERSION
    if valid:
        words = struct.unpack(">6I" if magic & 1 else "<6I", header[:24])
        s1 = s2 = 0
        for i in range(0, 6, 2):
            s1 = (s1 + words[i] + s2) & 0xFFFFFFFF
            s2 = (s2 + words[i + 1] + s1) & 0xFFFFFFFF
        valid = (s1, s2) == struct.unpack(">II", header[24:])
    if not valid:
        raise ConfigError(
            f"meta.path: write-ahead log {wal} is corrupt (bad header); recent changes would "
            "be lost: restore the data directory from a backup, or move the file aside to "
            "accept the loss"
        )


class SqliteMetaStore(SqlMetaStore):
    def _disk_full(self, error: BaseException | None) -> bool:
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL

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
