"""Bucket event notifications: the configuration of PutBucketNotificationConfiguration,
checked as S3 checks it and kept in `Bucket.configs["notification"]`, the
matching of object events against it, and the S3 event messages sent to the
reporters the server configures.

A destination ARN names a reporter of the server's configuration (see
docs/notifications.md); an ARN no reporter answers to is refused when the
configuration is put, as S3 refuses a queue it cannot publish to. Putting a
configuration sends an `s3:TestEvent` message to each destination it names.

Object events are emitted by the object services after their change is
committed, and only when the bucket has a configuration, so a bucket without
one pays nothing. A delete emits an event even when there was nothing to
delete, as S3 does.

This module knows no HTTP and no XML: the front end parses the wire format
into `NotificationRule`s and renders them back.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import InvalidArgument
from dolium.model import NULL_VERSION, Bucket, ObjectVersion, Principal
from dolium.protocols.events import Event

log = logging.getLogger(__name__)

CONFIG = "notification"
KINDS = ("Topic", "Queue", "CloudFunction")
EVENT_VERSION = "2.1"

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
TEST_EVENT = "s3:TestEvent"

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


# --------------------------------------------------------------------------- messages


def event_time(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds, as S3 writes eventTime."""
    millis = round(timestamp * 1000)
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


class _Sequencer:
    """Hex sequencers, increasing with time and never repeated in this process.

    S3 promises that of two events on one key the later has the greater
    sequencer. Microseconds since the epoch give that across processes as far
    as their clocks agree; the counter keeps it within one process even when
    two changes land in the same microsecond.
    """

    def __init__(self) -> None:
        self.last = 0

    def next(self, timestamp: float) -> str:
        self.last = max(int(timestamp * 1_000_000), self.last + 1)
        return f"{self.last:016X}"


next_sequencer = _Sequencer().next


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """What an object event says about the object."""

    key: str
    version_id: str  # NULL_VERSION when the bucket never had versioning
    size: int | None = None  # None for removals, which carry no size or ETag
    etag: str | None = None

    @classmethod
    def created(cls, version: ObjectVersion) -> ObjectChange:
        return cls(version.key, version.version_id, version.size, version.etag)


def object_record(
    *,
    name: str,
    timestamp: float,
    region: str,
    principal: Principal,
    rule: NotificationRule,
    bucket: str,
    owner_id: str,
    change: ObjectChange,
    sequencer: str,
) -> dict[str, Any]:
    """One entry of the message's "Records", in S3's event message structure."""
    request_id = principal.facts.get("x-amz-request-id", "")
    obj: dict[str, Any] = {"key": quote_plus(change.key, safe="/")}
    if change.size is not None:
        obj["size"] = change.size
    if change.etag is not None:
        obj["eTag"] = change.etag
    if change.version_id != NULL_VERSION:
        obj["versionId"] = change.version_id
    obj["sequencer"] = sequencer
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time(timestamp),
        "eventName": name.removeprefix("s3:"),
        "userIdentity": {"principalId": principal_id(principal)},
        "requestParameters": {"sourceIPAddress": principal.facts.get("aws:sourceip", "")},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": rule.id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner_id},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def principal_id(principal: Principal) -> str:
    if principal.anonymous:
        return "anonymous"
    return principal.canonical_id or principal.tenant


def test_message(bucket: str, timestamp: float, principal: Principal) -> dict[str, Any]:
    """The message S3 sends each destination when a configuration is put."""
    request_id = principal.facts.get("x-amz-request-id", "")
    return {
        "Service": "Amazon S3",
        "Event": TEST_EVENT,
        "Time": event_time(timestamp),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": request_id,
    }


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- emitting


async def emit(
    ctx: Context, principal: Principal, bucket: Bucket, name: str, change: ObjectChange
) -> None:
    """Send event `name` about `change` to every destination whose rule matches.

    Called after the change is committed. Returns once every message is
    durable with its reporter; a reporter's failure is the request's error,
    so the client retries and the event is not lost silently.
    """
    rules = [r for r in bucket_rules(bucket) if r.matches(name, change.key)]
    if not rules:
        return
    now = ctx.clock()
    sequencer = next_sequencer(now)
    owner = await ctx.meta.get_tenant(bucket.owner)
    owner_id = owner.canonical_id if owner is not None else bucket.owner
    for rule in rules:
        reporter = ctx.reporters.get(rule.arn)
        if reporter is None:
            # The server's configuration dropped this destination since the
            # bucket's configuration was put.
            log.warning(
                "bucket %s: no reporter for %s; event %s dropped", bucket.name, rule.arn, name
            )
            continue
        record = object_record(
            name=name,
            timestamp=now,
            region=bucket.region or ctx.settings.region,
            principal=principal,
            rule=rule,
            bucket=bucket.name,
            owner_id=owner_id,
            change=change,
            sequencer=sequencer,
        )
        await reporter.publish(
            Event(
                id=uuid.uuid4().hex,
                destination=rule.arn,
                name=name,
                bucket=bucket.name,
                key=change.key,
                time=now,
                message=_dump({"Records": [record]}),
            )
        )


class Notifications:
    """GetBucketNotificationConfiguration and PutBucketNotificationConfiguration."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

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
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, document)
        now = self.ctx.clock()
        message = _dump(test_message(bucket, now, principal))
        for arn in dict.fromkeys(r.arn for r in rules if r.arn in known):
            await known[arn].publish(
                Event(
                    id=uuid.uuid4().hex,
                    destination=arn,
                    name=TEST_EVENT,
                    bucket=bucket,
                    key="",
                    time=now,
                    message=message,
                )
            )
