"""Event delivery: reads the change log and hands each event to its reporter.

A consumer of the change log under the cursor CONSUMER. A pass reads the
changes after the cursor in serial order, matches each against its bucket's
notification configuration, renders the events it makes and publishes them
(both in the event format the composition root chose, `Context.events`);
the cursor moves only past changes whose events every reporter has
accepted. An event is therefore
delivered at least once, even when the process dies between a commit and
its delivery: the next pass, in this process or after a restart, finds the
change again. Each process serving one store runs passes, so a change may
be delivered by more than one; receivers tell duplicates apart by id.

A change is matched against the configuration its bucket has when the pass
reads it; putting a configuration first delivers what came before it.

A reporter that raises (its broker down, its outbox full) stops the pass;
the changes from the failing one on wait in the log. Passes then back off:
the background retries after `interval` seconds, doubling up to
`max_backoff`, and a write's own pass is skipped while the outage lasts, so
writes neither pay for a broker that is away nor hammer it. The outage is
logged once when it starts and once when it ends, however many events wait.
`status()` tells how far behind delivery is and how often it failed;
`counters()` gives this process's counts alone, without a query, for the
metrics, which add up those of every process.

This module does not decide what a change means to a bucket's configuration
(`core.buckets.notifications` does) nor how a message reads (the format).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from dolium.core.buckets.notifications import NOTIFIED, bucket_rules, events_for
from dolium.core.context import Context
from dolium.errors import DoliumError
from dolium.model import Bucket, Change
from dolium.protocols.events import statistics

log = logging.getLogger(__name__)

CONSUMER = "notifications"
PAGE = 500  # changes read per query
BACKOFF = 1.0  # seconds from a failed pass to the next; doubles while they fail
MAX_BACKOFF = 8.0  # longest wait, in seconds, between passes while delivery fails


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """How event delivery stands, for the metrics."""

    cursor: int  # the serial of the last change delivered (or making no event)
    pending: int  # the serial of the oldest change not yet delivered; 0: none
    lag: float  # seconds since the oldest change not yet delivered committed; 0: none
    failures: int  # passes a reporter (or the log) failed, since this process started
    failing_since: float | None  # epoch seconds the current outage began; None: no outage
    last_error: str  # the most recent failure ("" if none)
    # Each reporter's counters (`Reporter.statistics`), by destination ARN,
    # for those that keep them.
    reporters: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryCounters:
    """What this process's delivery did since it started: read without a query,
    for metrics that add up the counters of every process."""

    failures: int  # passes that failed
    reporters: dict[str, dict[str, int]]  # each reporter's counters, by destination ARN


class _Lookups:
    """Buckets and tenants' canonical ids, read once per pass."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.buckets: dict[str, Bucket | None] = {}
        self.ids: dict[str, str] = {}

    async def bucket(self, name: str) -> Bucket | None:
        if name not in self.buckets:
            self.buckets[name] = await self.ctx.meta.get_bucket(name)
        return self.buckets[name]

    async def canonical_id(self, tenant: str) -> str:
        if not tenant:
            return ""
        if tenant not in self.ids:
            found = await self.ctx.meta.get_tenant(tenant)
            self.ids[tenant] = found.canonical_id if found is not None else tenant
        return self.ids[tenant]


