"""The jobs lease: one process of several runs the background jobs, and
another takes them over when it stops renewing."""

from __future__ import annotations

import asyncio
import contextlib

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.jobs.lease import NAME, JobsLease
from dolium.errors import StorageError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _until(condition: object, ticks: int = 200) -> None:
    for _ in range(ticks):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_one_runs_the_jobs_and_another_takes_over_when_it_stops() -> None:
    meta = await MemoryMetaStore.open()
    clock = Clock()
    running: list[str] = []

    def jobs_of(name: str) -> object:
        async def jobs() -> None:
            running.append(name)
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(name)

        return jobs

    a = JobsLease(meta, clock, ttl=0.3, retry=0.05, holder="a")
    b = JobsLease(meta, clock, ttl=0.3, retry=0.05, holder="b")
    task_a = asyncio.create_task(a.run(jobs_of("a")))  # type: ignore[arg-type]
    await _until(lambda: running == ["a"])
    task_b = asyncio.create_task(b.run(jobs_of("b")))  # type: ignore[arg-type]
    await asyncio.sleep(0.5)  # b keeps trying; a keeps renewing
    assert running == ["a"]
    task_a.cancel()  # a process that ends gives the lease up at once
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    await _until(lambda: running == ["b"])
    assert await meta.lease_holder(NAME, now=clock.now) == "b"
    task_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task_b


async def test_a_holder_that_cannot_renew_stops_its_jobs() -> None:
    meta = await MemoryMetaStore.open()
    clock = Clock()
    running: list[bool] = []

    async def jobs() -> None:
        running.append(True)
        try:
            await asyncio.Event().wait()
        finally:
            running.clear()

    lease = JobsLease(meta, clock, ttl=0.3, retry=0.05, holder="a")
    task = asyncio.create_task(lease.run(jobs))
    await _until(lambda: running == [True])

    async def unreachable(*args: object, **kwargs: object) -> bool:
        raise StorageError("database unreachable")

    hold = meta.hold_lease
    meta.hold_lease = unreachable  # type: ignore[method-assign]
    await _until(lambda: not running)
    assert not lease.held
    meta.hold_lease = hold  # type: ignore[method-assign]
    await _until(lambda: running == [True])
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_dead_holder_is_replaced_once_its_lease_expires() -> None:
    meta = await MemoryMetaStore.open()
    clock = Clock()
    # A holder that died: its lease stays until it expires.
    assert await meta.hold_lease(NAME, "dead", now=clock.now, until=clock.now + 15)
    started = asyncio.Event()

    async def jobs() -> None:
        started.set()
        await asyncio.Event().wait()

    lease = JobsLease(meta, clock, ttl=15, retry=0.02, holder="b")
    task = asyncio.create_task(lease.run(jobs))
    await asyncio.sleep(0.1)
    assert not started.is_set()
    clock.now += 15
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
