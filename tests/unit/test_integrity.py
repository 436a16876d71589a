"""The integrity check over the in-memory stores: missing and corrupt blocks
referenced by versions and by multipart parts are found; garbage is not."""

from __future__ import annotations

import hashlib
import time

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.content.integrity import check
from dolium.core.context import Context
from dolium.model import Bucket, Extent, MultipartUpload, ObjectVersion, Part


def block(n: int, algorithm: str = "sha256") -> tuple[bytes, bytes]:
    data = f"block {n}".encode() * 100
    return hashlib.new(algorithm, data).digest(), data


async def setup() -> tuple[Context, list[bytes]]:
    meta, blobs = MemoryMetaStore(), MemoryBlobStore()
    await meta.create_bucket(Bucket("b", "alice", 1.0))
    await meta.create_bucket(Bucket("s3", "alice", 1.0, hash_algorithm="sha3_256"))
    digests = []
    for n in range(4):
        digest, data = block(n)
        await blobs.put(digest, data)
        digests.append(digest)
    shared = Extent(digests[0], 1000)
    await meta.put_version(
        ObjectVersion("b", "one", "null", extents=(shared, Extent(digests[1], 1000)))
    )
    await meta.put_version(ObjectVersion("b", "two", "null", extents=(shared,)))
    await meta.put_version(ObjectVersion("b", "inline", "null", inline=b"x", size=1))
    await meta.create_upload(MultipartUpload("b", "up", "u1", 1.0, "alice"))
    await meta.put_part("b", Part("u1", 1, 1000, "e", 1.0, extents=(Extent(digests[2], 1000),)))
    # Another bucket's algorithm: its blocks verify under that algorithm.
    other, data = block(9, "sha3_256")
    await blobs.put(other, data)
    await meta.put_version(ObjectVersion("s3", "k", "null", extents=(Extent(other, 1000),)))
    # digests[3] is stored but unreferenced: garbage, not damage.
    return Context(meta=meta, blobs=blobs, clock=time.time), digests


async def test_a_sound_store_passes() -> None:
    ctx, _ = await setup()
    report = await check(ctx)
    assert report.ok, report
    assert (report.referenced, report.checked, report.references) == (4, 4, 5)
    assert report.verified


async def test_missing_and_corrupt_blocks_are_reported() -> None:
    ctx, digests = await setup()
    blobs = ctx.blobs
    assert isinstance(blobs, MemoryBlobStore)
    await blobs.delete(digests[1])
    await blobs.delete(digests[2])  # referenced by a part only
    await blobs.delete(digests[0])
    await blobs.put(digests[0], b"not the bytes of block 0")

    report = await check(ctx)
    assert not report.ok
    assert report.missing == tuple(sorted((digests[1].hex(), digests[2].hex())))
    assert report.corrupt == (digests[0].hex(),)
    assert report.checked == 1

    # Presence only: the corrupt block counts as there.
    quick = await check(ctx, verify=False)
    assert quick.missing == report.missing
    assert quick.corrupt == ()
    assert not quick.verified


async def test_progress_reaches_the_total() -> None:
    ctx, _ = await setup()
    seen: list[int] = []
    await check(ctx, progress=seen.append)
    assert seen[-1] == 4


async def test_a_block_a_storage_module_cannot_decode_is_corrupt() -> None:
    from dolium.modules.compress import CompressStore

    meta, below = MemoryMetaStore(), MemoryBlobStore()
    blobs = await CompressStore.open([below])
    await meta.create_bucket(Bucket("b", "alice", 1.0))
    digest, data = block(1)
    await blobs.put(digest, data)
    await meta.put_version(ObjectVersion("b", "k", "null", extents=(Extent(digest, 1000),)))
    await below.delete(digest)
    await below.put(digest, b"\x01 not a zstd frame")
    report = await check(Context(meta=meta, blobs=blobs, clock=time.time))
    assert report.corrupt == (digest.hex(),) and not report.missing
