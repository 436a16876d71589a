"""Event delivery from the change log: order, retries, the durable cursor."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from corekit import ALICE, Core, body, make_core

from dolium.backends.reporter_memory import MemoryReporter
from dolium.core.buckets.lifecycle import DAY, Expiration, Lifecycle, Rule
from dolium.core.buckets.notifications import NotificationRule
from dolium.core.jobs.delivery import CONSUMER, Delivery
from dolium.core.jobs.lifecycle import apply
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import StorageError
from dolium.frontends.s3.wire.events import S3_EVENTS
from dolium.protocols.events import Message

ARN = "arn:dolium:webhook::hook"
RULE = NotificationRule("r1", "Queue", ARN, ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"))


class FlakyReporter(MemoryReporter):
    """Refuses every message while `down`, as a reporter with a full outbox would."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def publish(self, event: Message) -> None:
        if self.down:
            raise StorageError("outbox full")
        await super().publish(event)


@pytest.fixture
async def core() -> Core:
    core = make_core()
    core.store.ctx.reporters = {ARN: FlakyReporter()}
    core.store.ctx.events = S3_EVENTS
    await core.store.buckets.create(ALICE, "events")
    await core.store.notifications.put(ALICE, "events", [RULE])
    return core


def reporter(core: Core) -> FlakyReporter:
    found = core.store.ctx.reporters[ARN]
    assert isinstance(found, FlakyReporter)
    return found


def keys(core: Core) -> list[str]:
    out = []
    for message in reporter(core).events:
        document = json.loads(message.message)
        out += [r["s3"]["object"]["key"] for r in document.get("Records", [])]
    return out


async def put(core: Core, key: str) -> None:
    await core.store.objects.put(ALICE, "events", key, body(b"x"), WriteOptions())


async def last_serial(core: Core) -> int:
    return (await core.meta.changes(0, 10_000))[-1].serial


async def test_a_refused_event_waits_in_the_log_and_the_write_stands(core: Core) -> None:
    reporter(core).down = True
    await put(core, "a")
    await put(core, "b")
    assert keys(core) == []
    assert await core.store.objects.head(ALICE, "events", "a")  # the writes are committed
    with pytest.raises(StorageError):
        await core.store.delivery.catch_up()
    assert await core.meta.cursor(CONSUMER) < await last_serial(core)
    reporter(core).down = False
    await core.store.delivery.catch_up()
    assert keys(core) == ["a", "b"]  # in the order of their changes
    assert await core.meta.cursor(CONSUMER) == await last_serial(core)


async def test_a_new_delivery_resumes_at_the_stored_cursor(core: Core) -> None:
    await put(core, "a")
    assert keys(core) == ["a"]
    reporter(core).down = True
    await put(core, "b")
    reporter(core).down = False
    # A restarted server: a new job over the same store, its cursor read back.
    await Delivery(core.store.ctx).catch_up()
    assert keys(core) == ["a", "b"]
    await Delivery(core.store.ctx).catch_up()
    assert keys(core) == ["a", "b"]


async def test_changes_before_a_configuration_use_the_one_they_were_made_under(
    core: Core,
) -> None:
    await core.store.buckets.create(ALICE, "quiet")
    await core.store.objects.put(ALICE, "quiet", "early", body(b"x"), WriteOptions())
    await core.store.notifications.put(ALICE, "quiet", [RULE])
    await core.store.objects.put(ALICE, "quiet", "late", body(b"x"), WriteOptions())
    assert keys(core) == ["late"]


async def test_an_event_delivered_again_keeps_its_id(core: Core) -> None:
    # The reporter takes the message, but the pass fails before the cursor
    # moves past it (as when the process dies there): the next pass sends it again.
    flaky = reporter(core)
    taken = flaky.publish

    async def take_then_fail(message: Message) -> None:
        await taken(message)
        raise StorageError("gone before the cursor moved")

    flaky.publish = take_then_fail  # type: ignore[method-assign]
    await put(core, "a")
    flaky.publish = taken  # type: ignore[method-assign]
    await core.store.delivery.catch_up()
    ids = [m.id for m in flaky.events if m.key == "a"]
    assert len(ids) == 2 and ids[0] == ids[1]
    await core.store.delivery.catch_up()
    assert len([m for m in flaky.events if m.key == "a"]) == 2


