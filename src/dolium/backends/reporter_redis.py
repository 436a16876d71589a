"""Redis reporter: append each event message to a Redis stream (XADD).

`publish` returns once Redis has answered the XADD, and raises while Redis
cannot be reached: event delivery then keeps the event in the change log
and tries again, so nothing is lost while Redis is away. The client
reconnects by itself once Redis answers again.

Each entry has the fields `id` (the event's id: an event delivered twice
has the same one), `event` (its name), `bucket`, `key`, `time` (epoch
seconds) and `message` (the S3 event document). `maxlen` trims the stream
to about that many entries (XADD MAXLEN ~), so a stream nobody reads does
not grow forever; 0 keeps every entry.

An entry survives a crash of Redis as far as its persistence settings say
(`appendonly yes` with `appendfsync always` keeps every acknowledged one).

This module must not import the core or the front ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from dolium.backends.broker_base import (
    Counters,
    broker_error,
    check_count,
    check_name,
    check_seconds,
    check_url,
)
from dolium.errors import ConfigError
from dolium.protocols.events import Message
from dolium.redact import redact_url, scrub


class RedisReporter(Counters):
    def __init__(self, url: str, stream: str, maxlen: int, timeout: float) -> None:
        super().__init__()
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    @classmethod
    async def open(
        cls,
        url: str = "redis://127.0.0.1:6379/0",
        stream: str = "dolium-events",
        maxlen: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109  (a config option: seconds per command)
    ) -> RedisReporter:
        """Check the options; the connection is made on first use, so a server
        starts (and keeps its events waiting) while Redis is down."""
        check_url("redis", url, ("redis", "rediss", "unix"))
        check_name("redis", "stream", stream)
        limit, seconds = (
            check_count("redis", "maxlen", maxlen),
            check_seconds("redis", "timeout", timeout),
        )
        try:
            return cls(url, stream, limit, seconds)
        except ValueError as exc:  # a URL redis-py cannot parse
            raise ConfigError(f"redis url {redact_url(url)!r}: {scrub(str(exc), url)}") from None

    async def publish(self, event: Message) -> None:
        fields: dict[FieldT, EncodableT] = {
            "id": event.id,
            "event": event.name,
            "bucket": event.bucket,
            "key": event.key,
            "time": repr(event.time),
            "message": event.message,
        }
        try:
            await self._redis.xadd(
                self.stream, fields, maxlen=self.maxlen or None, approximate=True
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self.failed += 1
            raise broker_error("redis", self.url, f"XADD to {self.stream}", exc) from exc
        except Exception as exc:  # unforeseen: its text is scrubbed all the same
            self.failed += 1
            what = f"{type(exc).__name__} in XADD"
            raise broker_error("redis", self.url, what, exc) from exc
        self.published += 1

    async def close(self) -> None:
        await self._redis.aclose()


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: RedisReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
