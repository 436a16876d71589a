"""Reporters: deliver event messages to one destination outside Dolium.

A reporter stands for one destination (a webhook, a queue of a broker, a
log). The core decides which events go where and builds each message; a
reporter never sees buckets' notification configurations, permissions or
object data, only the finished message.

Delivery is at least once: `publish` returns once the event survives a
crash of this process (written to an outbox, or accepted by a broker), and
the reporter keeps trying until the destination has taken it. Receivers
must expect duplicates; the message's sequencer and the event's `id` tell
them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Event:
    """One message for one destination."""

    id: str  # unique; the same on every delivery attempt
    destination: str  # the ARN the bucket's configuration names
    name: str  # "s3:ObjectCreated:Put", "s3:TestEvent", ...
    bucket: str
    key: str  # "" for events about the bucket itself
    time: float  # epoch seconds
    message: str  # the JSON document to deliver, as the receiver gets it


class Reporter(Protocol):
    async def publish(self, event: Event) -> None:
        """Accept `event` for delivery; return once it survives a crash."""

    async def close(self) -> None:
        """Stop delivering; events not yet delivered are kept for the next start."""