async def test_lifecycle_expiry_makes_no_event(core: Core) -> None:
    expire = Rule(id="x", enabled=True, prefix="", expiration=Expiration(days=1))
    await Lifecycle(core.store.ctx).put(ALICE, "events", [expire])
    await put(core, "old")
    bucket = await core.meta.get_bucket("events")
    assert bucket is not None
    report = await apply(core.store.ctx, bucket, core.clock() + 3 * DAY)
    assert report.expired == 1
    await core.store.objects.delete(ALICE, "events", "gone")
    await core.store.delivery.catch_up()
    removals = [m.name for m in reporter(core).events if m.name.startswith("s3:ObjectRemoved")]
    assert removals == ["s3:ObjectRemoved:Delete"]  # the request's, not the expiry's


class CountingFlaky(FlakyReporter):
    """Counts the attempts it was given, refused or not."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def publish(self, event: Message) -> None:
        self.attempts += 1
        await super().publish(event)


async def test_an_outage_is_logged_once_and_writes_do_not_hammer_the_reporter(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = CountingFlaky()
    core.store.ctx.reporters = {ARN: flaky}
    # A backoff no test outlasts: writes inside it do not try.
    delivery = core.store.delivery
    delivery.backoff = delivery.max_backoff = 60.0
    flaky.down = True
    with caplog.at_level(logging.DEBUG, logger="dolium.core.jobs.delivery"):
        for n in range(20):
            await put(core, f"k{n}")
        assert flaky.attempts == 1  # the first write found the outage; the others waited
        assert not await delivery.attempt()  # a background pass: tries, fails, quietly
        assert flaky.attempts == 2
        flaky.down = False
        assert await delivery.attempt()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith("event delivery failed, retrying until it succeeds: outbox")
    assert warnings[1].startswith("event delivery resumed after")
    assert keys(core) == [f"k{n}" for n in range(20)]
    assert delivery.failures == 2 and delivery.failing_since is None


async def test_status_tells_the_lag_the_failures_and_the_reporters_counters(core: Core) -> None:
    delivery = core.store.delivery
    await delivery.catch_up()
    assert (await delivery.status()).lag == 0.0
    reporter(core).down = True
    await put(core, "a")  # its own pass fails
    core.clock.advance(5)
    status = await delivery.status()
    assert status.pending > status.cursor and status.lag >= 5
    assert status.failures == 1 and status.failing_since is not None
    assert status.last_error == "outbox full"
    assert status.reporters == {ARN: {"published": 1, "failed": 0}}  # the s3:TestEvent
    reporter(core).down = False
    core.clock.advance(60)  # past the retry delay
    assert await delivery.attempt()
    status = await delivery.status()
    assert (status.pending, status.lag, status.failing_since) == (0, 0.0, None)
    assert status.reporters[ARN]["published"] == 2


async def test_writes_queued_behind_a_failing_pass_do_not_each_try_again(core: Core) -> None:
    """A broker that hangs until its timeout: the writes that waited for that
    pass return once it fails, rather than each waiting out the timeout."""
    gate = asyncio.Event()
    attempts = 0

    class Hanging(MemoryReporter):
        async def publish(self, event: Message) -> None:
            nonlocal attempts
            attempts += 1
            await gate.wait()
            raise StorageError("timed out")

    core.store.ctx.reporters = {ARN: Hanging()}
    writes = [asyncio.create_task(put(core, f"k{n}")) for n in range(5)]
    await asyncio.sleep(0.05)  # the first write's pass hangs; the others queue
    gate.set()
    await asyncio.gather(*writes)
    assert attempts == 1
    assert core.store.delivery.failures == 1
