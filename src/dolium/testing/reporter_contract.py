"""Contract suite for Reporter implementations.

A test module imports `TestReporter` and provides a `reporter` fixture (a
reporter open on an empty destination) and `delivered`: an async callable
giving the documents the destination holds so far, waiting (up to a few
seconds) for ones still on their way. Delivery is at least once, so a
document may be there more than once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from dolium.protocols.events import FAILED, PUBLISHED, Message, Reporter, statistics

Delivered = Callable[[int], Awaitable[list[str]]]  # (at least this many) -> documents


def message(n: int, key: str = "") -> Message:
    document = json.dumps({"Records": [{"n": n, "key": key or f"k{n}"}]}, ensure_ascii=False)
    return Message(
        id=f"event-{n}",
        destination="arn:dolium:contract::test",
        name="s3:ObjectCreated:Put",
        bucket="contract",
        key=key or f"k{n}",
        time=1_700_000_000.0 + n,
        message=document,
    )


class TestReporter:
    async def test_published_documents_arrive_whole(
        self, reporter: Reporter, delivered: Delivered
    ) -> None:
        sent = [message(1), message(2, key="dossier/été 2026.txt"), message(3)]
        for m in sent:
            await reporter.publish(m)
        got = await delivered(3)
        assert {m.message for m in sent} <= set(got)

    async def test_publishing_again_is_allowed(
        self, reporter: Reporter, delivered: Delivered
    ) -> None:
        # Delivery retries a message whose acknowledgement was lost.
        await reporter.publish(message(7))
        await reporter.publish(message(7))
        assert message(7).message in await delivered(1)

    async def test_counters_when_kept(self, reporter: Reporter, delivered: Delivered) -> None:
        before = statistics(reporter)
        for n in range(4):
            await reporter.publish(message(n))
        await delivered(4)
        after = statistics(reporter)
        if before is None or after is None:
            return  # counters are optional
        assert after[PUBLISHED] - before[PUBLISHED] == 4
        assert after[FAILED] == before[FAILED]
