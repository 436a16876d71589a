"""The garbage collector against the in-memory stores and a clock we drive.

Most tests use a minimal meta stand-in that implements only
`referenced_digests`, the one method the collector calls, so that a test can
act as a writer at the exact moment the collector reads references; one test
runs over the real in-memory meta store, with versions and multipart parts.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import cast

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.jobs.gc import collect
from dolium.model import Bucket, Extent, MultipartUpload, ObjectVersion, Part
from dolium.protocols.meta import MetaStore

GRACE = 3600.0


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class References:
    """A meta store reduced to its references; `during_read` runs as they are read."""

    def __init__(
        self,
        digests: Iterable[bytes] = (),
        during_read: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.digests = list(digests)
        self.during_read = during_read

    async def referenced_digests(self) -> AsyncIterator[bytes]:
        if self.during_read is not None:
            await self.during_read()
        for digest in self.digests:
            yield digest

    def as_meta(self) -> MetaStore:
        return cast(MetaStore, self)


def block(name: str) -> tuple[bytes, bytes]:
    data = name.encode() * 10
    return hashlib.sha256(data).digest(), data


async def aged_store(clock: Clock, names: Iterable[str]) -> tuple[MemoryBlobStore, list[bytes]]:
    """A store holding the named blocks, put two grace periods ago."""
    store = await MemoryBlobStore.open(clock=clock)
    digests = []
    for name in names:
        digest, data = block(name)
        await store.put(digest, data)
        digests.append(digest)
    clock.now += 2 * GRACE
    return store, digests


async def test_unreferenced_old_block_is_deleted() -> None:
    clock = Clock()
    blobs, [old] = await aged_store(clock, ["old"])
    report = await collect(References().as_meta(), blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([old]) == {old}
    assert (report.scanned, report.candidates, report.deleted) == (1, 1, 1)
    assert report.cutoff == clock.now - GRACE


async def test_referenced_block_is_kept() -> None:
    clock = Clock()
    blobs, [used, unused] = await aged_store(clock, ["used", "unused"])
    # Repeats are allowed in the reference stream.
    meta = References([used, used]).as_meta()
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([used, unused]) == {unused}
    assert await blobs.get(used) == block("used")[1]
    assert (report.references, report.referenced, report.deleted) == (2, 1, 1)


async def test_fresh_unreferenced_block_is_kept_for_the_grace_period() -> None:
    clock = Clock()
    blobs, [old] = await aged_store(clock, ["old"])
    fresh, data = block("fresh")
    clock.now -= GRACE / 2  # put half a grace period before the collection
    await blobs.put(fresh, data)
    clock.now += GRACE / 2
    report = await collect(References().as_meta(), blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([old, fresh]) == {old}
    assert (report.scanned, report.candidates, report.deleted) == (2, 1, 1)


async def test_block_touched_during_collection_is_kept() -> None:
    clock = Clock()
    blobs, [reused, idle] = await aged_store(clock, ["reused", "idle"])

    async def writer_dedups_against_reused() -> None:
        # After the scan saw `reused` idle, a writer uploads an object that
        # contains it: it touches the block and has not committed yet.
        clock.now += 1
        assert await blobs.touch(reused)

    meta = References(during_read=writer_dedups_against_reused).as_meta()
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([reused, idle]) == {idle}
    assert report.candidates == 2
    assert (report.deleted, report.kept_in_use) == (1, 1)


async def test_writer_committing_during_reference_read_is_seen() -> None:
    clock = Clock()
    blobs, [reused] = await aged_store(clock, ["reused"])
    meta = References()

    async def writer_commits() -> None:
        clock.now += 1
        assert await blobs.touch(reused)
        meta.digests.append(reused)

    meta.during_read = writer_commits
    report = await collect(meta.as_meta(), blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([reused]) == set()
    assert (report.referenced, report.deleted) == (1, 0)


async def test_block_deleted_before_writer_touch_is_put_again() -> None:
    clock = Clock()
    blobs, [old] = await aged_store(clock, ["old"])
    await collect(References().as_meta(), blobs, grace=GRACE, now=clock.now)
    # The writer's touch now fails, so it puts the block it holds.
    assert not await blobs.touch(old)
    await blobs.put(old, block("old")[1])
    report = await collect(References([old]).as_meta(), blobs, grace=GRACE, now=clock.now)
    assert await blobs.get(old) == block("old")[1]
    assert report.candidates == 0


async def test_empty_stores() -> None:
    blobs = await MemoryBlobStore.open(clock=Clock())
    report = await collect(References().as_meta(), blobs, grace=0.0, now=0.0)
    assert (report.scanned, report.candidates, report.deleted, report.failed) == (0, 0, 0, 0)


async def test_versions_and_parts_in_the_memory_meta_store_keep_their_blocks() -> None:
    clock = Clock()
    blobs, [in_object, in_part, orphan] = await aged_store(
        clock, ["in-object", "in-part", "orphan"]
    )
    meta = await MemoryMetaStore.open()
    await meta.create_bucket(Bucket(name="b", owner="t", created=0.0))
    await meta.put_version(
        ObjectVersion(bucket="b", key="k", version_id="v1", extents=(Extent(in_object, 90),))
    )
    await meta.create_upload(
        MultipartUpload(bucket="b", key="big", upload_id="u1", initiated=0.0, owner="t")
    )
    await meta.put_part(
        "b",
        Part(
            upload_id="u1",
            number=1,
            size=70,
            etag="e",
            modified=0.0,
            extents=(Extent(in_part, 70),),
        ),
    )
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([in_object, in_part, orphan]) == {orphan}
    assert (report.candidates, report.referenced, report.deleted) == (3, 2, 1)

    # Once the version is gone and the upload aborted, their blocks go too.
    await meta.delete_version("b", "k", "v1")
    await meta.abort_upload("b", "u1")
    report = await collect(meta, blobs, grace=GRACE, now=clock.now)
    assert await blobs.missing([in_object, in_part]) == {in_object, in_part}
    assert report.deleted == 2
    await meta.close()
