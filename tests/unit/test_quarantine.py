"""A block that fails its hash on a read is set aside, and the next upload of its
content stores it again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from corekit import ALICE, BLOCK, Core, body, make_core, pattern, read_all

from dolium.backends.blob_fs import QUARANTINE, FsBlobStore
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import CorruptBlock

BUCKET = "fragile"
DATA = b"block data " * 1000
DIGEST = hashlib.sha256(DATA).digest()


async def test_memory_store_moves_aside_only_the_bytes_found() -> None:
    store = MemoryBlobStore()
    await store.put(DIGEST, b"bad")
    assert not await store.quarantine(DIGEST, b"other")
    assert await store.has(DIGEST)
    assert await store.quarantine(DIGEST, b"bad")
    assert not await store.has(DIGEST)
    assert store.quarantined[DIGEST] == [b"bad"]
    assert not await store.quarantine(DIGEST, b"bad")


async def test_fs_store_moves_the_file_out_of_the_walk(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, b"bad")
    assert not await store.quarantine(DIGEST, DATA)  # not what it holds: kept
    assert await store.get(DIGEST) == b"bad"
    assert await store.quarantine(DIGEST, b"bad")
    assert not await store.has(DIGEST)
    assert [d async for d in store.list()] == []
    (aside,) = os.listdir(tmp_path / QUARANTINE)
    assert aside.startswith(DIGEST.hex())
    assert (tmp_path / QUARANTINE / aside).read_bytes() == b"bad"
    await store.put(DIGEST, DATA)
    assert await store.get(DIGEST) == DATA
    assert (await store.statistics())["quarantined"] == 1


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def test_a_corrupt_block_is_refused_set_aside_and_stored_again(core: Core) -> None:
    data = pattern(3 * BLOCK)
    version = await core.store.objects.put(ALICE, BUCKET, "k", body(data), WriteOptions())
    digest = version.extents[1].digest
    bad = bytearray(await core.blobs.get(digest))
    bad[5] ^= 1
    await core.blobs.delete(digest)
    await core.blobs.put(digest, bytes(bad))

    with pytest.raises(CorruptBlock):
        await read_all(core.store, version)
    assert not await core.blobs.has(digest)
    assert core.blobs.quarantined[digest] == [bytes(bad)]

    again = await core.store.objects.put(ALICE, BUCKET, "copy", body(data), WriteOptions())
    assert again.extents == version.extents
    assert await read_all(core.store, version) == data
