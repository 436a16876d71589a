"""Reading blocks back: a block that does not match its digest, is missing,
or is longer than the extent it stands for is never returned."""

from __future__ import annotations

import hashlib

import pytest
from corekit import ALICE, BLOCK, Core, body, make_core, pattern, read_all

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.core.content.blocks import BlockReader, read_block
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import BlockNotFound, CorruptBlock
from dolium.model import Extent, ObjectVersion

BUCKET = "fragile"
SIZE = 3 * BLOCK + 500


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def put(core: Core, key: str, data: bytes) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions())


async def replace_block(blobs: MemoryBlobStore, digest: bytes, data: bytes) -> None:
    """Store `data` under `digest`, as a disk or a bad copy might."""
    await blobs.delete(digest)
    await blobs.put(digest, data)


async def flip_byte(blobs: MemoryBlobStore, digest: bytes, at: int = 100) -> None:
    stored = bytearray(await blobs.get(digest))
    stored[at] ^= 0x01
    await replace_block(blobs, digest, bytes(stored))


async def test_corrupt_first_block_fails_before_any_data(core: Core) -> None:
    version = await put(core, "k", pattern(SIZE))
    await flip_byte(core.blobs, version.extents[0].digest)
    with pytest.raises(CorruptBlock):
        await core.store.objects.read(version, 0, SIZE - 1)


@pytest.mark.parametrize("index", [1, 2, 3])
async def test_corrupt_later_block_fails_after_the_good_ones(core: Core, index: int) -> None:
    data = pattern(SIZE)
    version = await put(core, "k", data)
    await flip_byte(core.blobs, version.extents[index].digest, at=7)
    stream = await core.store.objects.read(version, 0, SIZE - 1)
    got = bytearray()
    with pytest.raises(CorruptBlock):
        async for piece in stream:
            got += piece
    # Exactly the good blocks came out, and nothing of the bad one.
    assert bytes(got) == data[: index * BLOCK]


async def test_range_starting_in_a_corrupt_block_fails_at_once(core: Core) -> None:
    version = await put(core, "k", pattern(SIZE))
    await flip_byte(core.blobs, version.extents[2].digest)
    # The range's first block is the bad one: read() itself refuses.
    with pytest.raises(CorruptBlock):
        await core.store.objects.read(version, 2 * BLOCK + 10, 2 * BLOCK + 20)
    # A range that avoids it reads fine.
    assert await read_all(core.store, version, 10, BLOCK + 10) == pattern(SIZE)[10 : BLOCK + 11]


async def test_missing_block(core: Core) -> None:
    version = await put(core, "k", pattern(SIZE))
    await core.blobs.delete(version.extents[0].digest)
    with pytest.raises(CorruptBlock) as info:
        await core.store.objects.read(version, 0, SIZE - 1)
    assert isinstance(info.value.__cause__, BlockNotFound)


async def test_missing_later_block(core: Core) -> None:
    version = await put(core, "k", pattern(SIZE))
    await core.blobs.delete(version.extents[3].digest)
    stream = await core.store.objects.read(version, 0, SIZE - 1)
    with pytest.raises(CorruptBlock):
        async for _ in stream:
            pass


async def test_truncated_block(core: Core) -> None:
    version = await put(core, "k", pattern(SIZE))
    digest = version.extents[0].digest
    await replace_block(core.blobs, digest, (await core.blobs.get(digest))[:-1])
    with pytest.raises(CorruptBlock):
        await core.store.objects.read(version, 0, SIZE - 1)


async def test_block_with_nuls_appended_is_corrupt(core: Core) -> None:
    version = await put(core, "k", b"hello" * 300)
    digest = version.extents[0].digest
    await replace_block(core.blobs, digest, b"hello" * 300 + b"\0\0")
    with pytest.raises(CorruptBlock):
        await core.store.objects.read(version, 0, version.size - 1)


async def test_block_longer_than_its_extent() -> None:
    blobs = MemoryBlobStore()
    stored = b"hello world"
    digest = hashlib.sha256(stored).digest()
    await blobs.put(digest, stored)
    # The digest matches, but the block stands for only five bytes.
    with pytest.raises(CorruptBlock):
        await read_block(blobs, Extent(digest, 5), "sha256")
    reader = BlockReader(blobs, [Extent(digest, 5)], 0, 4)
    with pytest.raises(CorruptBlock):
        await reader.prime()
    # The same block, read as what it is, is fine; and padded when it is short.
    assert await read_block(blobs, Extent(digest, 11), "sha256") == stored
    assert await read_block(blobs, Extent(digest, 13), "sha256") == stored + b"\0\0"


async def test_large_block_is_verified_too() -> None:
    # Blocks of 64 KiB and more are hashed in a worker thread.
    blobs = MemoryBlobStore()
    data = pattern(256 * 1024)
    digest = hashlib.sha256(data).digest()
    await blobs.put(digest, data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CorruptBlock):
        await read_block(blobs, Extent(digest, len(data)), "sha256")


async def test_reader_stopped_early_cancels_its_prefetch() -> None:
    blobs = MemoryBlobStore()
    extents = []
    for i in range(3):
        block = bytes([65 + i]) * 100
        digest = hashlib.sha256(block).digest()
        await blobs.put(digest, block)
        extents.append(Extent(digest, 100))
    reader = BlockReader(blobs, extents, 0, 299)
    stream = reader.__aiter__()
    assert await anext(stream) == b"A" * 100
    ahead = list(reader._ahead)
    assert len(ahead) == 2  # the next two blocks, being fetched
    await stream.aclose()
    assert all(task.done() for task in ahead) and not reader._ahead


async def test_whole_blocks_come_out_whole_and_ranges_exact(core: Core) -> None:
    data = pattern(SIZE)
    version = await put(core, "k", data)
    stream = await core.store.objects.read(version, 0, SIZE - 1)
    assert [len(piece) async for piece in stream] == [BLOCK, BLOCK, BLOCK, 500]
    for start, end in [
        (BLOCK - 1, BLOCK),
        (BLOCK - 10, 2 * BLOCK + 9),
        (BLOCK, 2 * BLOCK - 1),
        (3 * BLOCK - 1, SIZE - 1),
        (7, 7),
    ]:
        assert await read_all(core.store, version, start, end) == data[start : end + 1]
