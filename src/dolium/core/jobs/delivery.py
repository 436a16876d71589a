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

This module does not decide what a change means to a bucket's configuration
(`core.buckets.notifications` does) nor how a message reads (the format).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dolium.core.buckets.notifications import NOTIFIED, bucket_rules, events_for
from dolium.core.context import Context
from dolium.model import Bucket, Change

log = logging.getLogger(__name__)

CONSUMER = "notifications"
PAGE = 500  # changes read per query


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
    def __init__(self, ctx: Context, page: int = PAGE) -> None:
        self.ctx = ctx
        self.page = page
        self._lock = asyncio.Lock()  # one pass at a time in this process
        self._wake = asyncio.Event()

    async def catch_up(self) -> None:
        """Deliver the events of every change committed so far.

        Raises what a reporter raised; the changes before the failing one
        stay delivered (the cursor is past them), the rest wait for the next
        pass.
        """
        async with self._lock:
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
        then leaves before the write is answered. A failure is logged and left
        to the background passes, which retry it; the write itself stands."""
        try:
            await self.catch_up()
        except Exception as exc:
            log.warning("event delivery failed (will retry): %s", exc)
            self._wake.set()

    async def run_forever(self, interval: float) -> None:
        """Passes every `interval` seconds, and at once when a write's own pass failed."""
        while True:
            try:
                await self.catch_up()
            except Exception:
                log.exception("event delivery failed; retrying in %.1f s", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

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
