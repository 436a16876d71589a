"""NATS reporter: publish each event message to a JetStream stream.

`publish` returns once JetStream has acknowledged the message (stored in
the stream), and raises while NATS cannot be reached or does not
acknowledge in time: event delivery then keeps the event in the change log
and tries again. A lost connection is not retried in the background; the
next `publish` makes a new one, so a message is only ever counted as
delivered on JetStream's word.

Every message carries the event's id in `Nats-Msg-Id`: JetStream drops a
message whose id it has seen within the stream's duplicate window (two
minutes by default), so an event published again after a lost
acknowledgement is stored once. Headers `Dolium-Event` (the event's name),
`Dolium-Bucket` and `Dolium-Key` let a consumer filter without parsing;
the body is the S3 event document.

The stream is created on first connection when it does not exist (file
storage, the subject alone); an existing stream is used as it is, and must
take the subject.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from dolium.backends.broker_base import (
    Counters,
    broker_error,
    check_name,
    check_seconds,
    check_url,
)
from dolium.protocols.events import Message
from dolium.redact import redact_url, scrub

log = logging.getLogger(__name__)

_STREAM = re.compile(r"[A-Za-z0-9_-]{1,200}")  # JetStream: no dots, spaces or wildcards
_SUBJECT = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")  # no wildcards


class NatsReporter(Counters):
    def __init__(self, url: str, stream: str, subject: str, timeout: float) -> None:
        super().__init__()
        self.url = url
        self.stream = stream
        self.subject = subject
        self.timeout = timeout
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._connecting = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        url: str = "nats://127.0.0.1:4222",
        stream: str = "DOLIUM_EVENTS",
        subject: str = "dolium.events",
        timeout: float = 10.0,  # noqa: ASYNC109  (a config option: seconds per connect and ack)
    ) -> NatsReporter:
        """Check the options; the connection is made on first use, so a server
        starts (and keeps its events waiting) while NATS is down."""
        check_url("nats", url, ("nats", "tls"))
        check_name("nats", "stream", stream, _STREAM)
        check_name("nats", "subject", subject, _SUBJECT)
        return cls(url, stream, subject, check_seconds("nats", "timeout", timeout))

    async def publish(self, event: Message) -> None:
        headers = {
            "Nats-Msg-Id": event.id,
            "Dolium-Event": event.name,
            "Dolium-Bucket": event.bucket,
            "Dolium-Key": event.key,
        }
        try:
            js = await self._connect()
            await js.publish(
                self.subject, event.message.encode(), timeout=self.timeout, headers=headers
            )
        except (NatsError, OSError, TimeoutError) as exc:
            self.failed += 1
            await self._drop()
            raise broker_error("nats", self.url, f"publish to {self.subject}", exc) from exc
        except Exception as exc:
            # Unforeseen: the connection may be in any state, so the next
            # publish starts from a new one; and the text is scrubbed all the same.
            self.failed += 1
            await self._drop()
            what = f"{type(exc).__name__} in publish"
            raise broker_error("nats", self.url, what, exc) from exc
        self.published += 1

    async def close(self) -> None:
        await self._drop()

    async def _connect(self) -> JetStreamContext:
        async with self._connecting:
            if self._nc is not None and self._nc.is_connected and self._js is not None:
                return self._js
            await self._drop()
            # No reconnection inside the client: a publish made while it
            # reconnects would wait out its timeout; failing at once lets
            # delivery back off, and the next publish connects again. (The
            # client tries a server of its pool until it has failed more than
            # max_reconnect_attempts times, even for its first connection.)
            nc = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    connect_timeout=int(max(1.0, self.timeout)),
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0,
                    error_cb=self._error,
                    name="dolium",
                ),
                self.timeout,
            )
            try:
                js = nc.jetstream(timeout=self.timeout)
                await self._ensure_stream(js)
            except BaseException:
                await nc.close()
                raise
            self._nc, self._js = nc, js
            return js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            config = StreamConfig(
                name=self.stream, subjects=[self.subject], storage=StorageType.FILE
            )
            await js.add_stream(config)
            log.info("nats %s: created stream %s", redact_url(self.url), self.stream)

    async def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except (NatsError, OSError, TimeoutError) as exc:
                log.debug("nats %s: close: %s", redact_url(self.url), exc)

    async def _error(self, exc: Exception) -> None:
        # The client reports each failed attempt here; delivery logs the
        # outage once, so these are only for debugging.
        log.debug("nats %s: %s", redact_url(self.url), scrub(str(exc), self.url))


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: NatsReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
