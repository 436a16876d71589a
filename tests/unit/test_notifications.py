"""Event notifications: the core's matching and validation, S3's event types and
rules at the edge, and the messages emitted in S3's format."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.backends.reporter_memory import MemoryReporter
from dolium.core.buckets.notifications import (
    UNVALIDATED,
    NotificationRule,
    bucket_rules,
    from_json,
    to_json,
    validate,
)
from dolium.core.objects.multipart import CompletedPart
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import AccessDenied, InvalidArgument
from dolium.frontends.s3.rules.notifications import AMBIGUOUS, check_notification
from dolium.frontends.s3.wire.events import (
    S3_EVENTS,
    event_time,
    object_record,
    selects,
    sequencer,
)
from dolium.model import Actor, ChangeAction, Versioning
from dolium.protocols.events import PLAIN, Event

ARN = "arn:dolium:webhook::hook"
OTHER_ARN = "arn:dolium:webhook::other"
BUCKET = "events"


def rule(
    events: tuple[str, ...] = ("s3:ObjectCreated:*",),
    prefix: str | None = None,
    suffix: str | None = None,
    *,
    arn: str = ARN,
    id: str = "r1",
    kind: str = "Queue",
) -> NotificationRule:
    return NotificationRule(id, kind, arn, events, prefix, suffix)


# --------------------------------------------------------------------------- matching


def test_wildcard_event_types_cover_their_family_only() -> None:
    created = rule(("s3:ObjectCreated:*",))
    assert created.matches(ChangeAction.OBJECT_PUT, "k", selects)
    assert created.matches(ChangeAction.OBJECT_COMPLETE, "k", selects)
    assert not created.matches(ChangeAction.OBJECT_DELETE, "k", selects)
    exact = rule(("s3:ObjectRemoved:DeleteMarkerCreated",))
    assert exact.matches(ChangeAction.OBJECT_MARKER, "k", selects)
    assert not exact.matches(ChangeAction.OBJECT_DELETE, "k", selects)


def test_prefix_and_suffix_filters_both_apply() -> None:
    r = rule(prefix="images/", suffix=".jpg")
    assert r.matches(ChangeAction.OBJECT_PUT, "images/cat.jpg", selects)
    assert not r.matches(ChangeAction.OBJECT_PUT, "images/cat.png", selects)
    assert not r.matches(ChangeAction.OBJECT_PUT, "docs/cat.jpg", selects)
    assert rule(prefix="", suffix="").matches(ChangeAction.OBJECT_PUT, "anything", selects)


def test_the_core_s_own_event_names_are_its_change_actions() -> None:
    r = rule(("object.put", "object.marker"))
    assert r.matches(ChangeAction.OBJECT_PUT, "k", PLAIN.selects)
    assert r.matches(ChangeAction.OBJECT_MARKER, "k", PLAIN.selects)
    assert not r.matches(ChangeAction.OBJECT_DELETE, "k", PLAIN.selects)
    assert not r.matches(ChangeAction.OBJECT_PUT, "k", selects)  # not an S3 event type


# --------------------------------------------------------------------------- validation


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="not supported for notifications"):
        check_notification([rule(("s3:ObjectCreated:Put", "s3:ObjectExploded"))])


def test_every_s3_event_type_is_accepted() -> None:
    rules = [rule(("s3:ObjectRestore:*", "s3:ReducedRedundancyLostObject"))]
    check_notification(rules)
    validate(rules, [ARN], check_notification)


def test_unknown_destination_is_listed() -> None:
    with pytest.raises(InvalidArgument, match=UNVALIDATED) as caught:
        validate([rule(), rule(("s3:ObjectRemoved:*",), arn=OTHER_ARN, id="r2")], [ARN])
    assert list(caught.value.context["destinations"]) == [OTHER_ARN]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (rule(), rule(("s3:ObjectCreated:Put",), id="r2")),
        (rule(prefix="a/"), rule(prefix="a/b/", id="r2")),
        (rule(suffix=".jpg"), rule(suffix="x.jpg", id="r2")),
        (rule(prefix="a/", suffix=".jpg"), rule(id="r2")),
    ],
)
def test_overlapping_rules_are_ambiguous(a: NotificationRule, b: NotificationRule) -> None:
    with pytest.raises(InvalidArgument, match="ambiguously defined") as caught:
        check_notification([a, b])
    assert caught.value.message == AMBIGUOUS


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (rule(("s3:ObjectCreated:*",)), rule(("s3:ObjectRemoved:*",), id="r2")),
        (rule(prefix="a/"), rule(prefix="b/", id="r2")),
        (rule(suffix=".jpg"), rule(suffix=".png", id="r2")),
    ],
)
def test_disjoint_rules_are_accepted(a: NotificationRule, b: NotificationRule) -> None:
    check_notification([a, b])
    validate([a, b], [ARN], check_notification)


def test_json_round_trip() -> None:
    rules = (rule(prefix="a/"), rule(("s3:ObjectRemoved:*",), suffix=".x", id="r2", kind="Topic"))
    assert from_json(to_json(rules)) == rules


# --------------------------------------------------------------------------- records


def test_sequencer_follows_the_change_serial() -> None:
    first = sequencer(41)
    second = sequencer(42)
    assert len(first) == len(second) == 16
    assert int(second, 16) > int(first, 16)


def test_event_time_format() -> None:
    assert event_time(0.1234) == "1970-01-01T00:00:00.123Z"


def test_object_record_structure() -> None:
    record = object_record(
        Event(
            id="e1",
            destination=ARN,
            rule="cfg",
            serial=0xABC,
            time=1_700_000_000.5,
            action=ChangeAction.OBJECT_PUT,
            actor=Actor("alice", "alice", address="10.1.2.3", request_id="REQ1"),
            actor_id="c" * 64,
            bucket="b",
            owner_id="o" * 64,
            region="eu-west-1",
            key="dir/red flower+1.jpg",
            version_id="null",
            size=5,
            etag="abc",
        )
    )
    assert record == {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2023-11-14T22:13:20.500Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "c" * 64},
        "requestParameters": {"sourceIPAddress": "10.1.2.3"},
        "responseElements": {"x-amz-request-id": "REQ1", "x-amz-id-2": "REQ1"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "cfg",
            "bucket": {
                "name": "b",
                "ownerIdentity": {"principalId": "o" * 64},
                "arn": "arn:aws:s3:::b",
            },
            # URL-encoded as a form value, "/" kept; no versionId for "null".
            "object": {
                "key": "dir/red+flower%2B1.jpg",
                "size": 5,
                "eTag": "abc",
                "sequencer": "0000000000000ABC",
            },
        },
    }


# --------------------------------------------------------------------------- emitting


@pytest.fixture
async def core() -> Core:
    core = make_core()
    core.store.ctx.reporters = {ARN: MemoryReporter(), OTHER_ARN: MemoryReporter()}
    core.store.ctx.events = S3_EVENTS
    await core.store.buckets.create(ALICE, BUCKET)
    return core


def reporter(core: Core, arn: str = ARN) -> MemoryReporter:
    found = core.store.ctx.reporters[arn]
    assert isinstance(found, MemoryReporter)
    return found


def records(core: Core, arn: str = ARN) -> list[dict[str, Any]]:
    out = []
    for event in reporter(core, arn).events:
        message = json.loads(event.message)
        if "Records" in message:
            out.extend(message["Records"])
    return out


async def put(core: Core, key: str, data: bytes = b"data") -> None:
    await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions())


async def test_put_configuration_sends_a_test_event_per_destination(core: Core) -> None:
    rules = [
        rule(prefix="a/"),
        rule(prefix="b/", id="r2"),
        rule(("s3:ObjectRemoved:*",), arn=OTHER_ARN, id="r3"),
    ]
    await core.store.notifications.put(ALICE, BUCKET, rules)
    assert await core.store.notifications.get(ALICE, BUCKET) == tuple(rules)
    for arn in (ARN, OTHER_ARN):
        (event,) = reporter(core, arn).events
        message = json.loads(event.message)
        assert message["Event"] == "s3:TestEvent"
        assert message["Service"] == "Amazon S3"
        assert message["Bucket"] == BUCKET


async def test_unknown_destination_stores_nothing(core: Core) -> None:
    with pytest.raises(InvalidArgument):
        await core.store.notifications.put(ALICE, BUCKET, [rule(arn="arn:dolium:webhook::nope")])
    assert await core.store.notifications.get(ALICE, BUCKET) == ()


async def test_skipping_validation_stores_an_unknown_destination(core: Core) -> None:
    unknown = rule(arn="arn:dolium:webhook::later")
    await core.store.notifications.put(ALICE, BUCKET, [unknown], check_destinations=False)
    assert await core.store.notifications.get(ALICE, BUCKET) == (unknown,)
    await put(core, "k")  # its events are dropped, the write succeeds


async def test_only_the_owner_may_configure(core: Core) -> None:
    with pytest.raises(AccessDenied):
        await core.store.notifications.put(BOB, BUCKET, [rule()])
    # The front end's checks come after the owner's: a stranger learns nothing.
    unknown = rule(("s3:ObjectExploded",))
    with pytest.raises(AccessDenied):
        await core.store.notifications.put(BOB, BUCKET, [unknown], approve=check_notification)
    with pytest.raises(InvalidArgument, match="not supported"):
        await core.store.notifications.put(ALICE, BUCKET, [unknown], approve=check_notification)
    with pytest.raises(AccessDenied):
        await core.store.notifications.get(BOB, BUCKET)


async def test_empty_configuration_removes_it(core: Core) -> None:
    await core.store.notifications.put(ALICE, BUCKET, [rule()])
    await core.store.notifications.put(ALICE, BUCKET, [])
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None and bucket_rules(bucket) == ()


async def test_writes_emit_created_events_matching_filters(core: Core) -> None:
    await core.store.notifications.put(ALICE, BUCKET, [rule(prefix="in/")])
    reporter(core).events.clear()
    await put(core, "in/a.txt", b"hello")
    await put(core, "out/b.txt")
    await core.store.objects.copy(
        ALICE, (BUCKET, "in/a.txt", None), BUCKET, "in/c.txt", CopyOptions()
    )
    names = [r["eventName"] for r in records(core)]
    assert names == ["ObjectCreated:Put", "ObjectCreated:Copy"]
    first = records(core)[0]
    assert first["s3"]["object"]["key"] == "in/a.txt"
    assert first["s3"]["object"]["size"] == 5
    assert first["s3"]["object"]["eTag"] == "5d41402abc4b2a76b9719d911017c592"
    assert "versionId" not in first["s3"]["object"]
    assert first["s3"]["configurationId"] == "r1"
    assert first["s3"]["bucket"]["ownerIdentity"]["principalId"] == "alice"
    assert [e.name for e in reporter(core).events] == [
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Copy",
    ]


async def test_multipart_completion_emits_one_event(core: Core) -> None:
    await core.store.notifications.put(ALICE, BUCKET, [rule(("s3:ObjectCreated:*",))])
    reporter(core).events.clear()
    upload = await core.store.multipart.create(ALICE, BUCKET, "big", WriteOptions())
    part = await core.store.multipart.put_part(
        ALICE, BUCKET, "big", upload.upload_id, 1, body(b"x" * 100), WriteOptions()
    )
    assert records(core) == []
    await core.store.multipart.complete(
        ALICE, BUCKET, "big", upload.upload_id, [CompletedPart(1, part.etag, {})]
    )
    (record,) = records(core)
    assert record["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert record["s3"]["object"]["eTag"].endswith("-1")
    assert record["s3"]["object"]["size"] == 100


async def test_deletes_emit_removed_events(core: Core) -> None:
    await core.store.notifications.put(ALICE, BUCKET, [rule(("s3:ObjectRemoved:*",))])
    await put(core, "k")
    await core.store.objects.delete(ALICE, BUCKET, "k")
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await put(core, "v")
    marker = await core.store.objects.delete(ALICE, BUCKET, "v")
    await core.store.objects.delete(ALICE, BUCKET, "v", marker.version_id)
    got = [(r["eventName"], r["s3"]["object"]) for r in records(core)]
    assert [name for name, _ in got] == [
        "ObjectRemoved:Delete",
        "ObjectRemoved:DeleteMarkerCreated",
        "ObjectRemoved:Delete",  # removing the marker itself
    ]
    assert "versionId" not in got[0][1] and "size" not in got[0][1]
    assert got[1][1]["versionId"] == marker.version_id == got[2][1]["versionId"]
    sequencers = [int(obj["sequencer"], 16) for _, obj in got[1:]]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 2


async def test_created_event_carries_the_version_id(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await core.store.notifications.put(ALICE, BUCKET, [rule()])
    version = await core.store.objects.put(ALICE, BUCKET, "k", body(b"x"), WriteOptions())
    (record,) = records(core)
    assert record["s3"]["object"]["versionId"] == version.version_id


async def test_bucket_without_configuration_emits_nothing(core: Core) -> None:
    await put(core, "k")
    await core.store.objects.delete(ALICE, BUCKET, "k")
    assert reporter(core).events == []


async def test_each_matching_rule_gets_its_own_message(core: Core) -> None:
    rules = [
        rule(suffix=".jpg"),
        rule(("s3:ObjectCreated:Put",), suffix=".png", arn=OTHER_ARN, id="r2"),
    ]
    await core.store.notifications.put(ALICE, BUCKET, rules)
    await put(core, "a.jpg")
    await put(core, "b.png")
    assert [r["s3"]["object"]["key"] for r in records(core)] == ["a.jpg"]
    assert [r["s3"]["configurationId"] for r in records(core, OTHER_ARN)] == ["r2"]


async def test_request_facts_reach_the_message(core: Core) -> None:
    await core.store.notifications.put(ALICE, BUCKET, [rule()])
    who = replace(ALICE, address="192.0.2.9", request_id="ABC")
    await core.store.objects.put(who, BUCKET, "k", body(b"x"), WriteOptions())
    (record,) = records(core)
    assert record["requestParameters"] == {"sourceIPAddress": "192.0.2.9"}
    assert record["responseElements"]["x-amz-request-id"] == "ABC"
