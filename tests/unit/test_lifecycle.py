"""Bucket lifecycle: S3's checks of rules at its edge, and what `apply` and
the worker do to versions, delete markers and uploads as a test clock moves."""

from __future__ import annotations

import base64
import calendar
import uuid
from dataclasses import replace

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.core.buckets.lifecycle import (
    CONFIG,
    DAY,
    Expiration,
    Filter,
    FilterKind,
    Lifecycle,
    NoncurrentExpiration,
    Rule,
    Transition,
    from_json,
    to_json,
)
from dolium.core.jobs.lifecycle import (
    LifecycleReport,
    LifecycleWorker,
    apply,
    deletable,
    due_after,
)
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidRequest,
    MalformedConfiguration,
    NotSupported,
)
from dolium.frontends.s3.ops.lifecycle import parse_lifecycle
from dolium.frontends.s3.rules.lifecycle import check_lifecycle
from dolium.model import UNVERSIONED_ID, Lock, LockMode, ObjectVersion, Versioning

BUCKET = "life"
T0 = 1_700_000_000.0  # the test clock's start: 2023-11-14 22:13:20 UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return float(calendar.timegm((year, month, day, hour, minute, 0)))


def rule(
    *,
    rule_id: str | None = "r",
    enabled: bool = True,
    prefix: str | None = None,
    flt: Filter | None = None,
    days: int | None = None,
    date: float | None = None,
    marker: bool | None = None,
    noncurrent: int | None = None,
    newer: int | None = None,
    abort: int | None = None,
    transitions: tuple[Transition, ...] = (),
) -> Rule:
    """A Lifecycle V2 rule (an empty filter unless told) with the actions named."""
    exp = None
    if days is not None or date is not None or marker is not None:
        exp = Expiration(days, date, marker)
    has_nc = noncurrent is not None or newer is not None
    nc = NoncurrentExpiration(noncurrent, newer) if has_nc else None
    return Rule(
        id=rule_id,
        enabled=enabled,
        prefix=prefix,
        filter=flt if flt is not None or prefix is not None else Filter(),
        expiration=exp,
        noncurrent=nc,
        abort_days=abort,
        transitions=transitions,
    )


async def setup(versioning: Versioning = Versioning.UNVERSIONED) -> Core:
    core = make_core()
    await core.store.buckets.create(ALICE, BUCKET)
    if versioning != Versioning.UNVERSIONED:
        await core.store.buckets.set_versioning(ALICE, BUCKET, versioning)
    return core


async def put(
    core: Core, key: str, data: bytes = b"x", tags: dict[str, str] | None = None
) -> ObjectVersion:
    opts = WriteOptions(tags=tags or {})
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), opts)


async def configure(core: Core, *rules: Rule) -> None:
    await Lifecycle(core.store.ctx).put(ALICE, BUCKET, list(rules), approve=check_lifecycle)


async def run(core: Core, page: int = 1000) -> LifecycleReport:
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None
    return await apply(core.store.ctx, bucket, core.clock(), page=page)


async def versions(core: Core) -> list[tuple[str, str, bool]]:
    """(key, version id or "marker", latest) of every version, newest first per key."""
    found = await core.meta.list_versions(BUCKET, limit=10_000)
    return [(v.key, "marker" if v.delete_marker else v.etag, v.is_latest) for v in found]


async def current_keys(core: Core) -> list[str]:
    return [v.key for v in await core.meta.list_objects(BUCKET)]


# --------------------------------------------------------------------------- time


def test_due_after_rounds_up_to_the_next_midnight_utc() -> None:
    # The user guide's example: created 2014-01-15 10:30 UTC, 3 days -> 2014-01-19 00:00.
    assert due_after(at(2014, 1, 15, 10, 30), 3) == at(2014, 1, 19)
    assert due_after(at(2014, 1, 15), 3) == at(2014, 1, 18)  # a midnight is its own ceiling


def test_deletable_honours_legal_hold_and_retention() -> None:
    v = ObjectVersion(bucket=BUCKET, key="k", version_id="v")
    assert deletable(v, T0)
    assert not deletable(replace(v, lock=Lock(legal_hold=True)), T0)
    held = replace(v, lock=Lock(LockMode.GOVERNANCE, until=T0 + 10))
    assert not deletable(held, T0)
    assert deletable(held, T0 + 11)


# --------------------------------------------------------------------------- validation


