"""The server meta store: the SQL meta store on PostgreSQL, through asyncpg.

This module only sets PostgreSQL up: the connection pool, the lock that lets
one process at a time migrate the schema, the per-key lock that serializes
the writers of one key, and what a full disk looks like. Several server
processes may share one database: every rule that spans statements holds
through database locks, never through a lock in this process. Queries and
the object model live elsewhere.

Each call's function runs whole on one pooled connection, through SQLAlchemy's
`run_sync`: its statements are sync calls that await asyncpg underneath, so
a call takes one connection from the pool and keeps the event loop free
while the database works. Transactions run at READ COMMITTED, PostgreSQL's default: each statement
sees what was committed before it began, so a statement that runs after a
lock is taken sees everything done by the transaction that held it. One
that need not be durable (`durable=False`) commits with synchronous_commit
off: it does not wait for the WAL flush, and a crash of the database server
may undo it, never corrupt the database. Reads run in autocommit: at READ
COMMITTED each statement sees its own snapshot whether or not a transaction
holds it, so a BEGIN and a ROLLBACK around them would only add round trips.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dolium.backends.meta_sql.base import Op
from dolium.backends.meta_sql.migrate import upgrade
from dolium.backends.meta_sql.store import SqlMetaStore
from dolium.backends.pg_epoch import EpochWatch
from dolium.errors import ConfigError

CONNECT_TIMEOUT = 10.0  # seconds to reach the server, at start and for each new connection
DISK_FULL = "53100"  # SQLSTATE disk_full
# pg_advisory_xact_lock takes a 64-bit key; this one is the migration's, and
# the per-key locks are hashes (a collision only makes two keys wait for each other).
_MIGRATION_LOCK = 0x646F6C69756D  # "dolium"
_LOCK_KEY = sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("k", type_=sa.BigInteger())))
_DRIVERS = ("postgresql", "postgres", "postgresql+asyncpg")
T = TypeVar("T")


def _lock_id(container: int, key: bytes) -> int:
    # By container id: one container has several addresses (its global name,
    # account:container), and writers through either must exclude each other.
    digest = hashlib.blake2b(key, digest_size=8, person=b"dolium-key", key=str(container).encode())
    return int.from_bytes(digest.digest(), "big", signed=True)


def _account_lock_id(account: str) -> int:
    digest = hashlib.blake2b(account.encode(), digest_size=8, person=b"dolium-acct")
    return int.from_bytes(digest.digest(), "big", signed=True)


def _url(dsn: str) -> URL:
    where = "meta.options.dsn"
    try:
        url = make_url(dsn)
    except exc.ArgumentError as e:
        raise ConfigError(
            f"{where}: not a database URL (e.g. postgresql://USER:PASS@HOST:5432/DB)"
        ) from e
    if url.drivername not in _DRIVERS:
        raise ConfigError(f"{where}: {url.drivername}:// is not PostgreSQL (use postgresql://)")
    if not url.database:
        raise ConfigError(f"{where}: no database named (postgresql://USER:PASS@HOST:PORT/DB)")
    return url.set(drivername="postgresql+asyncpg")


def _one_line(e: BaseException) -> str:
    reason = str(e.orig) if isinstance(e, exc.DBAPIError) else str(e) or type(e).__name__
    return " ".join(reason.split())


def _sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE of a driver error: on SQLAlchemy's asyncpg adapter, or the
    asyncpg error it wraps."""
    while error is not None:
        code = getattr(error, "sqlstate", None)
        if isinstance(code, str):
            return code
        error = error.__cause__
    return None


class PostgresMetaStore(SqlMetaStore):
    def __init__(self, engine: AsyncEngine, watch: EpochWatch) -> None:
        self._engine = engine
        self._watch = watch
        self._relaxed = engine.execution_options(durable=False)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def _run_query(self, op: Op[T], *, point: bool) -> T:
        async with self._reads.connect() as conn:
            return await conn.run_sync(op)

    async def _run_transaction(self, op: Op[T], *, durable: bool) -> T:
        try:
            async with (self._engine if durable else self._relaxed).begin() as conn:
                return await conn.run_sync(op)
        finally:
            # It may have moved the epoch: this process's next request reads it.
            self._watch.forget()

    async def config_epoch(self) -> int:
        known = self._watch.known()
        if known is not None:
            return known
        generation = self._watch.generation
        epoch = await super().config_epoch()
        self._watch.learn(generation, epoch)
        return epoch

    async def close(self) -> None:
        await self._watch.close()
        await self._engine.dispose()

    def _disk_full(self, error: BaseException | None) -> bool:
        return _sqlstate(error) == DISK_FULL

    def _lock_key(self, conn: Connection, container: int, key: bytes) -> None:
        # Held until the transaction ends; other keys are not held up.
        conn.execute(_LOCK_KEY, {"k": _lock_id(container, key)})

    def _lock_account(self, conn: Connection, account: str) -> None:
        # Writers to different containers of one account take turns checking
        # its quota; each then sees the others' committed usage.
        conn.execute(_LOCK_KEY, {"k": _account_lock_id(account)})

    @classmethod
    async def open(cls, *, dsn: str, pool_size: int = 10) -> Self:
        """Connect to the database at `dsn` (postgresql://USER:PASS@HOST:PORT/DB)
        and bring its schema up to date. `pool_size`: connections kept open."""
        url = _url(dsn)
        if pool_size < 1:
            raise ConfigError(f"meta.options.pool_size: {pool_size} is not a positive number")
        engine = _engine(url, pool_size)
        try:
            # One process at a time: two servers starting on a new database
            # would otherwise both create the tables.
            migrate = partial(upgrade, first=f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            async with engine.begin() as conn:
                await conn.run_sync(migrate)
        except (exc.SQLAlchemyError, OSError, TimeoutError) as e:
            await engine.dispose()
            shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
            raise ConfigError(f"meta.options.dsn: cannot use {shown}: {_one_line(e)}") from e
        except BaseException:
            await engine.dispose()
            raise
        watch = EpochWatch(url.set(drivername="postgresql").render_as_string(hide_password=False))
        await watch.start()
        return cls(engine, watch)


def _engine(url: URL, pool_size: int) -> AsyncEngine:
    connect_args: dict[str, Any] = {"timeout": CONNECT_TIMEOUT}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each use, which would double the round trips of a
        # query: after a database restart, the first error on a dropped
        # connection makes SQLAlchemy discard the whole pool.
        connect_args=connect_args,
    )

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.get_execution_options().get("durable", True):
            # LOCAL: for this transaction only; the connection goes back to the pool as it was.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")

    return engine
