"""The scrubber over memory stores: sound, corrupt, missing and degraded blocks,
the objects they break, orphans handed to the collector, and pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from corekit import ALICE, BLOCK, GRACE, INLINE, Clock, Core, body, make_core, pattern, read_all

from dolium import job_reports
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.context import Context, Settings
from dolium.core.jobs.gc import collect
from dolium.core.jobs.scrub import Damaged, scrub
from dolium.core.jobs.scrub_check import Pacer
from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.errors import NoSuchBucket, StorageError
from dolium.model import DEFAULT_POLICY, BlockRef
from dolium.modules.erasure import ErasureStore, share_name
from dolium.protocols.blob import BlockState

BUCKET = "scrubbed"


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def put(core: Core, key: str, data: bytes, bucket: str = BUCKET) -> str:
    v = await core.store.objects.put(ALICE, bucket, key, body(data), WriteOptions())
    return v.version_id


async def corrupt(blobs: MemoryBlobStore, digest: bytes) -> bytes:
    bad = bytearray(await blobs.get(digest))
    bad[3] ^= 0x40
    blobs._blocks[digest] = bytes(bad)
    return bytes(bad)


async def test_a_sound_store_scrubs_clean(core: Core) -> None:
    await put(core, "a", pattern(3 * BLOCK, 1))
    await put(core, "b", pattern(BLOCK + 10, 2))
    await put(core, "same", pattern(3 * BLOCK, 1))  # shares its blocks with "a"
    await put(core, "tiny", b"inline")
    report = await scrub(core.store.ctx)
    assert (report.blocks, report.ok, report.lost, report.orphans) == (5, 5, 0, 0)
    assert report.bytes == 4 * BLOCK + 10
    assert report.clean and report.orphans_checked
    assert report.unrecoverable == []


async def test_a_corrupt_block_is_reported_with_its_objects_and_quarantined(core: Core) -> None:
    data = pattern(2 * BLOCK, 3)
    v1 = await put(core, "one", data)
    v2 = await put(core, "two", data)
    await put(core, "other", pattern(BLOCK, 4))
    version = await core.meta.get_version(BUCKET, "one")
    assert version is not None
    digest = version.extents[1].digest
    bad = await corrupt(core.blobs, digest)

    report = await scrub(core.store.ctx)
    assert (report.blocks, report.ok, report.lost) == (3, 2, 1)
    assert not report.clean
    assert sorted(report.unrecoverable, key=lambda d: d.key) == [
        Damaged(BUCKET, "one", version_id=v1, block=digest.hex()),
        Damaged(BUCKET, "two", version_id=v2, block=digest.hex()),
    ]
    # Set aside, so that an upload of the same content stores it again.
    assert core.blobs.quarantined[digest] == [bad]
    await put(core, "again", data)
    assert await read_all(core.store, version) == data
    assert (await scrub(core.store.ctx)).clean


async def test_missing_blocks_of_versions_and_pending_parts(core: Core) -> None:
    vid = await put(core, "k", pattern(BLOCK, 5))
    upload = await core.store.multipart.create(ALICE, BUCKET, "big", WriteOptions())
    await core.store.multipart.put_part(
        ALICE, BUCKET, "big", upload.upload_id, 1, body(pattern(BLOCK, 6)), WriteOptions()
    )
    for digest in await core.digests():
        await core.blobs.delete(digest)
    report = await scrub(core.store.ctx)
    assert report.lost == 2
    assert {(d.key, d.version_id, d.upload_id) for d in report.unrecoverable} == {
        ("k", vid, ""),
        ("big", "", upload.upload_id),
    }


async def test_orphans_go_to_the_collector(core: Core) -> None:
    await put(core, "kept", pattern(BLOCK, 7))
    orphan = bytes(range(32))
    await core.blobs.put(orphan, b"left behind")
    await core.blobs.put(b"not-a-digest", b"someone else's")
    report = await scrub(core.store.ctx)
    assert report.orphans == 1 and report.ok == 1
    core.clock.advance(1)
    gc = await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert gc.deleted == 1
    assert not await core.blobs.has(orphan)
    assert await core.blobs.has(b"not-a-digest")
    assert (await scrub(core.store.ctx)).ok == 1


async def test_a_block_being_written_is_not_collected(core: Core) -> None:
    # A writer leases its block before it stores it; the scrubber's expired
    # lease does not cut that one short.
    digest = bytes(range(1, 33))
    now = core.clock()
    await core.meta.lease_blocks(
        {BlockRef(DEFAULT_POLICY, digest)}, "writer", now=now, until=now + GRACE
    )
    await core.blobs.put(digest, b"in flight")
    assert (await scrub(core.store.ctx)).orphans == 1
    core.clock.advance(1)
    await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert await core.blobs.has(digest)


async def test_one_bucket_only_and_no_orphans(core: Core) -> None:
    await core.store.buckets.create(ALICE, "elsewhere")
    await put(core, "here", pattern(BLOCK, 8))
    await put(core, "there", pattern(BLOCK, 9), bucket="elsewhere")
    report = await scrub(core.store.ctx, bucket=BUCKET)
    assert (report.blocks, report.orphans, report.orphans_checked) == (1, 0, False)
    with pytest.raises(NoSuchBucket):
        await scrub(core.store.ctx, bucket="nope")


async def test_erasure_blocks_are_verified_and_repaired() -> None:
    children = [MemoryBlobStore() for _ in range(6)]
    store = await ErasureStore.open(stores=children, k=4, m=2)
    settings = Settings(block_size=BLOCK, inline_threshold=INLINE, gc_grace=GRACE)
    ctx = Context(meta=MemoryMetaStore(), blobs=store, settings=settings, clock=Clock())
    objects = Store(ctx)
    await objects.buckets.create(ALICE, BUCKET)
    data = pattern(2 * BLOCK, 10)
    version = await objects.objects.put(ALICE, BUCKET, "k", body(data), WriteOptions())
    first, second = (e.digest for e in version.extents)
    del children[5]._blocks[share_name(first, 5)]  # a parity share: reads never notice

    report = await scrub(ctx)
    assert (report.ok, report.degraded, report.repaired) == (1, 1, 0)
    assert await store.verify(first) is BlockState.DEGRADED  # a scrub alone repairs nothing

    report = await scrub(ctx, repair=True)
    assert (report.ok, report.degraded, report.repaired) == (1, 0, 1)
    assert await store.verify(first) is BlockState.OK

    for index in (0, 1, 2):
        del children[index]._blocks[share_name(second, index)]
    report = await scrub(ctx, repair=True)
    assert report.lost == 1
    assert report.unrecoverable == [
        Damaged(BUCKET, "k", version_id=version.version_id, block=second.hex())
    ]


async def test_the_pacer_holds_reads_to_the_rate() -> None:
    clock = Clock(0.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    pacer = Pacer(1000.0, clock=clock, sleep=sleep)
    for _ in range(4):
        await pacer.spent(500)
    assert clock.now == pytest.approx(2.0)
    assert slept == pytest.approx([0.5] * 4)
    clock.advance(10)  # slow reads leave no debt to sleep off
    await pacer.spent(500)
    assert len(slept) == 4


async def test_a_store_that_cannot_be_listed_skips_only_the_orphans(core: Core) -> None:
    await put(core, "k", pattern(BLOCK, 11))

    async def broken() -> AsyncIterator[bytes]:
        raise StorageError("cannot list: input/output error")
        yield b""

    core.blobs.list = broken  # type: ignore[method-assign]
    report = await scrub(core.store.ctx)
    assert (report.ok, report.orphans_checked) == (1, False)


def test_the_last_report_is_kept_whole(tmp_path: Path) -> None:
    assert job_reports.load(tmp_path, job_reports.SCRUB) is None
    job_reports.save(tmp_path, job_reports.SCRUB, {"ok": 1})
    job_reports.save(tmp_path, job_reports.SCRUB, {"ok": 2, "unrecoverable": []})
    assert job_reports.load(tmp_path, job_reports.SCRUB) == {"ok": 2, "unrecoverable": []}
    assert sorted(p.name for p in tmp_path.iterdir()) == [job_reports.file_name(job_reports.SCRUB)]


async def test_a_version_deleted_and_collected_during_the_scrub_is_not_damage(
    core: Core,
) -> None:
    vid = await put(core, "going", pattern(BLOCK, 12))
    version = await core.meta.get_version(BUCKET, "going")
    assert version is not None
    digest = version.extents[0].digest
    get = core.blobs.get

    async def racing_get(name: bytes) -> bytes:
        if name == digest:  # deleted, and its block collected, as the scrub reads it
            await core.meta.delete_version(BUCKET, "going", vid)
            await core.blobs.delete(digest)
        return await get(name)

    core.blobs.get = racing_get  # type: ignore[method-assign]
    report = await scrub(core.store.ctx)
    assert (report.blocks, report.lost, report.unrecoverable) == (0, 0, [])
    assert report.clean