class Delivery:
    def __init__(
        self,
        ctx: Context,
        page: int = PAGE,
        backoff: float = BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.ctx = ctx
        self.page = page
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.failures = 0
        self.failing_since: float | None = None
        self.last_error = ""
        self._lock = asyncio.Lock()  # one pass at a time in this process
        self._streak = 0  # passes failed in a row
        self._retry_at = 0.0  # time.monotonic() before which no pass is tried

    async def status(self) -> DeliveryStatus:
        """Where delivery stands: reads the cursor and the oldest waiting change."""
        cursor = await self.ctx.meta.cursor(CONSUMER)
        waiting = await self.ctx.meta.changes(cursor, 1)
        pending, lag = 0, 0.0
        if waiting:
            pending = waiting[0].serial
            # The meta store stamps changes with the wall clock, not the core's.
            lag = max(0.0, time.time() - waiting[0].time)
        counters = self.counters().reporters
        return DeliveryStatus(
            cursor, pending, lag, self.failures, self.failing_since, self.last_error, counters
        )

    def counters(self) -> DeliveryCounters:
        """This process's failed passes and its reporters' counters."""
        reporters = {
            arn: found
            for arn, reporter in self.ctx.reporters.items()
            if (found := statistics(reporter)) is not None
        }
        return DeliveryCounters(self.failures, reporters)

    async def attempt(self, *, when_due: bool = False) -> bool:
        """A pass; False if it failed (or, `when_due`, if the next retry is
        not due yet). Counts the failure and logs an outage's first and last
        pass, not every failed one."""
        async with self._lock:
            # Checked under the lock: writes that queued behind a pass which
            # then failed must not each wait out the broker's timeout again.
            if when_due and time.monotonic() < self._retry_at:
                return False
            return await self._attempt()

    async def _attempt(self) -> bool:
        try:
            await self._catch_up()
        except Exception as exc:
            self.failures += 1
            self._streak += 1
            delay = min(self.max_backoff, self.backoff * 2 ** min(self._streak - 1, 30))
            self._retry_at = time.monotonic() + delay
            self.last_error = str(exc) or type(exc).__name__
            if self.failing_since is None:
                self.failing_since = time.time()
                log.warning(
                    "event delivery failed, retrying until it succeeds: %s",
                    self.last_error,
                    exc_info=not isinstance(exc, DoliumError),
                )
            else:
                log.debug("event delivery still failing: %s", self.last_error)
            return False
        if self.failing_since is not None:
            log.warning(
                "event delivery resumed after %.1f s",
                time.time() - self.failing_since,
            )
            self.failing_since = None
        self._streak = 0
        return True

    async def catch_up(self) -> None:
        """Deliver the events of every change committed so far.

        Raises what a reporter raised; the changes before the failing one
        stay delivered (the cursor is past them), the rest wait for the next
        pass.
        """
        async with self._lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        after = await self.ctx.meta.cursor(CONSUMER)
        while True:
            changes = await self.ctx.meta.changes(after, self.page)
            if not changes:
                return
            lookups = _Lookups(self.ctx)
            done = after
            try:
                for change in changes:
                    await self._deliver(change, lookups)
                    done = change.serial
            finally:
                if done > after:
                    await self.ctx.meta.advance_cursor(CONSUMER, done)
            after = done
            if len(changes) < self.page:
                return

    async def deliver_now(self) -> None:
        """A pass now, for a write to a bucket with a configuration: its event
        then leaves before the write is answered. A failure is left to the
        background passes, which retry it; the write itself stands. During an
        outage the write tries no sooner than a background pass would."""
        if time.monotonic() < self._retry_at:
            return  # without waiting for the lock
        await self.attempt(when_due=True)

    async def run_forever(self, interval: float) -> None:
        """Passes every `interval` seconds; while they fail, after a delay that
        doubles from `backoff` up to `max_backoff`."""
        while True:
            await self.attempt()
            await asyncio.sleep(max(interval, self._retry_at - time.monotonic()))

    async def _deliver(self, change: Change, lookups: _Lookups) -> None:
        if change.action not in NOTIFIED:
            return
        bucket = await lookups.bucket(change.bucket)
        if bucket is None or not bucket_rules(bucket):
            return
        owner_id = await lookups.canonical_id(bucket.owner)
        actor_id = await lookups.canonical_id(change.actor.tenant)
        region = self.ctx.settings.region
        selects = self.ctx.events.selects
        for event in events_for(change, bucket, owner_id, actor_id, region, selects):
            reporter = self.ctx.reporters.get(event.destination)
            if reporter is None:
                # The server's configuration dropped this destination since the
                # bucket's configuration was put.
                log.warning(
                    "bucket %s: no reporter for %s; event of change %d dropped",
                    bucket.name,
                    event.destination,
                    change.serial,
                )
                continue
            await reporter.publish(self.ctx.events.render(event))
