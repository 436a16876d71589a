"""AMQP reporter: publish each event message to a RabbitMQ exchange.

The channel runs in publisher-confirm mode and every message is persistent
(delivery mode 2) and mandatory: `publish` returns once the broker has
confirmed it, which for a durable queue means it is written to disk. A
message no queue takes (the exchange has no binding for its routing key)
comes back and counts as a failure rather than vanishing, as does a refused
one; so does a broker that cannot be reached. Event delivery then keeps the
event in the change log and tries again. A lost connection is made again by
the next `publish`.

The exchange (durable, of `exchange_type`) is declared at connection; with
`queue`, a durable queue of that name is declared too and bound to it with
the routing key, so events are kept from the first one even before a
consumer comes. `exchange = ""` publishes through the default exchange,
where the routing key is the queue's name.

Every message carries the event's id as its `message_id` (an event
published twice has the same one), `content_type` application/json, the
event's time as its timestamp, and headers `dolium-event`, `dolium-bucket`
and `dolium-key`; the body is the S3 event document.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from pamqp.commands import Basic

from dolium.backends.broker_base import (
    Counters,
    broker_error,
    check_name,
    check_seconds,
    check_url,
)
from dolium.errors import ConfigError
from dolium.protocols.events import Message
from dolium.redact import redact_url

log = logging.getLogger(__name__)
# The driver logs an error at every failed connection attempt; the reporter
# raises those failures, and event delivery logs an outage once.
logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)

_EXCHANGE_TYPES = ("direct", "fanout", "topic", "headers")
_EXCHANGE = re.compile(r"[A-Za-z0-9_.:-]{0,255}")  # "" is the default exchange
_FAILURES = (AMQPError, ChannelInvalidStateError, OSError, TimeoutError)


class AmqpReporter(Counters):
    def __init__(
        self,
        url: str,
        exchange: str,
        exchange_type: str,
        routing_key: str,
        queue: str | None,
        timeout: float,
    ) -> None:
        super().__init__()
        self.url = url
        self.exchange_name = exchange
        self.exchange_type = aio_pika.ExchangeType(exchange_type)
        self.routing_key = routing_key
        self.queue = queue
        self.timeout = timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connecting = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        url: str = "amqp://guest:guest@127.0.0.1:5672/",
        exchange: str = "dolium.events",
        exchange_type: str = "topic",
        routing_key: str = "dolium.events",
        queue: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109  (a config option: seconds per connect and confirm)
    ) -> AmqpReporter:
        """Check the options; the connection is made on first use, so a server
        starts (and keeps its events waiting) while the broker is down."""
        check_url("amqp", url, ("amqp", "amqps"))
        check_name("amqp", "exchange", exchange, _EXCHANGE)
        if exchange_type not in _EXCHANGE_TYPES:
            raise ConfigError(
                f"amqp exchange_type: {exchange_type!r} is not one of {', '.join(_EXCHANGE_TYPES)}"
            )
        check_name("amqp", "routing_key", routing_key)
        if queue is not None:
            check_name("amqp", "queue", queue)
        if exchange == "" and queue is not None and routing_key != queue:
            raise ConfigError(
                "amqp routing_key: through the default exchange it must name the queue"
            )
        seconds = check_seconds("amqp", "timeout", timeout)
        return cls(url, exchange, exchange_type, routing_key, queue, seconds)

    async def publish(self, event: Message) -> None:
        message = aio_pika.Message(
            event.message.encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.id,
            timestamp=datetime.fromtimestamp(event.time, UTC),
            headers={
                "dolium-event": event.name,
                "dolium-bucket": event.bucket,
                "dolium-key": event.key,
            },
        )
        try:
            exchange = await self._connect()
            confirmation = await exchange.publish(
                message, self.routing_key, mandatory=True, timeout=self.timeout
            )
            if isinstance(confirmation, Basic.Nack):
                raise AMQPError("the broker refused the message (nack)")
            if not isinstance(confirmation, Basic.Ack):  # returned: mandatory and unroutable
                raise AMQPError(f"no queue is bound for routing key {self.routing_key!r}")
        except _FAILURES as exc:
            self.failed += 1
            await self._drop()
            where = self.exchange_name or "the default exchange"
            raise broker_error("amqp", self.url, f"publish to {where}", exc) from exc
        except Exception as exc:
            # Unforeseen: the connection may be in any state, so the next
            # publish starts from a new one; and the text is scrubbed all the same.
            self.failed += 1
            await self._drop()
            what = f"{type(exc).__name__} in publish"
            raise broker_error("amqp", self.url, what, exc) from exc
        self.published += 1

    async def close(self) -> None:
        await self._drop()

    async def _connect(self) -> AbstractExchange:
        async with self._connecting:
            if (
                self._exchange is not None
                and self._channel is not None
                and not self._channel.is_closed
            ):
                return self._exchange
            await self._drop()
            # A plain connection, not aio-pika's robust one: a publish made
            # while it reconnects would wait; failing at once lets delivery
            # back off, and the next publish connects again.
            connection = await aio_pika.connect(self.url, timeout=self.timeout)
            try:
                channel = await connection.channel(publisher_confirms=True)
                if self.exchange_name:
                    exchange = await channel.declare_exchange(
                        self.exchange_name, self.exchange_type, durable=True
                    )
                else:
                    exchange = channel.default_exchange
                if self.queue is not None:
                    queue = await channel.declare_queue(self.queue, durable=True)
                    if self.exchange_name:
                        await queue.bind(exchange, self.routing_key)
            except BaseException:
                await connection.close()
                raise
            self._connection, self._channel, self._exchange = connection, channel, exchange
            return exchange

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except _FAILURES as exc:
                log.debug("amqp %s: close: %s", redact_url(self.url), exc)


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: AmqpReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
