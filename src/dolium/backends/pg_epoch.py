"""The config epoch of a PostgreSQL meta store, kept up to date by LISTEN.

Every request reads the config epoch before it trusts the process's caches
(core.caches), which on PostgreSQL costs a round trip to the database. The
triggers that move the epoch also notify a channel (schema.CONFIG_CHANNEL);
a server that listens on it can answer from the last epoch it read until a
notification says it moved. So that nothing depends on a notification
alone, the known epoch is forgotten (and read again by the next request):

- when a notification arrives, whatever it says;
- when this process commits a write of its own (its next request must see
  what it just did, even before its own notification is back);
- every `REFRESH` seconds, which bounds what a lost notification can hide;
- for as long as the listening connection is down (every request then reads
  the epoch, as without notifications), until it is back.

A notification is sent at commit and arrives within a round trip: a change
made through one server is obeyed by the others from their next request on,
but for requests that reach them within that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs

from dolium.backends.meta_sql.schema import CONFIG_CHANNEL

log = logging.getLogger("dolium.meta")

REFRESH = 1.0  # seconds a known epoch is trusted at most
RECONNECT = 1.0  # seconds between attempts to listen again


class EpochWatch:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None
        self._known: int | None = None
        # Moves whenever the known epoch is forgotten: a read begun before a
        # notification must not store what it found after it.
        self.generation = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            await self._listen()  # at once if it can; else the keeper retries and says why
        self._task = asyncio.create_task(self._keep())

    def known(self) -> int | None:
        """The epoch, if it is known to be current; None: read it."""
        return self._known if self._conn is not None else None

    def forget(self) -> None:
        self._known = None
        self.generation += 1

    def learn(self, generation: int, epoch: int) -> None:
        """Keep `epoch`, read by a read that began at `generation`."""
        if generation == self.generation and self._conn is not None:
            self._known = epoch

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn, timeout=10)
        await conn.add_listener(CONFIG_CHANNEL, self._notified)
        conn.add_termination_listener(self._lost)
        self._conn = conn
        self.forget()

    def _notified(self, *_: object) -> None:
        self.forget()

    def _lost(self, *_: object) -> None:
        self._conn = None
        self.forget()

    async def _keep(self) -> None:
        warned = False
        while True:
            if self._conn is None or self._conn.is_closed():
                self._conn = None
                try:
                    await self._listen()
                    warned = False
                except (OSError, asyncpg.PostgresError, TimeoutError) as e:
                    if not warned:
                        log.warning("cannot listen for config changes (%s); reading the epoch "
                                    "at every request until it can", e)  # fmt: skip
                        warned = True
                    await asyncio.sleep(RECONNECT)
                    continue
            await asyncio.sleep(REFRESH)
            self.forget()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await conn.close(timeout=2)
