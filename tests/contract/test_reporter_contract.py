"""The Reporter contract against every reporter, each on a real destination:
an HTTP receiver for the webhook, throwaway Redis, NATS and RabbitMQ
servers (tests/support/brokers.py), a PostgreSQL database, the log."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from dolium.protocols.events import Reporter
from dolium.testing.reporter_contract import Delivered, TestReporter
from support.broker_readers import AmqpReader, NatsReader, PostgresReader, Reader, RedisReader
from support.brokers import broker
from support.postgres import postgres

__all__ = ["TestReporter"]

READERS: dict[str, type[Reader]] = {"redis": RedisReader, "nats": NatsReader, "amqp": AmqpReader}


class Receiver:
    """A webhook on 127.0.0.1 that keeps every body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(
                    self.rfile.read(int(self.headers["content-length"])).decode()
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def broker_url() -> Iterator[Callable[[str], str]]:
    """The URL of a broker of each kind, one for the module, started on first use."""
    with ExitStack() as stack:
        urls: dict[str, str] = {}

        def url(kind: str) -> str:
            if kind not in urls:
                urls[kind] = stack.enter_context(broker(kind)).url
            return urls[kind]

        yield url


@pytest.fixture(params=sorted(entry_points(group="dolium.reporter").names))
async def opened(
    request: pytest.FixtureRequest, tmp_path: Path, broker_url: Callable[[str], str]
) -> AsyncIterator[tuple[Reporter, Delivered]]:
    kind: str = request.param
    cls = entry_points(group="dolium.reporter")[kind].load()
    closers: list[Any] = []  # blocking clean-ups, run in a thread at the end
    with ExitStack() as stack:
        if kind == "memory":
            reporter = await cls.open()

            async def read(count: int) -> list[str]:
                return [m.message for m in reporter.events]
        elif kind == "log":
            kept = Kept()
            logger = logging.getLogger("dolium.events.contract")
            logger.addHandler(kept)
            stack.callback(logger.removeHandler, kept)
            reporter = await cls.open(logger="dolium.events.contract", level="warning")

            async def read(count: int) -> list[str]:
                return [line.split(" ", 1)[1] for line in kept.lines]
        elif kind == "webhook":
            receiver = Receiver()
            stack.callback(receiver.close)
            reporter = await cls.open(receiver.url, str(tmp_path / "outbox"))

            async def read(count: int) -> list[str]:
                await reporter.drain()
                return list(receiver.bodies)
        elif kind in READERS or kind == "postgres":
            if kind == "postgres":
                pg = postgres()
                reader: Reader = PostgresReader(pg.database(), pg.sql)
            else:
                reader = READERS[kind](broker_url(kind))
                closers.append(reader.close)
            reporter = await cls.open(**reader.options())

            async def read(count: int) -> list[str]:
                found = await asyncio.to_thread(reader.messages)
                return [json.dumps(m, ensure_ascii=False) for m in found]
        else:
            pytest.skip(f"reporter {kind!r}: no test destination in {__file__}")
        try:
            yield reporter, read
        finally:
            await reporter.close()
            for close in closers:
                await asyncio.to_thread(close)


@pytest.fixture
def reporter(opened: tuple[Reporter, Delivered]) -> Reporter:
    return opened[0]


@pytest.fixture
def delivered(opened: tuple[Reporter, Delivered]) -> Delivered:
    return opened[1]
