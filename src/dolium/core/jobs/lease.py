"""Background work done once by the many processes that share a meta store.

Every server process, on one machine or on several, runs `JobsLease.run`:
it takes the lease `jobs` in the meta store (MetaStore.hold_lease), runs the
background jobs while it holds it, and renews it every `ttl / 3` seconds.
A process that fails to renew (the database unreachable, or the lease taken
by another after this one paused longer than `ttl`) stops its jobs and goes
back to trying. A process that dies stops renewing, and another takes the
lease once it expires: within `ttl + retry` seconds.

The jobs stay correct when two processes run them at once (each was written
so: the collector marks what it deletes, delivery moves a cursor forward,
the audit sealer resumes from the log's own last entry), so the lease is
about doing the work once, not about safety, and needs no fencing. Expiry
times come from each process's clock: the servers' clocks must agree to
within a fraction of `ttl` (NTP does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from dolium.errors import DoliumError
from dolium.protocols.meta import MetaStore

log = logging.getLogger("dolium.jobs")

NAME = "jobs"
TTL = 15.0  # seconds a lease lasts unless renewed
RETRY = 5.0  # seconds between attempts to take the lease


def holder_name() -> str:
    """This process, as the lease names it: host, process id, and a random
    part so that a restarted process with the same id is another holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class JobsLease:
    def __init__(
        self,
        meta: MetaStore,
        clock: Callable[[], float],
        *,
        ttl: float = TTL,
        retry: float = RETRY,
        holder: str | None = None,
    ) -> None:
        self._meta = meta
        self._ttl = ttl
        self._retry = retry
        self._clock = clock
        self.holder = holder or holder_name()
        self.held = False

    async def _hold(self) -> bool:
        now = self._clock()
        try:
            return await self._meta.hold_lease(NAME, self.holder, now=now, until=now + self._ttl)
        except DoliumError as e:
            log.warning("cannot take or renew the jobs lease: %s", e)
            return False

    async def run(self, jobs: Callable[[], Awaitable[None]]) -> None:
        """Run `jobs` whenever this process holds the lease, for ever."""
        try:
            while True:
                if not await self._hold():
                    await asyncio.sleep(self._retry)
                    continue
                self.held = True
                log.info("running the background jobs (lease holder %s)", self.holder)
                await self._while_held(jobs)
                self.held = False
                log.warning("lost the jobs lease; background jobs stopped in this process")
        finally:
            if self.held:
                with contextlib.suppress(DoliumError):
                    await self._meta.drop_lease(NAME, self.holder)

    async def _while_held(self, jobs: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.ensure_future(jobs())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self._ttl / 3)
                if done:
                    task.result()  # jobs run for ever: an end is an error to raise
                    return
                if not await self._hold():
                    return
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
