"""The reader over the filesystem store, which reads and checks each block in
one worker thread (BlockingReads): exact bytes for any range, one piece per
whole block, and a block damaged on disk is never served."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from corekit import ALICE, Clock, body, evict, pattern

from dolium.backends.blob_fs import QUARANTINE, FsBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.content.blocks import BlockReader
from dolium.core.context import Context, Settings
from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.errors import CorruptBlock
from dolium.model import ObjectVersion
from dolium.protocols.blob import BlockingReads

BUCKET = "disk"
BLOCK = 256 * 1024  # past the direct-read threshold of the fs store
SIZE = 3 * BLOCK + 777


@pytest.fixture
async def setup(tmp_path: Path) -> tuple[Store, FsBlobStore]:
    clock = Clock()
    blobs = await FsBlobStore.open(str(tmp_path / "blocks"))
    settings = Settings(block_size=BLOCK, inline_threshold=1024, gc_grace=3600.0)
    store = Store(Context(meta=MemoryMetaStore(clock), blobs=blobs, settings=settings, clock=clock))
    await store.buckets.create(ALICE, BUCKET)
    return store, blobs


async def put(store: Store, data: bytes) -> ObjectVersion:
    return await store.objects.put(ALICE, BUCKET, "k", body(data, 50_000), WriteOptions())


def block_file(blobs: FsBlobStore, digest: bytes) -> str:
    return blobs._locate(digest)[1]


async def pieces(store: Store, version: ObjectVersion, start: int, end: int) -> list[bytes]:
    return [piece async for piece in await store.objects.read(version, start, end)]


async def test_the_fs_store_reads_in_the_callers_thread(setup: tuple[Store, FsBlobStore]) -> None:
    assert isinstance(setup[1], BlockingReads)


async def test_whole_blocks_come_as_one_piece_each(setup: tuple[Store, FsBlobStore]) -> None:
    store, blobs = setup
    data = pattern(SIZE, seed=1)
    version = await put(store, data)
    for extent in version.extents:
        evict(block_file(blobs, extent.digest))
    got = await pieces(store, version, 0, SIZE - 1)
    assert [len(p) for p in got] == [BLOCK, BLOCK, BLOCK, 777]
    assert b"".join(got) == data


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 0),
        (BLOCK - 1, BLOCK),  # the last byte of one block and the first of the next
        (BLOCK - 10, 2 * BLOCK + 9),  # across a whole block
        (BLOCK, 2 * BLOCK - 1),  # exactly one block
        (2 * BLOCK + 5, SIZE - 1),  # into the short last block
        (SIZE - 1, SIZE - 1),
        (123, SIZE - 2),
    ],
)
async def test_ranges_across_block_boundaries_are_exact(
    setup: tuple[Store, FsBlobStore], start: int, end: int
) -> None:
    store, blobs = setup
    data = pattern(SIZE, seed=2)
    version = await put(store, data)
    for extent in version.extents:
        evict(block_file(blobs, extent.digest))
    assert b"".join(await pieces(store, version, start, end)) == data[start : end + 1]


@pytest.mark.parametrize("index", [0, 2])
async def test_a_block_damaged_on_disk_is_never_served(
    setup: tuple[Store, FsBlobStore], index: int
) -> None:
    store, blobs = setup
    data = pattern(SIZE, seed=3)
    version = await put(store, data)
    path = block_file(blobs, version.extents[index].digest)
    with open(path, "r+b") as f:  # one bit, in place, as a disk might
        f.seek(BLOCK // 2)
        byte = f.read(1)
        f.seek(BLOCK // 2)
        f.write(bytes([byte[0] ^ 1]))
        f.flush()
        os.fsync(f.fileno())
    evict(path)
    got = bytearray()
    with pytest.raises(CorruptBlock):
        async for piece in await store.objects.read(version, 0, SIZE - 1):
            got += piece
    assert bytes(got) == data[: index * BLOCK]  # the good blocks before it, nothing of it
    assert not await blobs.has(version.extents[index].digest)
    assert os.listdir(os.path.join(blobs.root, QUARANTINE))


async def test_a_reader_over_the_fs_store_checks_every_block(
    setup: tuple[Store, FsBlobStore],
) -> None:
    store, blobs = setup
    data = pattern(SIZE, seed=4)
    version = await put(store, data)
    reader = BlockReader(blobs, version.extents, 0, SIZE - 1)
    await reader.prime()
    assert b"".join([piece async for piece in reader]) == data