def test_valid_rules_pass_and_round_trip_through_json() -> None:
    rules = (
        rule(rule_id=None, flt=Filter(FilterKind.PREFIX, prefix="logs/"), days=3),
        rule(
            rule_id="and",
            flt=Filter(FilterKind.AND, "p/", (("a", "1"), ("b", "")), 10, 100),
            noncurrent=2,
            newer=3,
        ),
        rule(rule_id="m", marker=True, abort=7),
        rule(rule_id="d", date=at(2030, 1, 1), enabled=False),
    )
    check_lifecycle(rules)
    assert from_json(to_json(rules)) == rules
    legacy = (Rule(id="old", enabled=True, prefix="a/", expiration=Expiration(days=1)),)
    check_lifecycle(legacy)
    assert from_json(to_json(legacy)) == legacy


def test_s3_makes_up_an_id_for_a_rule_given_none() -> None:
    ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
    body = (
        f"<LifecycleConfiguration {ns}>"
        + "<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        + "<Rule><ID></ID><Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload>"
        + "<DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        + "<Rule><ID>mine</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration>"
        + "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        + "</LifecycleConfiguration>"
    ).encode()
    ids = [r.id for r in parse_lifecycle(body)]
    assert ids[0] and ids[1] and ids[0] != ids[1]
    # Shaped as S3's: the base64 of a UUID.
    assert all(uuid.UUID(base64.b64decode(i or "").decode()) for i in ids[:2])
    assert ids[2] == "mine"


@pytest.mark.parametrize(
    ("rules", "error", "message"),
    [
        ([], MalformedConfiguration, ""),
        ([rule(days=1), rule(days=2)], InvalidArgument, "Rule ID must be unique"),
        ([rule(rule_id="x" * 256, days=1)], InvalidArgument, "ID length should not exceed"),
        ([rule(days=0)], InvalidArgument, "'Days' for Expiration action must be a positive"),
        ([rule(days=-1)], InvalidArgument, "'Days' for Expiration action must be a positive"),
        ([rule(date=T0)], InvalidArgument, "'Date' must be at midnight GMT"),
        ([rule(days=1, date=at(2030, 1, 1))], MalformedConfiguration, ""),
        ([rule(days=1, marker=True)], MalformedConfiguration, ""),
        ([rule(flt=Filter(), noncurrent=None, newer=1)], MalformedConfiguration, ""),
        ([rule(noncurrent=0)], InvalidArgument, "'NoncurrentDays'"),
        ([rule(noncurrent=1, newer=-1)], InvalidArgument, "'NewerNoncurrentVersions'"),
        ([rule(abort=0)], InvalidArgument, "'DaysAfterInitiation'"),
        ([rule()], InvalidRequest, "At least one action needs to be specified in a rule"),
        (
            [rule(flt=Filter(FilterKind.TAG, tags=(("k", "v"),)), marker=True)],
            InvalidRequest,
            "ExpiredObjectDeleteMarker cannot be specified with Tags.",
        ),
        (
            [rule(flt=Filter(FilterKind.LESS, size_less=5), marker=True)],
            InvalidRequest,
            "ExpiredObjectDeleteMarker cannot be specified with Object Size.",
        ),
        (
            [rule(flt=Filter(FilterKind.TAG, tags=(("k", "v"),)), abort=1)],
            InvalidRequest,
            "AbortIncompleteMultipartUpload cannot be specified with Tags.",
        ),
        (
            [rule(flt=Filter(FilterKind.AND, tags=(("k", "1"), ("k", "2"))), days=1)],
            InvalidRequest,
            "Duplicate Tag Keys are not allowed.",
        ),
        (
            [rule(flt=Filter(FilterKind.AND, size_greater=10, size_less=10), days=1)],
            InvalidRequest,
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
        ),
        (
            [rule(flt=Filter(FilterKind.LESS, size_less=0), days=1)],
            InvalidRequest,
            "'ObjectSizeLessThan' should be between 1 and",
        ),
        (
            [rule(rule_id="a", days=1), Rule(id="b", enabled=True, prefix="", abort_days=1)],
            InvalidRequest,
            "Base level prefix cannot be used in Lifecycle V2",
        ),
        (
            [
                Rule(id="a", enabled=True, prefix="", abort_days=1),
                rule(rule_id="b", days=1),
            ],
            InvalidRequest,
            "Filter element can only be used in Lifecycle V2.",
        ),
        (
            [Rule(id="a", enabled=True, prefix="", noncurrent=NoncurrentExpiration(1, 2))],
            InvalidRequest,
            "NewerNoncurrentVersions element can only be used in Lifecycle V2.",
        ),
        (
            [
                Rule(id="a", enabled=True, prefix="lo", expiration=Expiration(days=1)),
                Rule(id="b", enabled=True, prefix="logs/", expiration=Expiration(days=2)),
            ],
            InvalidRequest,
            "Found overlapping prefixes 'lo' and 'logs/' for same action type 'Expiration'",
        ),
        (
            [rule(days=1, transitions=(Transition("GLACIER", days=30),))],
            NotSupported,
            "Transition",
        ),
        ([rule(days=1, transitions=(Transition("COLD", days=30),))], MalformedConfiguration, ""),
        # A refusal S3 gives for another reason comes before the transition's.
        ([rule(days=0, transitions=(Transition("GLACIER", days=30),))], InvalidArgument, ""),
    ],
)
async def test_put_refuses_as_s3_does(
    rules: list[Rule], error: type[Exception], message: str
) -> None:
    """S3's checks, as the core's put runs them (transitions are refused after them)."""
    core = await setup()
    with pytest.raises(error) as exc:
        await configure(core, *rules)
    assert message in str(exc.value)
    assert await Lifecycle(core.store.ctx).get(ALICE, BUCKET) is None


