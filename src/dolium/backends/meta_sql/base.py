"""Transactions of the SQL meta store and translation of driver errors.

Every call of the store is one plain function of a synchronous SQLAlchemy
`Connection` (an `Op`), handed whole to `_query` (a read) or `_transact`
(a write transaction), so that a call costs one trip to wherever its
database work runs, not one per statement. Where and how an op runs (a
thread of its own, the event loop's thread, a greenlet over an async
driver) is decided by the module of each database, which implements
`_run_query` and `_run_transaction`; nothing of one database's dialect
belongs here. Driver errors become `StorageError` here; `IntegrityError` is
left to the caller, which knows which domain error it stands for.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, exc
from sqlalchemy.sql import Executable

from dolium.errors import StorageError, StorageFull

T = TypeVar("T")
Op = Callable[[Connection], T]
# What became of one change of a group: (True, its value) or (False, its error).
Outcome = tuple[bool, Any]

MAX_BATCH = 64  # changes committed together at most, to keep each transaction short


def first_row(statement: Executable, values: Mapping[str, Any]) -> Op[Row[Any] | None]:
    """An op that runs `statement` and gives its first row, or None."""
    return lambda conn: conn.execute(statement, values).first()


def all_rows(statement: Executable, values: Mapping[str, Any]) -> Op[Sequence[Row[Any]]]:
    """An op that runs `statement` and gives all its rows."""
    return lambda conn: conn.execute(statement, values).all()


def _settle(future: asyncio.Future[Any], value: Any, ok: bool) -> None:
    if future.done():  # its caller was cancelled
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def _reason(e: exc.SQLAlchemyError) -> str:
    return str(e.orig) if isinstance(e, exc.DBAPIError) else str(e)


def _attempt(op: Op[Any], conn: Connection) -> Outcome:
    try:
        return True, op(conn)
    except Exception as e:
        return False, e


def run_group(conn: Connection, ops: Sequence[Op[Any]], begin: Op[None]) -> list[Outcome]:
    """Run `ops` in one transaction on `conn`, which `begin` opens, and end it.

    Synchronous, for the thread that owns `conn`. Each change runs in its own
    savepoint, so one that fails leaves the others untouched; alone, the
    transaction itself is the unit to roll back. The transaction commits
    when any change succeeded. If it cannot begin or commit, nothing was
    committed: every change fails, with its own error if it had one.
    """
    outcomes: list[Outcome] = []
    try:
        begin(conn)
        if len(ops) == 1:
            outcomes.append(_attempt(ops[0], conn))
        else:
            for op in ops:
                # Plain SQL savepoints: SQLAlchemy's would compile two
                # statements per change.
                conn.exec_driver_sql("SAVEPOINT change")
                outcome = _attempt(op, conn)
                if not outcome[0]:
                    conn.exec_driver_sql("ROLLBACK TO SAVEPOINT change")
                conn.exec_driver_sql("RELEASE SAVEPOINT change")
                outcomes.append(outcome)
        if any(ok for ok, _ in outcomes):
            conn.commit()
        else:
            conn.rollback()
    except Exception as e:
        _abandon(conn)
        ran: list[Outcome] = [(False, value if not ok else e) for ok, value in outcomes]
        return ran + [(False, e)] * (len(ops) - len(ran))
    except BaseException:
        _abandon(conn)
        raise
    return outcomes


def _abandon(conn: Connection) -> None:
    """Roll back whatever an error left open, so that the next group can begin.

    SQLAlchemy takes a transaction whose COMMIT failed for ended, while the
    database may keep it open (SQLite does when a deferred constraint fails
    the commit): the driver's own rollback ends it there too.
    """
    with contextlib.suppress(Exception):  # an unusable connection: SQLAlchemy replaces it
        conn.rollback()
    with contextlib.suppress(Exception):
        conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]


class GroupCommit:
    """Runs changes one at a time on one connection, committing together those
    that queued up while the previous commit was on its way to disk.

    For a database with a single writer (SQLite): the commit's fsync is the
    cost of a write, so many tasks writing at once share it. `commit` runs a
    whole group (see `run_group`) in one trip to the writer and gives back
    each change's outcome; a group is committed without waiting for the disk
    only when none of its changes needs to be durable.
    """

    def __init__(self, commit: Callable[[list[Op[Any]], bool], Awaitable[list[Outcome]]]) -> None:
        self._commit = commit
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
        durable = any(durable for _, _, durable in jobs)
        try:
            outcomes = await self._commit([op for op, _, _ in jobs], durable)
        except Exception as e:  # the writer could not be reached: nothing ran
            outcomes = [(False, e)] * len(jobs)
        except BaseException:
            for _, future, _ in jobs:
                _settle(future, StorageError("meta store closed during a write"), False)
            raise
        for (_, future, _), (ok, value) in zip(jobs, outcomes, strict=True):
            _settle(future, value, ok)

    async def close(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)


class SqlBase(ABC):
    """Running ops and translating their errors, shared by the query mixins."""

    @abstractmethod
    async def _run_query(self, op: Op[T], *, point: bool) -> T:
        """Run the read `op`; `point`: it reads a few rows by key, whatever the
        size of the database, so may run where a long read may not."""

    @abstractmethod
    async def _run_transaction(self, op: Op[T], *, durable: bool) -> T:
        """Run `op` in a write transaction, committed unless it raises."""

    @abstractmethod
    async def close(self) -> None: ...

    def _lock_key(self, conn: Connection, container: int, key: bytes) -> None:
        """Wait until no other transaction is changing the versions of `key`, and
        keep others from doing so until this transaction ends.

        A write reads the latest version, then demotes it and inserts the new
        one: two writers of one key must not interleave. Nothing to do where a
        write transaction already excludes every other writer (SQLite).
        """
        return

    def _lock_account(self, conn: Connection, account: str) -> None:
        """Wait until no other transaction is checking `account`'s quota, and keep
        others from doing so until this one ends (nothing to do under SQLite,
        whose write transactions exclude each other)."""
        return

    def _disk_full(self, error: BaseException | None) -> bool:
        """Whether a driver error says the database's disk is full (each dialect's code)."""
        return False

    def _failure(self, e: exc.SQLAlchemyError, what: str) -> StorageError:
        """A driver error as a StorageError; StorageFull when the database's disk is
        full, so that a full metadata disk answers as a full block store does."""
        full = isinstance(e, exc.DBAPIError) and self._disk_full(e.orig)
        error = StorageFull if full else StorageError
        return error(f"meta store {what} failed: {_reason(e)}")

    async def _query(self, op: Op[T], *, point: bool = False) -> T:
        """Run the read `op`, whole, and give back what it returns.

        `op` runs on a connection that may see only committed data; each of
        its statements sees at least what was committed before the call.
        `point=True` for a lookup of a few rows by key (see `_run_query`),
        never for a scan whose length the caller or the data decides.
        """
        try:
            return await self._run_query(op, point=point)
        except exc.SQLAlchemyError as e:  # driver errors, and pool timeouts
            raise self._failure(e, "read") from e

    async def _transact(self, op: Op[T], *, durable: bool = True) -> T:
        """Run `op` in a write transaction, committed unless it raises.

        `op` may run in a group with other changes: it must use only the
        connection it is given (never call the store, which would wait on its
        own group), and leave database errors to propagate, so that its
        savepoint is rolled back.

        `durable=False`: the commit need not reach the disk before this
        returns; a crash of the machine may undo it (and only it, with the
        commits after it that were not durable either), never corrupt the
        store. Only for changes that the crash makes moot anyway.
        """
        try:
            return await self._run_transaction(op, durable=durable)
        except exc.IntegrityError:
            raise
        except exc.SQLAlchemyError as e:
            raise self._failure(e, "write") from e
