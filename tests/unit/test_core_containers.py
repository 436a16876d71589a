"""Containers of the core over the in-memory stores: names scoped by account,
the global S3 names they claim, their addresses, who wrote each version and
when, and the usage each write keeps."""

from __future__ import annotations

import pytest
from corekit import ALICE, BOB, Core, body, make_core, read_all

from dolium.core.objects.write_options import WriteOptions
from dolium.errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    InvalidArgument,
    NoSuchBucket,
)
from dolium.model import Usage


@pytest.fixture
def core() -> Core:
    return make_core()


async def test_a_container_claims_its_global_name_when_valid_and_free(core: Core) -> None:
    made = await core.store.buckets.create_container("alice", "pithos")
    assert (made.name, made.owner) == ("pithos", "alice")
    theirs = await core.store.buckets.create_container("bob", "pithos")
    assert (theirs.name, theirs.owner, theirs.container) == ("bob:pithos", "bob", "pithos")
    with pytest.raises(BucketAlreadyExists):
        await core.store.buckets.create_container("bob", "pithos")


async def test_s3_creation_respects_names_claimed_by_containers(core: Core) -> None:
    await core.store.buckets.create_container("alice", "pithos")
    await core.store.buckets.create_container("bob", "pithos")
    with pytest.raises(BucketAlreadyOwnedByYou):
        await core.store.buckets.create(ALICE, "pithos")
    # Bob's own container of that name counts as his, though it holds no global name.
    with pytest.raises(BucketAlreadyOwnedByYou):
        await core.store.buckets.create(BOB, "pithos")
    await core.store.buckets.create_container("alice", "trash")
    with pytest.raises(BucketAlreadyExists) as refused:
        await core.store.buckets.create(BOB, "trash")
    assert not isinstance(refused.value, BucketAlreadyOwnedByYou)


async def test_names_of_any_utf8_up_to_256_bytes_without_a_slash(core: Core) -> None:
    long = "é" * 128  # 256 bytes
    made = await core.store.buckets.create_container("alice", long)
    assert made.name == f"alice:{long}"
    spaced = await core.store.buckets.create_container("alice", "My Files: 2026")
    assert spaced.name == "alice:My Files: 2026"
    for bad in ("", "a/b", "é" * 128 + "x"):
        with pytest.raises(InvalidArgument):
            await core.store.buckets.create_container("alice", bad)


async def test_objects_are_reached_through_the_address(core: Core) -> None:
    made = await core.store.buckets.create_container("bob", "My Files")
    put = await core.store.objects.put(BOB, made.name, "k", body(b"hello"), WriteOptions())
    assert put.bucket == "bob:My Files"
    stored = await core.meta.get_version(made.name, "k")
    assert stored is not None
    assert await read_all(core.store, stored) == b"hello"
    listed = await core.store.listing.list(BOB, made.name)
    assert [v.key for v in listed.entries] == ["k"]
    with pytest.raises(AccessDenied):
        await core.store.listing.list(ALICE, made.name)
    with pytest.raises(NoSuchBucket):
        await core.store.listing.list(BOB, "alice:My Files")


async def test_each_version_records_its_writer_and_the_clock(core: Core) -> None:
    await core.store.buckets.create(ALICE, "photos")
    first = await core.store.objects.put(ALICE, "photos", "k", body(b"1"), WriteOptions())
    assert (first.user, first.modified) == ("alice", core.clock.now)
    core.clock.advance(60)
    second = await core.store.objects.put(ALICE, "photos", "k", body(b"22"), WriteOptions())
    assert second.modified == first.modified + 60
    then = await core.meta.list_objects_at("photos", first.modified)
    # Unversioned: the second write replaced the null version, so nothing was there then.
    assert then == []
    now = await core.meta.list_objects_at("photos", core.clock.now)
    assert [(v.key, v.user, v.size) for v in now] == [("k", "alice", 2)]


async def test_usage_follows_writes_and_deletes(core: Core) -> None:
    await core.store.buckets.create(ALICE, "photos")
    await core.store.objects.put(ALICE, "photos", "a", body(b"x" * 10), WriteOptions())
    await core.store.objects.put(ALICE, "photos", "b", body(b"y" * 5), WriteOptions())
    assert await core.meta.get_usage("photos") == Usage(15, 2)
    await core.store.objects.delete(ALICE, "photos", "a")
    assert await core.meta.get_usage("photos") == Usage(5, 1)
    assert (await core.meta.get_account("alice")).usage == Usage(5, 1)
