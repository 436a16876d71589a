"""The garbage collector over the in-memory stores, with a clock we drive.

A block goes when its reference count in the meta store is zero and no live
lease covers it, and only then; the collector never looks at the blob store
to find garbage, so a pass costs in proportion to the garbage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.content.blocks import BlockWriter, Leases
from dolium.core.jobs.gc import collect
from dolium.errors import StorageError
from dolium.model import BlockRef, Bucket, Extent, MultipartUpload, ObjectVersion, Part

GRACE = 3600.0
STANDARD = "standard"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def block(name: str) -> tuple[bytes, bytes]:
    data = name.encode() * 10
    return hashlib.sha256(data).digest(), data


async def stores() -> tuple[MemoryMetaStore, MemoryBlobStore]:
    meta = await MemoryMetaStore.open()
    await meta.create_bucket(Bucket(name="b", owner="t", created=0.0))
    return meta, await MemoryBlobStore.open()


async def written(
    meta: MemoryMetaStore, blobs: MemoryBlobStore, clock: Clock, names: Iterable[str]
) -> list[bytes]:
    """Blocks stored as a writer stores them: leased, then put."""
    leases = Leases(meta, STANDARD, GRACE, clock)
    digests = []
    for name in names:
        digest, data = block(name)
        await leases.take([digest])
        await blobs.put(digest, data)
        digests.append(digest)
    return digests


async def missing(blobs: MemoryBlobStore, digests: Iterable[bytes]) -> set[bytes]:
    return {d for d in digests if not await blobs.has(d)}


async def test_a_block_nothing_references_goes_once_its_lease_ends() -> None:
    clock = Clock()
    meta, blobs = await stores()
    [orphan] = await written(meta, blobs, clock, ["orphan"])
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert report.deleted == 0
    assert await blobs.has(orphan)
    clock.now += 2 * GRACE  # the writer died before committing
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await missing(blobs, [orphan]) == {orphan}
    assert (report.candidates, report.deleted, report.failed) == (1, 1, 0)


async def test_referenced_blocks_are_kept_until_their_last_reference_goes() -> None:
    clock = Clock()
    meta, blobs = await stores()
    shared, own = await written(meta, blobs, clock, ["shared", "own"])
    await meta.put_version(ObjectVersion("b", "a", "v1", extents=(Extent(shared, 90),)))
    await meta.put_version(
        ObjectVersion("b", "b", "v1", extents=(Extent(shared, 90), Extent(own, 30)))
    )
    clock.now += 2 * GRACE
    assert (await collect(meta, blobs, grace=GRACE, now=clock.now)).deleted == 0
    await meta.delete_version("b", "b", "v1")
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await missing(blobs, [shared, own]) == {own}
    assert report.deleted == 1
    await meta.delete_version("b", "a", "v1")
    await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await missing(blobs, [shared]) == {shared}


async def test_a_pass_costs_in_proportion_to_the_garbage() -> None:
    clock = Clock()
    meta, blobs = await stores()
    kept = await written(meta, blobs, clock, [f"kept-{i}" for i in range(300)])
    for i, digest in enumerate(kept):
        await meta.put_version(ObjectVersion("b", f"k{i}", "v1", extents=(Extent(digest, 1),)))
    [gone] = await written(meta, blobs, clock, ["gone"])
    clock.now += 2 * GRACE
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    # Only the one unreferenced block was looked at, not the 300 in use.
    assert (report.candidates, report.deleted, report.batches) == (1, 1, 1)
    assert await missing(blobs, [gone, *kept]) == {gone}


async def test_many_garbage_blocks_go_in_batches() -> None:
    clock = Clock()
    meta, blobs = await stores()
    digests = await written(meta, blobs, clock, [f"g-{i}" for i in range(600)])
    clock.now += 2 * GRACE
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert (report.candidates, report.deleted) == (600, 600)
    assert report.batches > 1
    assert await missing(blobs, digests) == set(digests)


async def test_versions_and_parts_keep_their_blocks() -> None:
    clock = Clock()
    meta, blobs = await stores()
    in_object, in_part, orphan = await written(
        meta, blobs, clock, ["in-object", "in-part", "orphan"]
    )
    await meta.put_version(ObjectVersion("b", "k", "v1", extents=(Extent(in_object, 90),)))
    await meta.create_upload(MultipartUpload("b", "big", "u1", initiated=0.0, owner="t"))
    part = Part("u1", 1, size=70, etag="e", modified=0.0, extents=(Extent(in_part, 70),))
    await meta.put_part("b", part)
    clock.now += 2 * GRACE
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await missing(blobs, [in_object, in_part, orphan]) == {orphan}
    assert report.deleted == 1

    # Once the version is gone and the upload aborted, their blocks go too.
    await meta.delete_version("b", "k", "v1")
    await meta.abort_upload("b", "u1")
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await missing(blobs, [in_object, in_part]) == {in_object, in_part}
    assert report.deleted == 2


async def test_a_writer_that_dedups_during_collection_keeps_the_block() -> None:
    clock = Clock()
    meta, blobs = await stores()
    [reused] = await written(meta, blobs, clock, ["reused"])
    clock.now += 2 * GRACE
    # A new writer leases the block before the collector runs: it is kept,
    # and the writer finds it stored, so it does not put it again.
    writer = BlockWriter(
        blobs, block_size=1 << 16, leases=Leases(meta, STANDARD, GRACE, clock), clock=clock
    )

    async def body():  # type: ignore[no-untyped-def]
        yield block("reused")[1]

    data = await writer.write(body())
    assert [e.digest for e in data.extents] == [reused]
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert report.deleted == 0
    assert await blobs.has(reused)


async def test_a_block_being_deleted_makes_the_writer_wait_then_store_it() -> None:
    clock = Clock()
    meta, blobs = await stores()
    [doomed] = await written(meta, blobs, clock, ["doomed"])
    clock.now += 2 * GRACE
    claimed = await meta.claim_garbage(now=clock.now, stale_before=0.0, limit=10)
    assert claimed == [BlockRef(STANDARD, doomed)]
    assert await meta.lease_blocks(claimed, "w", now=clock.now, until=clock.now + 1) == set(claimed)
    # The collector finishes; then the writer's lease goes through and,
    # finding the block gone, it stores it again.
    await blobs.delete(doomed)
    await meta.forget_blocks(claimed)
    assert await meta.lease_blocks(claimed, "w", now=clock.now, until=clock.now + 1) == set()
    assert not await blobs.has(doomed)


async def test_a_failed_delete_is_retried_by_a_later_pass() -> None:
    clock = Clock()
    meta, blobs = await stores()
    [stuck] = await written(meta, blobs, clock, ["stuck"])
    clock.now += 2 * GRACE

    class Failing(MemoryBlobStore):
        async def delete(self, digest: bytes) -> None:
            raise StorageError("the disk said no")

    failing = Failing()
    report = await collect(meta, failing, grace=GRACE, now=clock.now)
    assert (report.candidates, report.deleted, report.failed) == (1, 0, 1)
    # Still marked: not taken again within the grace time, then taken up.
    report = await collect(meta, blobs, grace=GRACE, now=clock.now + 1)
    assert report.candidates == 0
    report = await collect(meta, blobs, grace=GRACE, now=clock.now + 2 * GRACE)
    assert report.deleted == 1
    assert not await blobs.has(stuck)


async def test_each_policy_deletes_from_its_own_store() -> None:
    clock = Clock()
    meta, standard = await stores()
    cold = await MemoryBlobStore.open()
    digest, data = block("twice")
    for policy, store in ((STANDARD, standard), ("cold", cold)):
        await Leases(meta, policy, GRACE, clock).take([digest])
        await store.put(digest, data)
    await meta.put_version(
        ObjectVersion("b", "k", "v1", extents=(Extent(digest, 50),), policy=STANDARD)
    )
    clock.now += 2 * GRACE
    report = await collect(
        meta, {STANDARD: standard, "cold": cold}.__getitem__, grace=GRACE, now=clock.now
    )
    assert report.deleted == 1
    assert await standard.has(digest)
    assert not await cold.has(digest)


async def test_negative_grace_is_refused() -> None:
    meta, blobs = await stores()
    with pytest.raises(ValueError):
        await collect(meta, blobs, grace=-1.0, now=0.0)
