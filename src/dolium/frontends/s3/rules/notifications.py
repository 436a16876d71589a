"""S3's rules on a notification configuration: every event type is one S3
knows, and no two rules could both fire for one event; and S3's words for a
configuration naming destinations the server cannot deliver to."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from dolium.core.buckets.notifications import NotificationRule
from dolium.errors import InvalidArgument
from dolium.frontends.s3.wire.events import EVENT_TYPES, overlap

UNVALIDATED = "Unable to validate the following destination configurations"
AMBIGUOUS = (
    "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules "
    "if the prefixes are overlapping for the same event type."
)


def check_notification(rules: Sequence[NotificationRule]) -> None:
    """S3's checks of a notification configuration, run where the core approves one:
    every event type is one S3 knows, and no two rules overlap (an event type
    in common, and prefixes and suffixes that a key could match both of)."""
    for rule in rules:
        for event in rule.events:
            if event not in EVENT_TYPES:
                raise InvalidArgument(
                    "The event is not supported for notifications", argument=event
                )
    for a, b in itertools.combinations(rules, 2):
        events = any(overlap(x, y) for x in a.events for y in b.events)
        pa, pb, sa, sb = a.prefix or "", b.prefix or "", a.suffix or "", b.suffix or ""
        prefixes = pa.startswith(pb) or pb.startswith(pa)
        suffixes = sa.endswith(sb) or sb.endswith(sa)
        if events and prefixes and suffixes:
            raise InvalidArgument(AMBIGUOUS)
