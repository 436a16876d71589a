"""Bucket event notifications: the configuration of PutBucketNotificationConfiguration,
checked as S3 checks it and kept in `Bucket.configs["notification"]`, and
the matching of changes against it into neutral events for the reporters the
server configures.

A destination ARN names a reporter of the server's configuration (see
docs/notifications.md); an ARN no reporter answers to is refused when the
configuration is put, as S3 refuses a queue it cannot publish to. Putting a
configuration sends an `s3:TestEvent` message to each destination it names.

Events come from the change log (`core.jobs.delivery` reads it), so one is
delivered even when the process dies right after its change commits. A
delete makes an event even when there was nothing to delete, as S3 does:
the meta store records such deletes too.

This module knows no HTTP, no XML and no event message format: the front end
parses the configuration's wire format into `NotificationRule`s and renders
them back, and a renderer the composition root chooses writes the messages.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import InvalidArgument
from dolium.model import SERVER, Bucket, Change, ChangeAction, Principal
from dolium.protocols.events import Event

CONFIG = "notification"
KINDS = ("Topic", "Queue", "CloudFunction")

# Every event type S3 accepts in a configuration. Dolium emits the object
# created and removed events (EMITTED); the others are accepted and stored so
# that configurations written for S3 still apply, and simply never fire.
EVENT_TYPES = frozenset(
    {
        "s3:ReducedRedundancyLostObject",
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:ObjectRestore:Delete",
        "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationNotTracked",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:LifecycleTransition",
        "s3:IntelligentTiering",
        "s3:ObjectAcl:Put",
        "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete",
        "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
    }
)

OBJECT_PUT = "s3:ObjectCreated:Put"
OBJECT_POST = "s3:ObjectCreated:Post"
OBJECT_COPY = "s3:ObjectCreated:Copy"
OBJECT_COMPLETE = "s3:ObjectCreated:CompleteMultipartUpload"
OBJECT_DELETE = "s3:ObjectRemoved:Delete"
OBJECT_MARKER = "s3:ObjectRemoved:DeleteMarkerCreated"

UNVALIDATED = "Unable to validate the following destination configurations"
UNKNOWN_DESTINATION = "No destination of this name is configured on this server"
AMBIGUOUS = (
    "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules "
    "if the prefixes are overlapping for the same event type."
)


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """One Topic/Queue/CloudFunction configuration; None filters are absent."""

    id: str
    kind: str  # one of KINDS: the element it was given in, rendered back the same
    arn: str
    events: tuple[str, ...]
    prefix: str | None = None
    suffix: str | None = None

    def matches(self, event: str, key: str) -> bool:
        return (
            any(_covers(pattern, event) for pattern in self.events)
            and key.startswith(self.prefix or "")
            and key.endswith(self.suffix or "")
        )


def _covers(pattern: str, event: str) -> bool:
    """Whether an event type of a configuration (maybe "X:*") stands for `event`."""
    if pattern.endswith(":*"):
        return event.startswith(pattern[:-1])
    return pattern == event


def _overlap(a: str, b: str) -> bool:
    """Whether two event types of configurations have an event in common."""
    return _covers(a, b) or _covers(b, a)


# --------------------------------------------------------------------------- validation


def new_rule_id() -> str:
    """An id for a configuration given without one, shaped as S3's (base64 of a UUID)."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def validate(rules: Sequence[NotificationRule], destinations: Iterable[str]) -> None:
    """Raise the error S3 gives for a configuration it would refuse.

    `destinations` are the ARNs this server can deliver to; the others are
    listed in the error's context (`destinations`: ARN -> reason).
    """
    for rule in rules:
        if rule.kind not in KINDS or not rule.events:
            raise InvalidArgument("A notification configuration needs a destination and events")
        for event in rule.events:
            if event not in EVENT_TYPES:
                raise InvalidArgument(
                    "The event is not supported for notifications", argument=event
                )
    for a, b in itertools.combinations(rules, 2):
        events = any(_overlap(x, y) for x in a.events for y in b.events)
        pa, pb, sa, sb = a.prefix or "", b.prefix or "", a.suffix or "", b.suffix or ""
        prefixes = pa.startswith(pb) or pb.startswith(pa)
        suffixes = sa.endswith(sb) or sb.endswith(sa)
        if events and prefixes and suffixes:
            raise InvalidArgument(AMBIGUOUS)
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


# The event type of a configuration that each change of the core falls under;
# changes not named here make no event.
EVENT_TYPE_OF: Mapping[ChangeAction, str] = {
    ChangeAction.OBJECT_PUT: OBJECT_PUT,
    ChangeAction.OBJECT_POST: OBJECT_POST,
    ChangeAction.OBJECT_COPY: OBJECT_COPY,
    ChangeAction.OBJECT_COMPLETE: OBJECT_COMPLETE,
    ChangeAction.OBJECT_DELETE: OBJECT_DELETE,
    ChangeAction.OBJECT_MARKER: OBJECT_MARKER,
}


def event_id(serial: int, destination: str, rule: str) -> str:
    """The same id on every delivery of one change to one destination by one rule."""
    return hashlib.sha256(f"{serial}\0{destination}\0{rule}".encode()).hexdigest()[:32]


def events_for(
    change: Change, bucket: Bucket, owner_id: str, actor_id: str, region: str
) -> list[Event]:
    """The events `change` makes under the bucket's configuration: one per matching rule.

    Changes the server makes itself (lifecycle expiry) make none: S3 reports
    those as LifecycleExpiration events, which Dolium does not emit.
    """
    kind = EVENT_TYPE_OF.get(change.action)
    if kind is None or change.actor == SERVER:
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
        if rule.matches(kind, change.key)
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
    ) -> None:
        """Replace the configuration (none at all when `rules` is empty).

        Without `check_destinations` (x-amz-skip-destination-validation) an
        unknown ARN is stored as given; its events are dropped until the
        server configures it.
        """
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.NOTIFICATION)
        known = self.ctx.reporters
        validate(rules, known if check_destinations else {r.arn for r in rules})
        document = to_json(rules) if rules else None
        # Changes made before it go out under the configuration they were made under.
        await self.deliver()
        found = await self.ctx.meta.set_bucket_config(
            bucket, CONFIG, document, actor=principal.actor
        )
        owner = await self.ctx.meta.get_tenant(found.owner)
        owner_id = owner.canonical_id if owner is not None else found.owner
        for arn in dict.fromkeys(r.arn for r in rules if r.arn in known):
            # The test message, sent at once as S3 does; it is about no change.
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
            await known[arn].publish(self.ctx.render(test))
