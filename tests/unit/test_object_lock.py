"""Object Lock rules of the core: bucket state, default retention, retention
changes, legal holds, and which versions may be removed, on the memory stores."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.core.jobs.lifecycle import deletable
from dolium.core.objects.multipart import CompletedPart
from dolium.core.objects.object_lock import (
    DAY,
    DefaultRetention,
    removable,
)
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import (
    AccessDenied,
    IntegrityRequired,
    InvalidArgument,
    InvalidBucketState,
    InvalidRequest,
)
from dolium.frontends.s3.errors import to_s3_error
from dolium.model import NO_LOCK, Lock, LockMode, ObjectVersion, Versioning

BUCKET = "locked"
PLAIN = "plain"
GOV = LockMode.GOVERNANCE
COMP = LockMode.COMPLIANCE


def checked(lock: Lock | None = None) -> WriteOptions:
    """Options of a write that sends a checksum, as object lock writes must."""
    return WriteOptions(checksum_algorithms=("CRC32",), lock=lock)


async def setup(default: DefaultRetention | None = None) -> Core:
    core = make_core()
    await core.store.buckets.create(ALICE, BUCKET, object_lock=True)
    await core.store.buckets.create(ALICE, PLAIN)
    if default is not None:
        await core.store.object_lock.put_config(ALICE, BUCKET, default)
    return core


async def put(core: Core, key: str = "k", lock: Lock | None = None) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(b"data"), checked(lock))


def later(core: Core, days: float = 1) -> float:
    return core.clock.now + days * DAY


async def stored(core: Core, version: ObjectVersion) -> ObjectVersion:
    found = await core.meta.get_version(BUCKET, version.key, version.version_id)
    assert found is not None
    return found


# --------------------------------------------------------------------------- bucket state


async def test_bucket_created_with_object_lock_is_versioned_for_good() -> None:
    core = await setup()
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None and bucket.object_lock
    assert bucket.versioning == Versioning.ENABLED
    with pytest.raises(InvalidBucketState) as info:
        await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.SUSPENDED)
    assert to_s3_error(info.value).message == (
        "An Object Lock configuration is present on this bucket, so the versioning state "
        "cannot be changed."
    )
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)


async def test_enabling_on_an_existing_bucket_needs_versioning_enabled() -> None:
    core = await setup()
    with pytest.raises(InvalidBucketState) as info:
        await core.store.object_lock.put_config(ALICE, PLAIN, None)
    assert to_s3_error(info.value).message == (
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
    )
    await core.store.buckets.set_versioning(ALICE, PLAIN, Versioning.SUSPENDED)
    with pytest.raises(InvalidBucketState):
        await core.store.object_lock.put_config(ALICE, PLAIN, None)
    await core.store.buckets.set_versioning(ALICE, PLAIN, Versioning.ENABLED)
    await core.store.object_lock.put_config(ALICE, PLAIN, DefaultRetention(GOV, days=1))
    assert await core.store.object_lock.get_config(ALICE, PLAIN) == (
        True,
        DefaultRetention(GOV, days=1),
    )
    with pytest.raises(InvalidBucketState):
        await core.store.buckets.set_versioning(ALICE, PLAIN, Versioning.SUSPENDED)


async def test_configuration_sets_and_clears_the_default() -> None:
    core = await setup()
    assert await core.store.object_lock.get_config(ALICE, BUCKET) == (True, None)
    assert await core.store.object_lock.get_config(ALICE, PLAIN) == (False, None)
    await core.store.object_lock.put_config(ALICE, BUCKET, DefaultRetention(COMP, years=2))
    assert await core.store.object_lock.get_config(ALICE, BUCKET) == (
        True,
        DefaultRetention(COMP, years=2),
    )
    await core.store.object_lock.put_config(ALICE, BUCKET, None)
    assert await core.store.object_lock.get_config(ALICE, BUCKET) == (True, None)


@pytest.mark.parametrize(
    "default",
    [
        DefaultRetention(GOV, days=-1),
        DefaultRetention(GOV, years=-3),
        DefaultRetention(GOV, days=36501),
        DefaultRetention(GOV, years=101),
        DefaultRetention(GOV, days=1, years=1),
        DefaultRetention(LockMode.NONE, days=1),
    ],
)
async def test_invalid_default_retention_is_refused(default: DefaultRetention) -> None:
    core = await setup()
    with pytest.raises(InvalidArgument):
        await core.store.object_lock.put_config(ALICE, BUCKET, default)
    assert await core.store.object_lock.get_config(ALICE, BUCKET) == (True, None)


async def test_only_the_owner_configures_it() -> None:
    core = await setup()
    with pytest.raises(AccessDenied):
        await core.store.object_lock.put_config(BOB, BUCKET, None)
    with pytest.raises(AccessDenied):
        await core.store.object_lock.get_config(BOB, BUCKET)


# --------------------------------------------------------------------------- new versions


async def test_new_versions_take_the_default_retention_from_their_creation() -> None:
    core = await setup(DefaultRetention(GOV, days=3))
    v = await put(core)
    assert v.lock == Lock(GOV, v.modified + 3 * DAY)
    await core.store.object_lock.put_config(ALICE, BUCKET, DefaultRetention(COMP, years=1))
    w = await put(core)
    assert w.lock == Lock(COMP, w.modified + 365 * DAY)
    assert (await stored(core, v)).lock == Lock(GOV, v.modified + 3 * DAY)  # unchanged


async def test_a_write_s_own_retention_overrides_the_default() -> None:
    core = await setup(DefaultRetention(COMP, days=30))
    own = Lock(GOV, later(core, 2))
    assert (await put(core, lock=own)).lock == own
    # A legal hold alone keeps the default retention.
    held = await put(core, lock=Lock(legal_hold=True))
    assert held.lock == Lock(COMP, held.modified + 30 * DAY, legal_hold=True)


async def test_lock_parameters_need_an_object_lock_bucket() -> None:
    core = await setup()
    with pytest.raises(InvalidRequest) as info:
        await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), checked(Lock(GOV, later(core))))
    assert to_s3_error(info.value).message == "Bucket is missing ObjectLockConfiguration"
    with pytest.raises(InvalidRequest):
        await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), checked(Lock()))
    plain = await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), WriteOptions())
    assert plain.lock == NO_LOCK


async def test_a_past_retain_until_date_is_refused() -> None:
    core = await setup()
    with pytest.raises(InvalidArgument) as info:
        await put(core, lock=Lock(GOV, core.clock.now))
    assert to_s3_error(info.value).message == "The retain until date must be in the future!"


async def test_locked_writes_need_content_md5_or_a_checksum() -> None:
    core = await setup()
    bare = WriteOptions(lock=Lock(legal_hold=True))
    with pytest.raises(IntegrityRequired):
        await core.store.objects.put(ALICE, BUCKET, "k", body(b"x"), bare)
    md5 = WriteOptions(content_md5=hashlib.md5(b"x").digest(), lock=Lock(legal_hold=True))
    assert (await core.store.objects.put(ALICE, BUCKET, "k", body(b"x"), md5)).lock.legal_hold
    # Without lock parameters and without a default, nothing is required...
    await core.store.objects.put(ALICE, BUCKET, "k", body(b"x"), WriteOptions())
    # ...but a default retention is a lock parameter of every write.
    await core.store.object_lock.put_config(ALICE, BUCKET, DefaultRetention(GOV, days=1))
    with pytest.raises(IntegrityRequired):
        await core.store.objects.put(ALICE, BUCKET, "k", body(b"x"), WriteOptions())


async def test_a_copy_gets_its_own_lock_not_its_source_s() -> None:
    core = await setup()
    src = await put(core, "src", Lock(COMP, later(core, 5), legal_hold=True))
    copy, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "dst", CopyOptions()
    )
    assert copy.lock == NO_LOCK and src.lock.legal_hold
    await core.store.object_lock.put_config(ALICE, BUCKET, DefaultRetention(GOV, days=1))
    copy, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "dst", CopyOptions()
    )
    assert copy.lock == Lock(GOV, copy.modified + DAY)
    own = Lock(COMP, later(core, 9))
    copy, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "dst", CopyOptions(lock=own)
    )
    assert copy.lock == own


async def test_multipart_uploads_carry_their_lock_and_take_the_default_on_completion() -> None:
    core = await setup(DefaultRetention(GOV, days=2))
    mp = core.store.multipart
    own = Lock(COMP, later(core, 10))
    for lock, key in ((own, "own"), (None, "default")):
        upload = await mp.create(ALICE, BUCKET, key, WriteOptions(lock=lock))
        part = await mp.put_part(ALICE, BUCKET, key, upload.upload_id, 1, body(b"p"), checked())
        core.clock.advance(60)
        done = await mp.complete(
            ALICE, BUCKET, key, upload.upload_id, [CompletedPart(1, part.etag, {})]
        )
        expected = own if lock else Lock(GOV, done.modified + 2 * DAY)
        assert done.lock == expected
    with pytest.raises(InvalidRequest):
        await mp.create(ALICE, PLAIN, "k", WriteOptions(lock=Lock(legal_hold=True)))


# --------------------------------------------------------------------------- removal


def test_removable_is_the_one_rule() -> None:
    now = 1000.0
    assert removable(NO_LOCK, now)
    assert not removable(Lock(legal_hold=True), now, bypass=True)
    assert not removable(Lock(COMP, now + 1), now, bypass=True)
    assert not removable(Lock(GOV, now + 1), now)
    assert removable(Lock(GOV, now + 1), now, bypass=True)
    assert removable(Lock(COMP, now), now)  # the date reached: free again
    version = ObjectVersion(bucket=BUCKET, key="k", version_id="v", lock=Lock(GOV, now + 1))
    assert not deletable(version, now)  # lifecycle never bypasses
    assert deletable(version, now + 1)


async def test_compliance_versions_cannot_be_deleted_until_they_expire() -> None:
    core = await setup()
    v = await put(core, lock=Lock(COMP, later(core)))
    for bypass in (None, False, True):
        with pytest.raises(AccessDenied) as info:
            await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id, bypass=bypass)
        assert to_s3_error(info.value).message == (
            "Access Denied because object protected by object lock."
        )
    # Overwriting and a simple delete only add versions on top.
    await put(core)
    marker = await core.store.objects.delete(ALICE, BUCKET, "k")
    assert marker.delete_marker
    assert (await stored(core, v)).lock.mode is COMP
    core.clock.advance(DAY)
    await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id)
    assert await core.meta.get_version(BUCKET, "k", v.version_id) is None


async def test_governance_yields_to_the_bypass_header_with_permission() -> None:
    core = await setup()
    v = await put(core, lock=Lock(GOV, later(core)))
    for bypass in (None, False):
        with pytest.raises(AccessDenied):
            await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id, bypass=bypass)
    await deny_bypass(core)
    with pytest.raises(AccessDenied):
        await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id, bypass=True)
    await core.meta.set_bucket_config(BUCKET, "policy", None)
    await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id, bypass=True)
    assert await core.meta.get_version(BUCKET, "k", v.version_id) is None


async def deny_bypass(core: Core) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:BypassGovernanceRetention",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    await core.meta.set_bucket_config(BUCKET, "policy", json.dumps(policy))


async def test_a_legal_hold_blocks_deletion_whatever_the_retention() -> None:
    core = await setup()
    v = await put(core, lock=Lock(GOV, later(core), legal_hold=True))
    core.clock.advance(2 * DAY)  # retention over, hold still on
    with pytest.raises(AccessDenied):
        await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id, bypass=True)
    await core.store.object_lock.put_legal_hold(ALICE, BUCKET, "k", False, v.version_id)
    await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id)


async def test_asking_for_a_bypass_outside_object_lock_is_ignored() -> None:
    core = await setup()
    v = await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), WriteOptions())
    await core.store.objects.delete(ALICE, PLAIN, "k", bypass=False)
    await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), WriteOptions())
    await core.store.objects.delete(ALICE, PLAIN, "k", v.version_id, bypass=True)
    assert await core.meta.get_version(PLAIN, "k") is None


# --------------------------------------------------------------------------- retention changes


async def test_compliance_retention_can_only_be_extended() -> None:
    core = await setup()
    until = later(core, 2)
    v = await put(core, lock=Lock(COMP, until))
    lock = core.store.object_lock
    for mode, date in ((COMP, until - 1), (GOV, until + DAY), (LockMode.NONE, 0.0)):
        with pytest.raises(AccessDenied):
            await lock.put_retention(
                ALICE, BUCKET, "k", mode, date, version_id=v.version_id, bypass=True
            )
    extended = await lock.put_retention(ALICE, BUCKET, "k", COMP, until + DAY)
    assert extended.lock == Lock(COMP, until + DAY)
    assert (await stored(core, v)).lock == Lock(COMP, until + DAY)


async def test_governance_retention_changes_need_the_bypass() -> None:
    core = await setup()
    until = later(core, 2)
    v = await put(core, lock=Lock(GOV, until))
    lock = core.store.object_lock
    await lock.put_retention(ALICE, BUCKET, "k", GOV, until + 10)  # extending is free
    for mode, date in ((GOV, until), (COMP, until + DAY), (LockMode.NONE, 0.0)):
        with pytest.raises(AccessDenied):
            await lock.put_retention(ALICE, BUCKET, "k", mode, date, version_id=v.version_id)
    await lock.put_retention(ALICE, BUCKET, "k", GOV, until, bypass=True)
    assert (await stored(core, v)).lock == Lock(GOV, until)
    await lock.put_retention(ALICE, BUCKET, "k", LockMode.NONE, 0.0, bypass=True)
    assert (await stored(core, v)).lock == NO_LOCK
    await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id)


async def test_retention_dates_must_be_ahead_and_the_bucket_locked() -> None:
    core = await setup()
    await put(core)
    with pytest.raises(InvalidArgument) as info:
        await core.store.object_lock.put_retention(ALICE, BUCKET, "k", GOV, core.clock.now)
    assert to_s3_error(info.value).message == "The retain until date must be in the future!"
    await core.store.objects.put(ALICE, PLAIN, "k", body(b"x"), WriteOptions())
    with pytest.raises(InvalidRequest) as info:
        await core.store.object_lock.put_retention(ALICE, PLAIN, "k", GOV, later(core))
    assert to_s3_error(info.value).message == "Bucket is missing Object Lock Configuration"
    with pytest.raises(InvalidRequest):
        await core.store.object_lock.get_legal_hold(ALICE, PLAIN, "k")


async def test_an_expired_retention_can_be_changed_freely() -> None:
    core = await setup()
    await put(core, lock=Lock(COMP, later(core)))
    core.clock.advance(DAY)
    changed = await core.store.object_lock.put_retention(ALICE, BUCKET, "k", GOV, later(core))
    assert changed.lock.mode is GOV


async def test_legal_holds_go_on_and_off_and_leave_retention_alone() -> None:
    core = await setup()
    v = await put(core, lock=Lock(GOV, later(core)))
    lock = core.store.object_lock
    held = await lock.put_legal_hold(ALICE, BUCKET, "k", True)
    assert held.lock == Lock(GOV, v.lock.until, legal_hold=True)
    assert (await lock.get_legal_hold(ALICE, BUCKET, "k")).lock.legal_hold
    await lock.put_legal_hold(ALICE, BUCKET, "k", False, v.version_id)
    # Lifted, not unset: S3 then answers OFF where it answered "no configuration".
    assert (await stored(core, v)).lock == Lock(GOV, v.lock.until, legal_hold=False)
    # Tags and the rest of the version are kept.
    assert (await stored(core, v)).etag == v.etag


async def test_a_retention_and_a_legal_hold_set_at_once_both_land() -> None:
    core = await setup()
    v = await put(core)
    lock = core.store.object_lock
    until = later(core)
    await asyncio.gather(
        lock.put_retention(ALICE, BUCKET, "k", COMP, until),
        lock.put_legal_hold(ALICE, BUCKET, "k", True),
    )
    assert (await stored(core, v)).lock == Lock(COMP, until, legal_hold=True)


async def test_a_hold_placed_after_the_delete_looked_still_stops_it() -> None:
    core = await setup()
    v = await put(core)
    meta = core.meta
    removal = meta.delete_version

    async def hold_first(*args: Any, **kwargs: Any) -> ObjectVersion | None:
        # Another caller places a hold between the delete's checks and its removal.
        await core.store.object_lock.put_legal_hold(ALICE, BUCKET, "k", True)
        return await removal(*args, **kwargs)

    meta.delete_version = hold_first  # type: ignore[method-assign]
    with pytest.raises(AccessDenied):
        await core.store.objects.delete(ALICE, BUCKET, "k", v.version_id)
    assert (await stored(core, v)).lock.legal_hold


async def test_strangers_can_neither_read_nor_set_locks() -> None:
    core = await setup()
    await put(core)
    lock = core.store.object_lock
    with pytest.raises(AccessDenied):
        await lock.put_legal_hold(BOB, BUCKET, "k", True)
    with pytest.raises(AccessDenied):
        await lock.put_retention(BOB, BUCKET, "k", GOV, later(core))
    with pytest.raises(AccessDenied):
        await lock.get_retention(BOB, BUCKET, "k")


async def test_visible_lock_follows_the_read_permissions() -> None:
    core = await setup()
    v = await put(core, lock=Lock(GOV, later(core), legal_hold=True))
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None
    assert await core.store.object_lock.visible_lock(ALICE, bucket, v) == v.lock
    assert await core.store.object_lock.visible_lock(BOB, bucket, v) == NO_LOCK
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObjectLegalHold",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    bucket = await core.meta.set_bucket_config(BUCKET, "policy", json.dumps(policy))
    assert await core.store.object_lock.visible_lock(BOB, bucket, v) == Lock(legal_hold=True)
    assert (
        await core.store.object_lock.visible_lock(BOB, bucket, replace(v, lock=NO_LOCK)) == NO_LOCK
    )
