"""Bucket event notifications: a bucket's notification configuration, checked
and kept in `Bucket.configs["notification"]`, and the matching of changes
against it into neutral events for the reporters the server configures.

A destination ARN names a reporter of the server's configuration (see
docs/notifications.md); an ARN no reporter answers to is refused when the
configuration is put, as S3 refuses a queue it cannot publish to. Putting a
configuration sends a test message to each destination it names.

Events come from the change log (`core.jobs.delivery` reads it), so one is
delivered even when the process dies right after its change commits. A
delete makes an event even when there was nothing to delete, as S3 does:
the meta store records such deletes too.

This module knows no HTTP, no XML and no event vocabulary: a rule's event
names and kind are the words of the front end that put it, stored and given
back as they came. Which changes an event name selects, and how a message
reads, is the `EventFormat` the composition root chooses (`Context.events`);
the rules of one API about its event names are checked by its front end
(the `approve` hook of `Notifications.put`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import InvalidArgument
from dolium.model import SERVER, Bucket, Change, ChangeAction, Principal
from dolium.protocols.events import Event, Selects

CONFIG = "notification"

# The changes that make events: new versions of objects and their removal.
NOTIFIED = frozenset(
    {
        ChangeAction.OBJECT_PUT,
        ChangeAction.OBJECT_POST,
        ChangeAction.OBJECT_COPY,
        ChangeAction.OBJECT_COMPLETE,
        ChangeAction.OBJECT_DELETE,
        ChangeAction.OBJECT_MARKER,
    }
)

UNVALIDATED = "The configuration names destinations this server cannot deliver to"
UNKNOWN_DESTINATION = "No destination of this name is configured on this server"


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """One rule of a configuration: its destination, event names and key filters.

    `kind` (the kind of destination) and `events` are in the words of the
    front end that put the rule; None filters are absent.
    """

    id: str
    kind: str
    arn: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None

    def matches(self, action: ChangeAction, key: str, selects: Selects) -> bool:
        """Whether a change of `action` to `key` makes an event under this rule."""
        return (
            any(selects(name, action) for name in self.events)
            and key.startswith(self.prefix or "")
            and key.endswith(self.suffix or "")
        )


# --------------------------------------------------------------------------- validation


# The front end's own checks of a configuration's rules; raises to refuse.
Approve = Callable[[Sequence[NotificationRule]], None]


def validate(
    rules: Sequence[NotificationRule],
    destinations: Iterable[str],
    approve: Approve | None = None,
) -> None:
    """Refuse a configuration whose rules lack a destination or events, that the
    front end's `approve` refuses, or that names a destination not among
    `destinations`, the ARNs this server can deliver to (the others are
    listed in the error's context, `destinations`: ARN -> reason)."""
    for rule in rules:
        if not rule.arn or not rule.events:
            raise InvalidArgument("A notification configuration needs a destination and events")
    if approve is not None:
        approve(rules)
    known = set(destinations)
    unknown = {r.arn: UNKNOWN_DESTINATION for r in rules if r.arn not in known}
    if unknown:
        raise InvalidArgument(UNVALIDATED, destinations=unknown)


# --------------------------------------------------------------------------- storage


def to_json(rules: Sequence[NotificationRule]) -> str:
    return json.dumps(
        [
            {
                "id": r.id,
                "kind": r.kind,
                "arn": r.arn,
                "events": list(r.events),
                "prefix": r.prefix,
                "suffix": r.suffix,
            }
            for r in rules
        ],
        separators=(",", ":"),
    )


@lru_cache(maxsize=256)
def from_json(text: str) -> tuple[NotificationRule, ...]:
    """The rules stored as `text` (cached: every write to the bucket matches against them)."""
    return tuple(
        NotificationRule(
            id=item["id"],
            kind=item["kind"],
            arn=item["arn"],
            events=tuple(item["events"]),
            prefix=item.get("prefix"),
            suffix=item.get("suffix"),
        )
        for item in json.loads(text)
    )


def bucket_rules(bucket: Bucket) -> tuple[NotificationRule, ...]:
    text = bucket.configs.get(CONFIG)
    return from_json(text) if text is not None else ()


# --------------------------------------------------------------------------- events


def event_id(serial: int, destination: str, rule: str) -> str:
    """The same id on every delivery of one change to one destination by one rule."""
    return hashlib.sha256(f"{serial}\0{destination}\0{rule}".encode()).hexdigest()[:32]


def events_for(
    change: Change, bucket: Bucket, owner_id: str, actor_id: str, region: str, selects: Selects
) -> list[Event]:
    """The events `change` makes under the bucket's configuration: one per matching rule.

    Changes the server makes itself (lifecycle expiry) make none: S3 reports
    those as lifecycle events of their own, which Dolium does not emit.
    """
    if change.action not in NOTIFIED or change.actor == SERVER:
        return []
    return [
        Event(
            id=event_id(change.serial, rule.arn, rule.id),
            destination=rule.arn,
            rule=rule.id,
            serial=change.serial,
            time=change.time,
            action=change.action,
            actor=change.actor,
            actor_id=actor_id,
            bucket=bucket.name,
            owner_id=owner_id,
            region=bucket.region or region,
            key=change.key,
            version_id=change.version_id,
            size=change.size,
            etag=change.etag,
        )
        for rule in bucket_rules(bucket)
        if rule.matches(change.action, change.key, selects)
    ]


class Notifications:
    """GetBucketNotificationConfiguration and PutBucketNotificationConfiguration."""

    def __init__(self, ctx: Context, deliver: Callable[[], Awaitable[None]]) -> None:
        """`deliver` delivers what the change log holds (`Delivery.deliver_now`)."""
        self.ctx = ctx
        self.deliver = deliver

    async def get(self, principal: Principal, bucket: str) -> tuple[NotificationRule, ...]:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.NOTIFICATION
        )
        return bucket_rules(found)

    async def put(
        self,
        principal: Principal,
        bucket: str,
        rules: Sequence[NotificationRule],
        *,
        check_destinations: bool = True,
        approve: Approve | None = None,
    ) -> None:
        """Replace the configuration (none at all when `rules` is empty).

        Without `check_destinations` an unknown ARN is stored as given; its
        events are dropped until the server configures it. `approve` is the
        front end's check of the rules, run once the caller is allowed.
        """
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.NOTIFICATION)
        known = self.ctx.reporters
        validate(rules, known if check_destinations else {r.arn for r in rules}, approve)
        document = to_json(rules) if rules else None
        # Changes made before it go out under the configuration they were made under.
        await self.deliver()
        found = await self.ctx.meta.set_bucket_config(
            bucket, CONFIG, document, actor=principal.actor
        )
        owner = await self.ctx.meta.get_tenant(found.owner)
        owner_id = owner.canonical_id if owner is not None else found.owner
        for arn in dict.fromkeys(r.arn for r in rules if r.arn in known):
            # The test message, sent at once as S3 sends its own; it is about no change.
            test = Event(
                id=uuid.uuid4().hex,
                destination=arn,
                rule="",
                serial=0,
                time=self.ctx.clock(),
                action=ChangeAction.BUCKET_CONFIG_SET,
                actor=principal.actor,
                actor_id=principal.canonical_id,
                bucket=bucket,
                owner_id=owner_id,
                region=found.region or self.ctx.settings.region,
            )
            await known[arn].publish(self.ctx.events.render(test))
