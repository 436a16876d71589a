"""The background jobs an operator may look at and start: their last reports,
and a run now.

The composition root says what each job is (a function that runs it once
and keeps its report where every process can read it) and how a report is
read back; this service only starts runs and answers for them. A run
started here runs in this process, beside the scheduled runs of the
process that holds the jobs lease: the jobs are correct when several
processes run them (see core.jobs.lease), so a second run costs time only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from dolium.errors import NotFound

log = logging.getLogger(__name__)

Report = dict[str, Any]
Run = Callable[[], Coroutine[Any, Any, Report]]
Load = Callable[[str], Awaitable[Report | None]]


class NoSuchJob(NotFound):
    pass


class Jobs:
    def __init__(self, runs: Mapping[str, Run], load: Load) -> None:
        self._runs = dict(runs)
        self._load = load
        self._running: dict[str, asyncio.Task[Report]] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._runs)

    def _check(self, name: str) -> Run:
        run = self._runs.get(name)
        if run is None:
            raise NoSuchJob(f"no job {name!r} (jobs: {', '.join(self.names)})")
        return run

    async def last(self, name: str) -> Report | None:
        """The report of the last run that ended, in any process."""
        self._check(name)
        return await self._load(name)

    def running(self, name: str) -> bool:
        """Whether a run started here has not ended yet."""
        task = self._running.get(name)
        return task is not None and not task.done()

    def start(self, name: str) -> bool:
        """Start a run here; False when one started here is still running."""
        run = self._check(name)
        if self.running(name):
            return False
        task = asyncio.create_task(run())
        task.add_done_callback(lambda t: _log_failure(name, t))
        self._running[name] = task
        return True

    async def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)


def _log_failure(name: str, task: asyncio.Task[Report]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("job %s failed", name, exc_info=task.exception())
