"""Reporters: deliver event messages to one destination outside Dolium.

A reporter stands for one destination (a webhook, a queue of a broker, a
log). The core decides which changes make events for which destination,
from the change log, and hands out neutral `Event`s; an `EventFormat` chosen
by the composition root says which changes a configuration's event names
select, and turns each event into the `Message` a receiver reads (the S3
event document, for one). A reporter never sees buckets' notification
configurations, permissions or object data, only the finished message.

Delivery is at least once: `publish` returns once the message survives a
crash of this process (written to an outbox, or accepted by a broker), and
the reporter keeps trying until the destination has taken it. Receivers
must expect duplicates; the message's `id` tells them apart.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from dolium.model import Actor, ChangeAction


@dataclass(frozen=True, slots=True)
class Event:
    """One change, as one destination is to be told of it, in the core's words."""

    id: str  # unique; the same each time the change is delivered to this destination
    destination: str  # the ARN the bucket's configuration names
    rule: str  # the id of the configuration's rule that matched ("" when none did)
    serial: int  # the change's serial: later changes have greater ones (0: no change)
    time: float  # epoch seconds
    action: ChangeAction  # BUCKET_CONFIG_SET: the configuration was put (a test message)
    actor: Actor
    actor_id: str  # the canonical id of the actor's tenant ("" for anonymous)
    bucket: str
    owner_id: str  # the canonical id of the bucket's owner
    region: str
    key: str = ""
    version_id: str = ""
    size: int | None = None
    etag: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """An event rendered for its destination: what the receiver gets."""

    id: str  # the event's id
    destination: str
    name: str  # the event's name in the message's own vocabulary
    bucket: str
    key: str  # "" for events about the bucket itself
    time: float  # epoch seconds
    message: str  # the document to deliver, as the receiver gets it


# Turns a neutral event into the document a destination receives.
Render = Callable[[Event], Message]

# Whether an event name of a bucket's notification configuration, in the
# words of the API that put it, stands for changes of this action.
Selects = Callable[[str, ChangeAction], bool]


@dataclass(frozen=True, slots=True)
class EventFormat:
    """Events in one API's words: what the event names of a configuration
    select, and how a destination's message reads."""

    selects: Selects
    render: Render


def plain(event: Event) -> Message:
    """Dolium's own message: the event's fields as a JSON object."""
    text = json.dumps(dataclasses.asdict(event), separators=(",", ":"), ensure_ascii=False)
    return Message(
        event.id, event.destination, event.action, event.bucket, event.key, event.time, text
    )


def plain_selects(name: str, action: ChangeAction) -> bool:
    """Dolium's own event names: the change actions themselves (`object.put`, ...)."""
    return name == action.value


# Dolium's own words, for a server that names no other format.
PLAIN = EventFormat(plain_selects, plain)


class Reporter(Protocol):
    async def publish(self, event: Message) -> None:
        """Accept `event` for delivery; return once it survives a crash."""

    async def close(self) -> None:
        """Stop delivering; events not yet delivered are kept for the next start."""


# The counters a reporter keeps, for the metrics: PUBLISHED messages the
# destination acknowledged (a reporter with an outbox counts them as they
# leave it, not as they enter it), FAILED attempts that raised or that the
# destination refused. A message retried three times before it is taken
# counts 1 published and 3 failed. A reporter may keep more counters.
PUBLISHED = "published"
FAILED = "failed"


@runtime_checkable
class CountingReporter(Reporter, Protocol):
    """A reporter that counts what it did (optional: a third-party reporter may not)."""

    def statistics(self) -> dict[str, int]:
        """At least {PUBLISHED: n, FAILED: n}, since the reporter opened."""


def statistics(reporter: Reporter) -> dict[str, int] | None:
    """`reporter`'s counters, or None when it keeps none."""
    if isinstance(reporter, CountingReporter):
        return reporter.statistics()
    return None
