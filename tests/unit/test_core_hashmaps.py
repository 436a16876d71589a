"""Pithos hashmaps in the core: when a version's extents are its hashmap, when
one is computed from the data and kept, and writes by hashmap (missing
blocks, leases through the collector's grace time, encryption)."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from corekit import ALICE, BLOCK, GRACE, Core, body, make_core, pattern, read_all

from dolium.backends.kms_memory import MemoryMasterKeys
from dolium.core.content.hashing import block_digests, top_hash
from dolium.core.content.sse import (
    SSE_C,
    SSE_S3,
    BucketEncryption,
    CustomerKey,
    DefaultEncryption,
    SseRequest,
)
from dolium.core.jobs.gc import collect
from dolium.core.objects.hashmaps import known_hashmap, object_top_hash
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import InvalidRequest, MissingBlocks
from dolium.model import Bucket, Extent, Hashmap, ObjectVersion

BUCKET = "maps"
KEY_A = CustomerKey.of(b"A" * 32)


@pytest.fixture
async def core() -> Core:
    c = make_core()
    c.store.ctx.kms = MemoryMasterKeys()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def put(core: Core, key: str, data: bytes, sse: SseRequest | None = None) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions(sse=sse))


async def stored(core: Core, key: str) -> ObjectVersion:
    found = await core.meta.get_version(BUCKET, key)
    assert found is not None
    return found


async def test_blocks_on_the_grid_are_the_hashmap(core: Core) -> None:
    data = pattern(3 * BLOCK + 7, seed=1)
    await put(core, "k", data)
    found = await core.store.hashmaps.get(ALICE, BUCKET, "k")
    assert list(found.digests) == block_digests(data, BLOCK)
    assert found.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    # Nothing to keep: the extents say it already.
    assert (await stored(core, "k")).hashmap is None


async def test_sealed_blocks_get_a_hashmap_computed_once_and_kept(core: Core) -> None:
    data = pattern(2 * BLOCK + 100, seed=2)
    await put(core, "sealed", data, SseRequest(SSE_S3))
    found = await core.store.hashmaps.get(ALICE, BUCKET, "sealed")
    assert list(found.digests) == block_digests(data, BLOCK)
    kept = (await stored(core, "sealed")).hashmap
    assert kept == Hashmap(BLOCK, "sha256", tuple(block_digests(data, BLOCK)))

    async def no_reads(digest: bytes) -> bytes:
        raise AssertionError("the kept hashmap is read, not the data")

    core.blobs.get = no_reads  # type: ignore[method-assign]
    again = await core.store.hashmaps.get(ALICE, BUCKET, "sealed")
    assert again.digests == found.digests


async def test_a_hashmap_is_not_kept_on_data_that_replaced_its_own(core: Core) -> None:
    old = await put(core, "k", pattern(BLOCK + 1, seed=3), SseRequest(SSE_S3))
    new = await put(core, "k", pattern(BLOCK + 1, seed=4), SseRequest(SSE_S3))
    assert old.version_id == new.version_id  # unversioned: the same row, rewritten
    stale = Hashmap(BLOCK, "sha256", (b"\1" * 32, b"\2" * 32))
    await core.store.hashmaps._keep(ALICE, old, stale)
    assert (await stored(core, "k")).hashmap is None


async def test_customer_keyed_data_has_no_hashmap_and_copies_drop_one(core: Core) -> None:
    data = pattern(BLOCK + 5, seed=5)
    await put(core, "s3", data, SseRequest(SSE_S3))
    await core.store.hashmaps.get(ALICE, BUCKET, "s3")
    copied, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "s3", None), BUCKET, "copy", CopyOptions()
    )
    assert copied.hashmap is not None and object_top_hash(copied) is not None
    secret, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "s3", None), BUCKET, "secret", CopyOptions(sse=SseRequest(SSE_C, KEY_A))
    )
    assert secret.hashmap is None and object_top_hash(secret) is None
    with pytest.raises(InvalidRequest):
        await core.store.hashmaps.get(ALICE, BUCKET, "secret")


async def test_write_by_hashmap_lists_missing_blocks_then_succeeds(core: Core) -> None:
    data = pattern(2 * BLOCK, seed=6) + b"tail\0\0"
    digests = block_digests(data, BLOCK)
    writes = core.store.hashmap_writes
    with pytest.raises(MissingBlocks) as refused:
        await writes.put(ALICE, BUCKET, "k", len(data), digests, WriteOptions())
    assert refused.value.missing == tuple(dict.fromkeys(digests))
    uploaded = await writes.store_blocks(ALICE, BUCKET, body(data))
    assert uploaded == digests
    version = await writes.put(ALICE, BUCKET, "k", len(data), digests, WriteOptions())
    assert version.etag == hashlib.md5(data).hexdigest()
    assert version.top_hash == top_hash(digests).hex()
    assert await read_all(core.store, version) == data


async def test_uploaded_blocks_wait_for_their_hashmap_through_the_grace_time(
    core: Core,
) -> None:
    data = pattern(BLOCK + 3, seed=7)
    digests = await core.store.hashmap_writes.store_blocks(ALICE, BUCKET, body(data))
    core.clock.advance(GRACE / 2)
    await collect(core.meta, core.blobs, grace=GRACE, now=core.clock.now)
    assert await core.missing(digests) == set()
    await core.store.hashmap_writes.put(ALICE, BUCKET, "k", len(data), digests, WriteOptions())
    # Named by a version now: no lease needed any more.
    core.clock.advance(3 * GRACE)
    await collect(core.meta, core.blobs, grace=GRACE, now=core.clock.now)
    assert await core.missing(digests) == set()
    # Blocks nobody names go once their lease ends.
    orphans = await core.store.hashmap_writes.store_blocks(ALICE, BUCKET, body(b"x" * 999))
    core.clock.advance(2 * GRACE)
    await collect(core.meta, core.blobs, grace=GRACE, now=core.clock.now)
    assert await core.missing(orphans) == set(orphans)


async def test_hashmaps_that_do_not_fit_their_size_are_refused(core: Core) -> None:
    writes = core.store.hashmap_writes
    one = hashlib.sha256(b"x").digest()
    for size, digests in ((BLOCK + 1, [one]), (5, [one, one]), (5, [b"short"]), (0, [one])):
        with pytest.raises(InvalidRequest):
            await writes.put(ALICE, BUCKET, "k", size, digests, WriteOptions())


async def test_encrypting_containers_take_no_blocks_nor_hashmaps(core: Core) -> None:
    await BucketEncryption(core.store.ctx).put(ALICE, BUCKET, DefaultEncryption())
    writes = core.store.hashmap_writes
    with pytest.raises(InvalidRequest):
        await writes.store_blocks(ALICE, BUCKET, body(b"block"))
    with pytest.raises(InvalidRequest):
        await writes.put(ALICE, BUCKET, "k", 0, [], WriteOptions())
    assert await core.block_count() == 0


def test_a_kept_hashmap_of_other_parameters_is_not_used() -> None:
    bucket = Bucket(name=BUCKET, owner="alice", created=0.0, block_size=BLOCK)
    other = Hashmap(2 * BLOCK, "sha256", (b"\0" * 32,))
    sealed = ObjectVersion(
        BUCKET,
        "k",
        "v",
        size=BLOCK + 1,
        extents=(Extent(b"\1" * 32, BLOCK + 1),),
        sse={"mode": SSE_S3},
        hashmap=other,
    )
    assert known_hashmap(bucket, sealed) is None
    right = Hashmap(BLOCK, "sha256", (b"\2" * 32, b"\3" * 32))
    assert known_hashmap(bucket, dataclasses.replace(sealed, hashmap=right)) == right.digests