def test_legacy_rules_with_disjoint_prefixes_are_accepted() -> None:
    rules = [
        Rule(id="a", enabled=True, prefix="a/", expiration=Expiration(days=1)),
        Rule(id="b", enabled=True, prefix="b/", expiration=Expiration(days=1)),
        Rule(id="c", enabled=True, prefix="a/", abort_days=1),  # another action type
    ]
    check_lifecycle(rules)


async def test_put_get_delete_configuration_and_owner_check() -> None:
    core = await setup()
    service = Lifecycle(core.store.ctx)
    assert await service.get(ALICE, BUCKET) is None
    await configure(core, rule(days=1))
    got = await service.get(ALICE, BUCKET)
    assert got is not None and got[0].expiration == Expiration(days=1)
    with pytest.raises(AccessDenied):
        await service.put(BOB, BUCKET, [rule(days=1)])
    with pytest.raises(AccessDenied):
        await service.get(BOB, BUCKET)
    await service.delete(ALICE, BUCKET)
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None and CONFIG not in bucket.configs


# --------------------------------------------------------------------------- expiry


async def test_expiration_days_deletes_in_an_unversioned_bucket_at_midnight() -> None:
    core = await setup()
    await put(core, "a")
    await configure(core, rule(days=1))
    due = at(2023, 11, 16)  # created 11-14 22:13, +1 day -> 11-15 22:13 -> next midnight
    core.clock.now = due - 1
    assert (await run(core)).expired == 0
    assert await current_keys(core) == ["a"]
    core.clock.now = due
    report = await run(core)
    assert report.expired == 1
    assert await versions(core) == []


async def test_expiration_in_a_versioned_bucket_adds_a_delete_marker() -> None:
    core = await setup(Versioning.ENABLED)
    v = await put(core, "a", b"one")
    await configure(core, rule(days=1))
    core.clock.now = at(2023, 11, 16)
    assert (await run(core)).expired == 1
    assert await versions(core) == [("a", "marker", True), ("a", v.etag, False)]
    # A second run leaves the marker: a version is still beneath it.
    assert (await run(core)).expired == 0
    assert len(await versions(core)) == 2


async def test_expiration_with_versioning_suspended_adds_a_null_delete_marker() -> None:
    core = await setup(Versioning.ENABLED)
    kept = await put(core, "kept", b"v1")  # a real version id, written while enabled
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.SUSPENDED)
    await put(core, "null", b"v2")  # the null version
    await configure(core, rule(days=1))
    core.clock.now = at(2023, 11, 16)
    assert (await run(core)).expired == 2
    found = await core.meta.list_versions(BUCKET)
    by_key = {(v.key, v.version_id): v for v in found}
    assert by_key[("kept", UNVERSIONED_ID)].delete_marker
    assert not by_key[("kept", kept.version_id)].delete_marker
    # The null version was replaced by the null delete marker.
    assert [(v.version_id, v.delete_marker) for v in found if v.key == "null"] == [
        (UNVERSIONED_ID, True)
    ]


async def test_expiration_date_applies_from_that_midnight() -> None:
    core = await setup()
    await put(core, "a")
    await configure(core, rule(date=at(2024, 1, 1)))
    core.clock.now = at(2024, 1, 1) - 1
    assert (await run(core)).expired == 0
    core.clock.now = at(2024, 1, 1)
    assert (await run(core)).expired == 1


