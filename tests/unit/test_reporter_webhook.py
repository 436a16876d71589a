"""The webhook reporter: a durable outbox, in-order delivery, retries with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from dolium.backends.reporter_webhook import SIGNATURE, WebhookReporter
from dolium.errors import ConfigError
from dolium.protocols.events import Message

URL = "http://receiver.test/hook"


def event(n: int, at: float = 1_700_000_000.0) -> Message:
    return Message(
        id=f"id{n}",
        destination="arn:dolium:webhook::w",
        name="s3:ObjectCreated:Put",
        bucket="b",
        key=f"k{n}",
        time=at,
        message=json.dumps({"Records": [{"n": n}]}),
    )


class Receiver:
    """An httpx transport answering from a list of statuses, then 200."""

    def __init__(self, statuses: list[int] | None = None, refuse: str = "") -> None:
        self.statuses = list(statuses or [])
        self.refuse = refuse  # an event id always answered 503
        self.attempts: list[httpx.Request] = []
        self.delivered: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        if request.headers["x-dolium-event-id"] == self.refuse:
            status = 503
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        if status < 300:
            self.delivered.append(json.loads(request.content))
        return httpx.Response(status)


class FakeTime:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def reporter(outbox: Path, receiver: Receiver, fake: FakeTime, **options: float) -> WebhookReporter:
    return WebhookReporter(
        URL,
        outbox,
        transport=httpx.MockTransport(receiver),
        sleep=fake.sleep,
        clock=fake.clock,
        **options,  # type: ignore[arg-type]
    )


def pending(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.iterdir())


async def test_publish_writes_the_outbox_before_returning(tmp_path: Path) -> None:
    r = reporter(tmp_path / "out", Receiver(), FakeTime())  # no dispatcher running
    await r.publish(event(1))
    (name,) = pending(tmp_path / "out")
    stored = json.loads((tmp_path / "out" / name).read_text())
    assert stored["id"] == "id1" and stored["message"] == event(1).message
    await r.close()


async def test_delivery_in_order_removes_each_file(tmp_path: Path) -> None:
    receiver = Receiver()
    r = reporter(tmp_path / "out", receiver, FakeTime())
    for n in range(3):
        await r.publish(event(n))
    await r.drain()
    assert receiver.delivered == [{"Records": [{"n": n}]} for n in range(3)]
    assert pending(tmp_path / "out") == []
    request = receiver.attempts[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-dolium-event-id"] == "id0"
    await r.close()


async def test_a_secret_signs_each_body_and_counts_are_kept(tmp_path: Path) -> None:
    receiver = Receiver([503])
    r = reporter(tmp_path / "out", receiver, FakeTime(), secret="s3cret")  # type: ignore[arg-type]
    await r.publish(event(1))
    await r.drain()
    for request in receiver.attempts:
        # What a receiver does: the HMAC of the bytes it got, compared in constant time.
        expected = "sha256=" + hmac.new(b"s3cret", request.content, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers[SIGNATURE], expected)
    assert r.statistics() == {"published": 1, "failed": 1, "dropped": 0}
    unsigned = Receiver()
    r2 = reporter(tmp_path / "out2", unsigned, FakeTime())
    await r2.publish(event(2))
    await r2.drain()
    assert SIGNATURE not in unsigned.attempts[0].headers
    await r.close()
    await r2.close()


async def test_failures_are_retried_with_doubling_backoff(tmp_path: Path) -> None:
    receiver = Receiver([503, 0, 500, 404, 503, 503])
    fake = FakeTime()
    r = reporter(tmp_path / "out", receiver, fake, backoff=1.0, max_backoff=8.0)
    await r.publish(event(1))
    await r.drain()
    assert fake.slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert len(receiver.attempts) == 7
    assert receiver.delivered == [{"Records": [{"n": 1}]}]
    assert pending(tmp_path / "out") == []
    await r.close()


async def test_undelivered_events_survive_a_restart(tmp_path: Path) -> None:
    down = Receiver([503] * 100)
    fake = FakeTime()
    first = reporter(tmp_path / "out", down, fake)
    await first.publish(event(1))
    await first.publish(event(2))
    await first.close()
    assert len(pending(tmp_path / "out")) == 2
    up = Receiver()
    second = reporter(tmp_path / "out", up, fake)
    await second.drain()
    assert up.delivered == [{"Records": [{"n": 1}]}, {"Records": [{"n": 2}]}]
    await second.close()


async def test_processes_sharing_an_outbox_send_each_event_once_in_order(
    tmp_path: Path,
) -> None:
    # Two reporters on one outbox, as two server workers are: each file is
    # locked by the one delivering it (flock locks separate opens of a file
    # even within one process, so two reporters here stand for two processes).
    receiver = Receiver([503] * 3)  # the first event is slow to go out
    fake = FakeTime()
    first = reporter(tmp_path / "out", receiver, fake)
    second = reporter(tmp_path / "out", receiver, fake)
    for n in range(4):
        await first.publish(event(n))
    await asyncio.gather(first.drain(), second.drain())
    assert receiver.delivered == [{"Records": [{"n": n}]} for n in range(4)]
    assert pending(tmp_path / "out") == []
    await first.close()
    await second.close()


async def test_an_event_past_its_expiry_is_dropped(tmp_path: Path) -> None:
    receiver = Receiver(refuse="id1")
    fake = FakeTime()
    r = reporter(tmp_path / "out", receiver, fake, backoff=10.0, max_backoff=100.0, expire=1000.0)
    await r.publish(event(1, at=fake.now))
    await r.publish(event(2, at=fake.now))
    await r.drain()
    # Retried until more than `expire` seconds old, then dropped: 10+20+40+80+100*9.
    assert sum(fake.slept) == 1050.0
    # The second, also old by now, still goes out: it failed no attempt yet.
    assert receiver.delivered == [{"Records": [{"n": 2}]}]
    assert pending(tmp_path / "out") == []
    await r.close()


async def test_an_unreadable_file_is_set_aside(tmp_path: Path) -> None:
    outbox = tmp_path / "out"
    receiver = Receiver()
    r = reporter(outbox, receiver, FakeTime())
    (outbox / "00000000000000000001-damaged.json").write_bytes(b"{not json")
    await r.publish(event(1))
    await r.drain()
    assert receiver.delivered == [{"Records": [{"n": 1}]}]
    assert pending(outbox) == [".00000000000000000001-damaged.json.bad"]
    await r.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "ftp://x/"}, "http"),
        ({"url": URL, "backoff": 0}, "positive"),
        ({"url": URL, "secret": ""}, "secret"),
        ({"url": URL, "backoff": 5, "max_backoff": 1}, "max_backoff"),
    ],
)
async def test_open_refuses_bad_options(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await WebhookReporter.open(outbox=str(tmp_path / "out"), **options)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, list[bytes], Callable[[], int]]]:
    """A real HTTP server on 127.0.0.1 that fails the first request with 503."""
    bodies: list[bytes] = []
    calls = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["content-length"]))
            calls[0] += 1
            status = 503 if calls[0] == 1 else 204
            if status == 204:
                bodies.append(data)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", bodies, lambda: calls[0]
    server.shutdown()
    server.server_close()


async def test_background_delivery_over_http(
    tmp_path: Path, http_receiver: tuple[str, list[bytes], Callable[[], int]]
) -> None:
    url, bodies, calls = http_receiver
    r = await WebhookReporter.open(url, str(tmp_path / "out"), backoff=0.01, max_backoff=0.05)
    try:
        await r.publish(event(1, at=time.time()))
        await r.publish(event(2, at=time.time()))
        async with asyncio.timeout(20):
            while len(bodies) < 2:
                await asyncio.sleep(0.01)
        assert [json.loads(b) for b in bodies] == [{"Records": [{"n": n}]} for n in (1, 2)]
        assert calls() == 3  # one refused attempt, retried
        async with asyncio.timeout(20):
            while pending(tmp_path / "out"):
                await asyncio.sleep(0.01)
    finally:
        await r.close()
