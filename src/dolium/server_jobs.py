"""The server's garbage collection and scrub as jobs: one run, its report kept.

Each run writes its report where any process of the data directory reads it
(dolium.job_reports), with when it started and ended; the scheduled loops
of the jobs-lock holder and the runs an operator starts (core.operations.jobs,
through the admin API) are the same function.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dolium import job_reports
from dolium.config import Config
from dolium.core.context import Context
from dolium.core.jobs.gc import collect
from dolium.core.jobs.scrub import Scrubber
from dolium.core.operations.jobs import Jobs, Report
from dolium.core.store import Store

log = logging.getLogger("dolium")


async def _kept(config: Config, job: str, run: Callable[[], Awaitable[dict[str, Any]]]) -> Report:
    started = time.time()
    report = {**await run(), "started": started, "ended": time.time()}
    await asyncio.to_thread(job_reports.save, config.data_dir, job, report)
    return report


async def collect_once(ctx: Context, config: Config) -> Report:
    async def run() -> dict[str, Any]:
        done = await collect(ctx.meta, ctx.blobs_for, grace=config.gc_grace, now=ctx.clock())
        log.info("garbage collection: %s", done)
        return dataclasses.asdict(done)

    return await _kept(config, job_reports.GC, run)


async def scrub_once(ctx: Context, config: Config) -> Report:
    async def run() -> dict[str, Any]:
        rate = config.scrub_rate * 1_000_000 or None
        report = await Scrubber(ctx, rate=rate).run()
        log.info("scrub: %s", report.summary())
        return report.to_json()

    return await _kept(config, job_reports.SCRUB, run)


async def deliver_bucket_logs(store: Store) -> Report:
    """Write the server access log lines waiting in the spool to their target buckets."""
    return {"objects": await store.access_logging.deliver()}


async def every(interval: float, job: str, run: Callable[[], Awaitable[Report]]) -> None:
    """Run `job` once an interval, for ever; a failed run is logged and the next one comes."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run()
        except Exception:
            log.exception("%s failed", job)


def operator_jobs(ctx: Context, config: Config) -> Jobs:
    """The jobs the admin API shows and starts."""

    async def load(job: str) -> Report | None:
        return await asyncio.to_thread(job_reports.load, config.data_dir, job)

    runs = {
        job_reports.GC: lambda: collect_once(ctx, config),
        job_reports.SCRUB: lambda: scrub_once(ctx, config),
    }
    return Jobs(runs, load)