async def test_disabled_rules_do_nothing() -> None:
    core = await setup()
    await put(core, "a")
    await configure(core, rule(days=1, enabled=False))
    core.clock.advance(100 * DAY)
    assert (await run(core)) == LifecycleReport(BUCKET)
    assert await current_keys(core) == ["a"]


@pytest.mark.parametrize(
    ("flt", "expired"),
    [
        (Filter(FilterKind.PREFIX, prefix="logs/"), ["logs/big", "logs/small"]),
        (Filter(FilterKind.TAG, tags=(("tmp", "yes"),)), ["logs/big", "other"]),
        (Filter(FilterKind.GREATER, size_greater=10), ["logs/big"]),
        (Filter(FilterKind.LESS, size_less=10), ["logs/small", "other"]),
        (
            Filter(FilterKind.AND, prefix="logs/", tags=(("tmp", "yes"),), size_greater=10),
            ["logs/big"],
        ),
        (Filter(FilterKind.AND, tags=(("tmp", "yes"), ("team", "a"))), ["other"]),
        (Filter(), ["logs/big", "logs/small", "other"]),
    ],
)
async def test_filters_select_objects(flt: Filter, expired: list[str]) -> None:
    core = await setup()
    await put(core, "logs/big", b"x" * 100, {"tmp": "yes"})
    await put(core, "logs/small", b"x", {"tmp": "no"})
    await put(core, "other", b"x", {"tmp": "yes", "team": "a"})
    await configure(core, rule(flt=flt, days=1))
    core.clock.advance(3 * DAY)
    await run(core)
    remaining = await current_keys(core)
    assert sorted({"logs/big", "logs/small", "other"} - set(remaining)) == expired


async def test_legacy_prefix_rule_selects_by_prefix() -> None:
    core = await setup()
    await put(core, "a/1")
    await put(core, "b/1")
    await configure(core, Rule(id="x", enabled=True, prefix="a/", expiration=Expiration(1)))
    core.clock.advance(3 * DAY)
    await run(core)
    assert await current_keys(core) == ["b/1"]


async def test_locked_versions_are_not_removed() -> None:
    core = await setup()
    v = await put(core, "a")
    await core.meta.update_version(replace(v, lock=Lock(legal_hold=True)))
    await configure(core, rule(days=1))
    core.clock.advance(3 * DAY)
    report = await run(core)
    assert (report.expired, report.locked) == (0, 1)
    assert await current_keys(core) == ["a"]


# --------------------------------------------------------------------------- noncurrent versions


async def test_noncurrent_days_count_from_when_the_successor_was_created() -> None:
    core = await setup(Versioning.ENABLED)
    old = await put(core, "a", b"old")
    core.clock.now = at(2023, 11, 20, 12)  # the successor: "old" is noncurrent from here
    new = await put(core, "a", b"new")
    await configure(core, rule(noncurrent=2))
    core.clock.now = at(2023, 11, 23) - 1  # 11-20 12:00 + 2 days -> 11-22 12:00 -> 11-23
    assert (await run(core)).noncurrent_removed == 0
    assert await versions(core) == [("a", new.etag, True), ("a", old.etag, False)]
    core.clock.now = at(2023, 11, 23)
    assert (await run(core)).noncurrent_removed == 1
    assert await versions(core) == [("a", new.etag, True)]


@pytest.mark.parametrize("page", [1, 2, 1000])
async def test_newer_noncurrent_versions_are_kept(page: int) -> None:
    core = await setup(Versioning.ENABLED)
    etags = []
    for i in range(6):
        etags.append((await put(core, "a", bytes([i]) * 3)).etag)
        core.clock.advance(DAY)
    await put(core, "b", b"other key")
    await configure(core, rule(noncurrent=1, newer=2))
    core.clock.advance(10 * DAY)
    report = await run(core, page=page)
    assert report.noncurrent_removed == 3
    assert [e for k, e, _ in await versions(core) if k == "a"] == etags[::-1][:3]
    assert len(await versions(core)) == 4


async def test_noncurrent_delete_markers_are_removed_too() -> None:
    core = await setup(Versioning.ENABLED)
    await put(core, "a", b"1")
    await core.store.objects.delete(ALICE, BUCKET, "a")
    core.clock.advance(DAY)
    v2 = await put(core, "a", b"2")
    await configure(core, rule(noncurrent=1))
    core.clock.advance(5 * DAY)
    assert (await run(core)).noncurrent_removed == 2
    assert await versions(core) == [("a", v2.etag, True)]


