"""A broker reporter connects again by itself once its broker is back (or,
for PostgreSQL, once its connection was cut).

Each broker is a throwaway one, killed (SIGKILL) between two publishes and
started again on the same port and data: the publish made while it is down
raises (the event then waits in the change log), the one after it comes
back succeeds on a new connection, and both messages acknowledged are
there to be read.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from dolium.errors import StorageError
from dolium.plugins import load_class
from dolium.protocols.events import Message, Reporter, statistics
from support.broker_readers import AmqpReader, NatsReader, PostgresReader, Reader, RedisReader
from support.brokers import Broker, broker
from support.postgres import postgres

READERS: dict[str, type[Reader]] = {"redis": RedisReader, "nats": NatsReader, "amqp": AmqpReader}


def message(n: int) -> Message:
    document = json.dumps({"n": n})
    return Message(f"id{n}", "arn:dolium:x::y", "s3:ObjectCreated:Put", "b", f"k{n}", 1.0, document)


async def open_reporter(kind: str, reader: Reader) -> Reporter:
    cls = load_class("dolium.reporter", f"notify.{kind}", kind)
    reporter: Reporter = await cls.open(**reader.options())
    return reporter


@pytest.mark.parametrize("kind", ["redis", "nats", "amqp"])
def test_a_reporter_reconnects_after_its_broker_restarts(kind: str) -> None:
    with broker(kind, restartable=True) as found:
        reader = READERS[kind](found.url)
        asyncio.run(restart_between_publishes(kind, found, reader))
        assert {m["n"] for m in reader.messages()} == {1, 3}


async def restart_between_publishes(kind: str, found: Broker, reader: Reader) -> None:
    reporter = await open_reporter(kind, reader)
    try:
        await reporter.publish(message(1))
        await asyncio.to_thread(found.kill)
        with pytest.raises(StorageError):
            await reporter.publish(message(2))
        await asyncio.to_thread(found.start)
        deadline = time.monotonic() + 20
        while True:  # RabbitMQ listens a moment before it takes connections
            try:
                await reporter.publish(message(3))
                break
            except StorageError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        counters = statistics(reporter)
        assert counters is not None and counters["published"] == 2 and counters["failed"] >= 1
    finally:
        await reporter.close()


def test_the_postgres_reporter_reconnects_after_its_connection_is_cut() -> None:
    pg = postgres()
    reader = PostgresReader(pg.database(), pg.sql)

    async def run() -> None:
        reporter = await open_reporter("postgres", reader)
        try:
            await reporter.publish(message(1))
            # The server ends every session of the database, as a restart would.
            database = reader.url.rsplit("/", 1)[1]
            await asyncio.to_thread(
                pg.sql,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
            )
            try:
                await reporter.publish(message(2))
            except StorageError:  # found the connection cut: the next publish makes one
                await reporter.publish(message(2))
            await reporter.publish(message(2))  # again: stored once
        finally:
            await reporter.close()

    asyncio.run(run())
    assert sorted(m["n"] for m in reader.messages()) == [1, 2]
