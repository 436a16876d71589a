"""Transactions of the SQL meta store and translation of driver errors.

Every call is one short transaction: `_read` for queries, `_transact` for
changes. Driver errors become `StorageError` here; `IntegrityError` is left
to the caller, which knows which domain error it stands for. No knowledge of
one database's dialect belongs here: engines arrive configured, and honour
the `durable` execution option (see `NOT_DURABLE`) as their database allows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dolium.errors import StorageError, StorageFull

T = TypeVar("T")
Op = Callable[[AsyncConnection], Awaitable[T]]

MAX_BATCH = 64  # changes committed together at most, to keep each transaction short
# Execution options of a transaction whose commit may be lost in a crash of
# the machine (never torn: the database stays consistent), so need not wait
# for the disk. Each engine applies it as its database allows.
NOT_DURABLE = {"durable": False}


def _settle(future: asyncio.Future[Any], value: Any, ok: bool) -> None:
    if future.done():  # its caller was cancelled
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _reason(e: exc.SQLAlchemyError) -> str:
    return str(e.orig) if isinstance(e, exc.DBAPIError) else str(e)


class GroupCommit:
    """Runs changes one at a time on one connection, committing together those
    that queued up while the previous commit was on its way to disk.

    For a database with a single writer (SQLite): the commit's fsync is the
    cost of a write, so many tasks writing at once share it. Each change runs
    in its own savepoint, so one that fails leaves the others untouched. A
    group is committed without waiting for the disk only when none of its
    changes needs to be durable.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._relaxed = engine.execution_options(**NOT_DURABLE)
        self._queue: list[tuple[Op[Any], asyncio.Future[Any], bool]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, op: Op[T], *, durable: bool = True) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future, durable))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._run([job for job in batch if not job[1].done()])
        finally:
            self._task = None
            for _, future, _ in self._queue:  # only left when this task was cancelled
                _settle(future, StorageError("meta store closed"), False)
            self._queue = []

    async def _run(self, jobs: list[tuple[Op[Any], asyncio.Future[Any], bool]]) -> None:
        if not jobs:
            return
        outcomes: list[tuple[asyncio.Future[Any], Any, bool]] = []
        engine = self._engine if any(durable for _, _, durable in jobs) else self._relaxed
        try:
            async with engine.begin() as conn:
                if len(jobs) == 1:
                    # Alone, the transaction itself is the unit to roll back.
                    outcomes.append((jobs[0][1], await jobs[0][0](conn), True))
                else:
                    for op, future, _ in jobs:
                        # Plain SQL savepoints: SQLAlchemy's would compile two
                        # statements per change.
                        await conn.exec_driver_sql("SAVEPOINT change")
                        try:
                            value = await op(conn)
                        except Exception as e:
                            await conn.exec_driver_sql("ROLLBACK TO SAVEPOINT change")
                            outcomes.append((future, e, False))
                        else:
                            outcomes.append((future, value, True))
                        await conn.exec_driver_sql("RELEASE SAVEPOINT change")
        except Exception as e:
            # Nothing was committed: every change fails, with its own error if it had one.
            failed = {id(f): v for f, v, ok in outcomes if not ok}
            for _, future, _ in jobs:
                _settle(future, failed.get(id(future), e), False)
            return
        except BaseException:
            for _, future, _ in jobs:
                _settle(future, StorageError("meta store closed during a write"), False)
            raise
        for future, value, ok in outcomes:
            _settle(future, value, ok)

    async def close(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)


class SqlBase:
    """Engines and transactions, shared by the query mixins."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        reader: AsyncEngine | None = None,
        group_commit: bool = False,
    ) -> None:
        """`engine` runs changes; `reader`, if given, runs queries.

        `group_commit` runs all changes of this process through one queue and
        commits them in groups (see `GroupCommit`), for a database that allows
        one writer at a time: tasks then wait their turn on the event loop,
        not in the database's busy handler, and share the cost of a commit.
        """
        self._writer = engine
        self._relaxed = engine.execution_options(**NOT_DURABLE)
        self._reader = reader or engine
        self._group = GroupCommit(engine) if group_commit else None

    async def _lock_key(self, conn: AsyncConnection, container: int, key: bytes) -> None:
        """Wait until no other transaction is changing the versions of `key`, and
        keep others from doing so until this transaction ends.

        A write reads the latest version, then demotes it and inserts the new
        one: two writers of one key must not interleave. Nothing to do where a
        write transaction already excludes every other writer (SQLite).
        """

    def _disk_full(self, error: BaseException | None) -> bool:
        """Whether a driver error says the database's disk is full (each dialect's code)."""
        return False

    def _failure(self, e: exc.SQLAlchemyError, what: str) -> StorageError:
        """A driver error as a StorageError; StorageFull when the database's disk is
        full, so that a full metadata disk answers as a full block store does."""
        full = isinstance(e, exc.DBAPIError) and self._disk_full(e.orig)
        error = StorageFull if full else StorageError
        return error(f"meta store {what} failed: {_reason(e)}")

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._reader.connect() as conn:
                yield conn
        except exc.SQLAlchemyError as e:  # driver errors, and pool timeouts
            raise self._failure(e, "read") from e

    async def _transact(self, op: Op[T], *, durable: bool = True) -> T:
        """Run `op` in a write transaction, committed unless it raises.

        `op` may run in a group with other changes: it must use only the
        connection it is given (never call `_transact`, which would wait on
        its own group), and leave database errors to propagate, so that its
        savepoint is rolled back.

        `durable=False`: the commit need not reach the disk before this
        returns; a crash of the machine may undo it (and only it, with the
        commits after it that were not durable either), never corrupt the
        store. Only for changes that the crash makes moot anyway.
        """
        try:
            if self._group is not None:
                return await self._group.submit(op, durable=durable)
            async with (self._writer if durable else self._relaxed).begin() as conn:
                return await op(conn)
        except exc.IntegrityError:
            raise
        except exc.SQLAlchemyError as e:
            raise self._failure(e, "write") from e

    async def close(self) -> None:
        if self._group is not None:
            await self._group.close()
        await self._writer.dispose()
        if self._reader is not self._writer:
            await self._reader.dispose()