async def test_expired_then_noncurrent_in_one_configuration() -> None:
    """Expiry makes the current version noncurrent: it is kept until its own due day."""
    core = await setup(Versioning.ENABLED)
    v = await put(core, "a")
    await configure(core, rule(days=1, noncurrent=1))
    core.clock.advance(3 * DAY)
    first = await run(core)
    assert (first.expired, first.noncurrent_removed) == (1, 0)
    core.clock.advance(3 * DAY)
    second = await run(core)
    # The version went, then the marker it left alone (Expiration Days, old enough).
    assert (second.noncurrent_removed, second.markers_removed) == (1, 1)
    assert await versions(core) == []
    assert v.etag


# --------------------------------------------------------------------------- delete markers


async def test_expired_object_delete_marker_is_removed_when_alone() -> None:
    core = await setup(Versioning.ENABLED)
    await put(core, "alone")
    await core.store.objects.delete(ALICE, BUCKET, "alone")
    found = await core.meta.list_versions(BUCKET)
    await core.meta.delete_version(BUCKET, "alone", found[1].version_id)  # only the marker left
    kept = await put(core, "covered")
    await core.store.objects.delete(ALICE, BUCKET, "covered")
    await configure(core, rule(marker=True))
    report = await run(core)
    assert report.markers_removed == 1
    assert await versions(core) == [("covered", "marker", True), ("covered", kept.etag, False)]


async def test_marker_left_alone_by_noncurrent_removal_goes_in_the_same_run() -> None:
    core = await setup(Versioning.ENABLED)
    await put(core, "a")
    await core.store.objects.delete(ALICE, BUCKET, "a")
    await configure(core, rule(marker=True, noncurrent=1))
    core.clock.advance(5 * DAY)
    report = await run(core)
    assert (report.noncurrent_removed, report.markers_removed) == (1, 1)
    assert await versions(core) == []


async def test_marker_with_a_locked_version_beneath_stays() -> None:
    core = await setup(Versioning.ENABLED)
    v = await put(core, "a")
    await core.meta.update_version(replace(v, lock=Lock(legal_hold=True)))
    await core.store.objects.delete(ALICE, BUCKET, "a")
    await configure(core, rule(marker=True, noncurrent=1))
    core.clock.advance(5 * DAY)
    report = await run(core)
    assert (report.noncurrent_removed, report.markers_removed, report.locked) == (0, 0, 1)
    assert len(await versions(core)) == 2


# --------------------------------------------------------------------------- uploads


async def test_incomplete_multipart_uploads_are_aborted() -> None:
    core = await setup()
    old = await core.store.multipart.create(ALICE, BUCKET, "tmp/big", WriteOptions())
    other = await core.store.multipart.create(ALICE, BUCKET, "keep/big", WriteOptions())
    await configure(core, rule(flt=Filter(FilterKind.PREFIX, prefix="tmp/"), abort=2))
    core.clock.now = due_after(old.initiated, 2) - 1
    assert (await run(core)).uploads_aborted == 0
    core.clock.now = due_after(old.initiated, 2)
    young = await core.store.multipart.create(ALICE, BUCKET, "tmp/young", WriteOptions())
    assert (await run(core, page=1)).uploads_aborted == 1
    left = {u.upload_id for u in await core.meta.list_uploads(BUCKET)}
    assert left == {other.upload_id, young.upload_id}


# --------------------------------------------------------------------------- worker


async def test_worker_runs_every_configured_bucket_on_the_context_clock() -> None:
    core = await setup()
    await core.store.buckets.create(ALICE, "plain")
    await put(core, "a")
    await core.store.objects.put(ALICE, "plain", "a", body(b"x"), WriteOptions())
    await configure(core, rule(days=1))
    worker = LifecycleWorker(core.store.ctx)
    assert [r.expired for r in await worker.run_once()] == [0]
    core.clock.advance(2 * DAY)
    reports = await worker.run_once()
    assert [(r.bucket, r.expired) for r in reports] == [(BUCKET, 1)]
    assert [v.key for v in await core.meta.list_objects("plain")] == ["a"]


async def test_worker_clock_offset_sees_objects_as_older() -> None:
    core = await setup()
    await put(core, "a")
    await configure(core, rule(days=1))
    worker = LifecycleWorker(core.store.ctx, clock=lambda: core.clock() + 2 * DAY)
    assert [r.expired for r in await worker.run_once()] == [1]
