"""S3's event vocabulary and message: which changes of the core an S3 event
type selects, and how a neutral event of the core reads as S3 writes it.

A configuration names event types ("s3:ObjectCreated:Put", or a family
such as "s3:ObjectCreated:*"); each change of the core that makes an event
has the one S3 event type of `EVENT_NAMES`. A message is a "Records"
document with one record per message (eventName such as
"ObjectCreated:Put", the bucket, the object, a sequencer), or the
"s3:TestEvent" message sent when a bucket's configuration is put. The
composition root hands `S3_EVENTS` to the core, which never names this
vocabulary nor this format.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote_plus

from dolium.model import UNVERSIONED_ID, ChangeAction
from dolium.protocols.events import Event, EventFormat, Message

EVENT_VERSION = "2.1"
TEST_EVENT = "s3:TestEvent"

# Every event type S3 accepts in a configuration. Dolium emits the object
# created and removed events (EVENT_NAMES); the others are accepted and
# stored so that configurations written for S3 still apply, and never fire.
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

# The event S3 reports for each change of the core that makes one.
EVENT_NAMES: dict[ChangeAction, str] = {
    ChangeAction.OBJECT_PUT: "s3:ObjectCreated:Put",
    ChangeAction.OBJECT_POST: "s3:ObjectCreated:Post",
    ChangeAction.OBJECT_COPY: "s3:ObjectCreated:Copy",
    ChangeAction.OBJECT_COMPLETE: "s3:ObjectCreated:CompleteMultipartUpload",
    ChangeAction.OBJECT_DELETE: "s3:ObjectRemoved:Delete",
    ChangeAction.OBJECT_MARKER: "s3:ObjectRemoved:DeleteMarkerCreated",
}
_REMOVALS = frozenset({ChangeAction.OBJECT_DELETE, ChangeAction.OBJECT_MARKER})


def covers(pattern: str, event_type: str) -> bool:
    """Whether an event type of a configuration (maybe "X:*") stands for `event_type`."""
    if pattern.endswith(":*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def overlap(a: str, b: str) -> bool:
    """Whether two event types of configurations have an event in common."""
    return covers(a, b) or covers(b, a)


def selects(pattern: str, action: ChangeAction) -> bool:
    """Whether an event type of a configuration selects changes of `action`."""
    name = EVENT_NAMES.get(action)
    return name is not None and covers(pattern, name)


def event_time(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds, as S3 writes eventTime."""
    millis = round(timestamp * 1000)
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def sequencer(serial: int) -> str:
    """S3's sequencer: of two events on one key, the later has the greater.

    The change's serial gives that across processes and restarts, and the
    same sequencer on every delivery of one event.
    """
    return f"{serial:016X}"


def principal_id(event: Event) -> str:
    if not event.actor.tenant:
        return "anonymous"
    return event.actor_id or event.actor.tenant


def object_record(event: Event) -> dict[str, Any]:
    """One entry of the message's "Records", in S3's event message structure."""
    request_id = event.actor.request_id
    obj: dict[str, Any] = {"key": quote_plus(event.key, safe="/")}
    if event.action not in _REMOVALS:  # removals carry no size or ETag
        if event.size is not None:
            obj["size"] = event.size
        obj["eTag"] = event.etag
    if event.version_id != UNVERSIONED_ID:
        obj["versionId"] = event.version_id
    obj["sequencer"] = sequencer(event.serial)
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": event.region,
        "eventTime": event_time(event.time),
        "eventName": EVENT_NAMES[event.action].removeprefix("s3:"),
        "userIdentity": {"principalId": principal_id(event)},
        "requestParameters": {"sourceIPAddress": event.actor.address},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": event.rule,
            "bucket": {
                "name": event.bucket,
                "ownerIdentity": {"principalId": event.owner_id},
                "arn": f"arn:aws:s3:::{event.bucket}",
            },
            "object": obj,
        },
    }


def configuration_message(event: Event) -> dict[str, Any]:
    """The message S3 sends each destination when a configuration is put."""
    request_id = event.actor.request_id
    return {
        "Service": "Amazon S3",
        "Event": TEST_EVENT,
        "Time": event_time(event.time),
        "Bucket": event.bucket,
        "RequestId": request_id,
        "HostId": request_id,
    }


def render(event: Event) -> Message:
    """The S3 message for `event`."""
    if event.action is ChangeAction.BUCKET_CONFIG_SET:
        name, document = TEST_EVENT, configuration_message(event)
    else:
        name, document = EVENT_NAMES[event.action], {"Records": [object_record(event)]}
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return Message(event.id, event.destination, name, event.bucket, event.key, event.time, text)


# The core's events in S3's words, for the composition root to hand to the core.
S3_EVENTS = EventFormat(selects, render)
