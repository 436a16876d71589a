"""Read back what Dolium published to a broker, with the broker's own client.

Each reader returns every message body seen so far, as parsed JSON, with the
id the reporter gave it; reading a RabbitMQ queue consumes it, so readers
keep what they got.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aio_pika
import nats
import redis
from nats.js.errors import NotFoundError


class Reader:
    """The destination's options for Dolium's config, and what arrived there."""

    kind = ""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tag = uuid.uuid4().hex[:10]
        self.seen: dict[str, list[Any]] = {}  # event id -> its message, as often as it came

    def options(self) -> dict[str, Any]:
        raise NotImplementedError

    def fetch(self) -> list[tuple[str, str]]:
        """(event id, message) of every message not read before."""
        raise NotImplementedError

    def messages(self) -> list[Any]:
        for event_id, message in self.fetch():
            self.seen.setdefault(event_id, []).append(json.loads(message))
        return [m for found in self.seen.values() for m in found]

    def records(self, bucket: str) -> list[dict[str, Any]]:
        """Each record about `bucket` once (delivery is at least once)."""
        once: dict[str, dict[str, Any]] = {}
        for message in self.messages():
            for record in message.get("Records", []):
                if record["s3"]["bucket"]["name"] == bucket:
                    once[json.dumps(record, sort_keys=True)] = record
        return list(once.values())

    def close(self) -> None:
        return None


class RedisReader(Reader):
    kind = "redis"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.stream = f"dolium-test-{self.tag}"
        self.client = redis.Redis.from_url(url)
        self.last = "-"

    def options(self) -> dict[str, Any]:
        return {"url": self.url, "stream": self.stream, "timeout": 2}

    def fetch(self) -> list[tuple[str, str]]:
        start = "-" if self.last == "-" else f"({self.last}"
        entries = self.client.xrange(self.stream, min=start)
        if entries:
            self.last = entries[-1][0].decode()
        return [(f[b"id"].decode(), f[b"message"].decode()) for _, f in entries]

    def close(self) -> None:
        self.client.delete(self.stream)
        self.client.close()


class NatsReader(Reader):
    kind = "nats"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.stream = f"DOLIUM_TEST_{self.tag}"
        self.subject = f"dolium.test.{self.tag}"
        self.next = 1

    def options(self) -> dict[str, Any]:
        return {"url": self.url, "stream": self.stream, "subject": self.subject, "timeout": 2}

    def fetch(self) -> list[tuple[str, str]]:
        return asyncio.run(self._fetch())

    async def _fetch(self) -> list[tuple[str, str]]:
        nc = await nats.connect(self.url, allow_reconnect=False, max_reconnect_attempts=1)
        try:
            js = nc.jetstream(timeout=5)
            try:
                last = (await js.stream_info(self.stream)).state.last_seq
            except NotFoundError:
                return []
            got = []
            while self.next <= last:
                msg = await js.get_msg(self.stream, self.next)
                assert msg.data is not None and msg.headers is not None
                got.append((msg.headers["Nats-Msg-Id"], msg.data.decode()))
                self.next += 1
            return got
        finally:
            await nc.close()

    def close(self) -> None:
        async def drop() -> None:
            nc = await nats.connect(self.url, allow_reconnect=False, max_reconnect_attempts=1)
            try:
                await nc.jetstream().delete_stream(self.stream)
            except NotFoundError:
                pass
            finally:
                await nc.close()

        asyncio.run(drop())


class AmqpReader(Reader):
    kind = "amqp"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.exchange = f"dolium.test.{self.tag}"
        self.queue = f"dolium-test-{self.tag}"
        self.headers: list[dict[str, Any]] = []  # of each message read, in order

    def options(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "exchange": self.exchange,
            "routing_key": "events",
            "queue": self.queue,
            "timeout": 2,
        }

    def fetch(self) -> list[tuple[str, str]]:
        return asyncio.run(self._fetch())

    async def _fetch(self) -> list[tuple[str, str]]:
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel()
            try:
                queue = await channel.get_queue(self.queue, ensure=True)
            except aio_pika.exceptions.ChannelClosed:
                return []  # not declared yet: nothing published
            got = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                assert message.message_id is not None
                assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
                self.headers.append(dict(message.headers))
                got.append((message.message_id, message.body.decode()))
            return got
        finally:
            await connection.close()

    def close(self) -> None:
        async def drop() -> None:
            connection = await aio_pika.connect(self.url)
            try:
                channel = await connection.channel()
                await channel.queue_delete(self.queue)
                await channel.exchange_delete(self.exchange)
            finally:
                await connection.close()

        asyncio.run(drop())


class PostgresReader(Reader):
    kind = "postgres"

    def __init__(self, url: str, sql: Any) -> None:
        super().__init__(url)
        self.sql = sql  # support.postgres.Postgres.sql
        self.after = 0

    def options(self) -> dict[str, Any]:
        return {"dsn": self.url, "table": "events", "channel": "dolium_events", "timeout": 2}

    def fetch(self) -> list[tuple[str, str]]:
        exists = self.sql("SELECT to_regclass('events') IS NOT NULL", self.url)
        if exists != "t":
            return []
        query = (
            "SELECT json_agg(json_build_array(seq, id, message) ORDER BY seq) "
            f"FROM events WHERE seq > {self.after}"
        )
        rows = json.loads(self.sql(query, self.url) or "null") or []
        if rows:
            self.after = rows[-1][0]
        return [(event_id, json.dumps(message)) for _, event_id, message in rows]
