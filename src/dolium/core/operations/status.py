"""Whether the server can serve, and the figures it reports about what it stores.

Readiness asks each store one cheap question under a time limit: a store
that does not answer in time counts as down, so a load balancer stops
sending requests to a server whose database or disk hangs. The figures are
read when asked (by a metrics scrape or the admin API), never kept up to
date on the write path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field

from dolium.core.context import Context
from dolium.core.jobs.delivery import CONSUMER as DELIVERY
from dolium.errors import DoliumError
from dolium.model import DEFAULT_POLICY, Usage

log = logging.getLogger(__name__)

# Seconds a store has to answer a readiness probe.
PROBE_TIMEOUT = 2.0
# A name no block is stored under: asking for it touches the store and
# finds nothing.
_PROBE_DIGEST = b"\0" * 32
# How many undelivered changes the backlog figure counts at most.
BACKLOG_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StoreFigures:
    """One storage policy's block store: what it says of itself."""

    policy: str
    capabilities: tuple[str, ...]
    statistics: Mapping[str, int | float]
    blocks: int = 0  # blocks the metadata references through this policy
    references: int = 0  # references to them: blocks / references is what dedup saves


@dataclass(frozen=True, slots=True)
class Backlog:
    """Changes event delivery has yet to take: how many (up to BACKLOG_LIMIT),
    and how long the oldest has waited."""

    pending: int
    oldest_age: float


@dataclass(frozen=True, slots=True)
class Figures:
    usage: Mapping[str, Usage]  # by tenant
    buckets: int
    stores: tuple[StoreFigures, ...]
    backlog: Backlog
    checks: tuple[Check, ...] = field(default=())


class Status:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def readiness(self) -> tuple[Check, ...]:
        """The metadata store and the default policy's block store, each probed once."""
        meta = self._probe("meta", self.ctx.meta.config_epoch())
        blobs = self._probe("blob", self.ctx.blobs.has(_PROBE_DIGEST))
        return tuple(await asyncio.gather(meta, blobs))

    async def _probe(self, name: str, call: Awaitable[object]) -> Check:
        try:
            await asyncio.wait_for(call, PROBE_TIMEOUT)
        except TimeoutError:
            return Check(name, False, f"no answer within {PROBE_TIMEOUT:g} s")
        except Exception as exc:  # any failure means not ready, never a 500
            log.warning("readiness: %s store: %s", name, exc)
            return Check(name, False, type(exc).__name__)
        return Check(name, True)

    async def figures(self) -> Figures:
        meta = self.ctx.meta
        tenants = await meta.list_tenants()
        usage = {t.name: (await meta.get_account(t.name)).usage for t in tenants}
        buckets = len(await meta.list_buckets())
        counts = await meta.block_counts()
        stores = [
            await self._store_figures(name, counts.get(name, (0, 0))) for name in self.policies()
        ]
        return Figures(usage, buckets, tuple(stores), await self.backlog())

    def policies(self) -> list[str]:
        """Every storage policy this server writes through, sorted."""
        return sorted({DEFAULT_POLICY, *self.ctx.policies})

    async def _store_figures(self, policy: str, counts: tuple[int, int]) -> StoreFigures:
        store = self.ctx.blobs_for(policy)
        try:
            stats = dict(await store.statistics())
        except DoliumError as exc:
            log.warning("statistics of policy %s: %s", policy, exc.message)
            stats = {}
        return StoreFigures(policy, tuple(sorted(store.capabilities())), stats, *counts)

    async def backlog(self) -> Backlog:
        """Event delivery's backlog, read from its cursor in the change log."""
        after = await self.ctx.meta.cursor(DELIVERY)
        pending = await self.ctx.meta.changes(after, BACKLOG_LIMIT)
        if not pending:
            return Backlog(0, 0.0)
        return Backlog(len(pending), max(0.0, self.ctx.clock() - pending[0].time))
