"""PostgreSQL reporter: insert each event message as a row of a table.

`publish` returns once the INSERT has committed, and raises while the
database cannot be reached: event delivery then keeps the event in the
change log and tries again. A lost connection is made again by the next
`publish`.

The table is created on first connection when it does not exist:

    id text PRIMARY KEY          the event's id
    seq bigint IDENTITY          increasing in the order rows were inserted
    event text, bucket text, key text
    time timestamptz             when the change was made
    message jsonb                the S3 event document
    received timestamptz         when the row was inserted

An event delivered twice is stored once (`ON CONFLICT (id) DO NOTHING`).
A consumer reads the rows after the last `seq` it handled; with `channel`,
each insert also sends NOTIFY on that channel (payload: the event's id) in
its transaction, so a consumer that LISTENs needs no polling.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg  # type: ignore[import-untyped]  # no stubs

from dolium.backends.broker_base import (
    Counters,
    broker_error,
    check_name,
    check_seconds,
    check_url,
)
from dolium.protocols.events import Message

# Plain lower-case identifiers (optionally schema.table): nothing to quote.
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?")
_CHANNEL = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# InternalClientError: what the driver may raise on a connection the server
# has just cut, in place of a connection error.
_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


class PostgresReporter(Counters):
    def __init__(self, dsn: str, table: str, channel: str | None, timeout: float) -> None:
        super().__init__()
        self.dsn = dsn
        self.table = table
        self.channel = channel
        self.timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the one connection
        self._insert = (
            f"INSERT INTO {table} (id, event, bucket, key, time, message) "  # noqa: S608 (checked name)
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (id) DO NOTHING"
        )

    @classmethod
    async def open(
        cls,
        dsn: str,
        table: str = "dolium_events",
        channel: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109  (a config option: seconds per connect and insert)
    ) -> PostgresReporter:
        """Check the options; the connection is made on first use, so a server
        starts (and keeps its events waiting) while the database is down."""
        check_url("postgres", dsn, ("postgresql", "postgres"), "dsn")
        check_name("postgres", "table", table, _TABLE)
        if channel is not None:
            check_name("postgres", "channel", channel, _CHANNEL)
        return cls(dsn, table, channel, check_seconds("postgres", "timeout", timeout))

    async def publish(self, event: Message) -> None:
        row = (
            event.id,
            event.name,
            event.bucket,
            event.key,
            datetime.fromtimestamp(event.time, UTC),
            event.message,
        )
        async with self._lock:
            try:
                conn = await self._connect()
                async with conn.transaction():
                    await conn.execute(self._insert, *row, timeout=self.timeout)
                    if self.channel is not None:
                        await conn.execute(
                            "SELECT pg_notify($1, $2)", self.channel, event.id, timeout=self.timeout
                        )
            except _FAILURES as exc:
                self.failed += 1
                await self._drop()
                raise broker_error("postgres", self.dsn, f"insert into {self.table}", exc) from exc
            except Exception as exc:
                # Unforeseen: the connection may be in any state, so the next
                # publish starts from a new one; and the text is scrubbed all the same.
                self.failed += 1
                await self._drop()
                what = f"{type(exc).__name__} in publish"
                raise broker_error("postgres", self.dsn, what, exc) from exc
        self.published += 1

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def _connect(self) -> asyncpg.Connection:
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        conn = await asyncpg.connect(self.dsn, timeout=self.timeout)
        try:
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {self.table} (
                    id text PRIMARY KEY,
                    seq bigint GENERATED ALWAYS AS IDENTITY,
                    event text NOT NULL,
                    bucket text NOT NULL,
                    key text NOT NULL,
                    time timestamptz NOT NULL,
                    message jsonb NOT NULL,
                    received timestamptz NOT NULL DEFAULT now())""",
                timeout=self.timeout,
            )
        except BaseException:
            await conn.close(timeout=self.timeout)
            raise
        self._conn = conn
        return conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # terminate: the server may be gone, and close() would wait for it.
            conn.terminate()


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: PostgresReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
