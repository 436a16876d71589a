"""What the file store does beyond the contract: layout, recovery, symlinks, counters."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from dolium import errors
from dolium.backends import blob_fs
from dolium.backends.blob_fs import FsBlobStore

DATA = b"some block data" * 100
DIGEST = hashlib.sha256(DATA).digest()
HEX = DIGEST.hex()


def block_path(root: Path, hexname: str = HEX) -> Path:
    return root / hexname[0:2] / hexname[2:4] / hexname


async def test_layout_is_sharded_by_hex_digest(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path / "blobs"))
    await store.put(DIGEST, DATA)
    assert block_path(tmp_path / "blobs").read_bytes() == DATA
    # Nothing but the block is left in its directory.
    assert os.listdir(block_path(tmp_path / "blobs").parent) == [HEX]


async def test_open_creates_nested_root(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "c"
    store = await FsBlobStore.open(str(root))
    assert root.is_dir()
    assert store.root == str(root.resolve())


async def test_open_refuses_a_root_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(errors.ConfigError) as info:
        await FsBlobStore.open(str(tmp_path / "file" / "blobs"))
    assert "\n" not in str(info.value)
    assert "cannot create directory" in str(info.value)


async def test_stale_temp_files_are_removed_by_list(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    shard = block_path(tmp_path).parent
    stale = shard / f".{HEX}.0123456789abcdef.tmp"
    fresh = shard / f".{HEX}.fedcba9876543210.tmp"
    stale.write_bytes(b"half a block")
    fresh.write_bytes(b"a put in progress")
    old = time.time() - 2 * blob_fs.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    assert [d async for d in store.list()] == [DIGEST]
    assert not stale.exists()
    assert fresh.exists()


async def test_trash_left_by_an_older_release_is_restored_by_list(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    final = block_path(tmp_path)
    trash = final.parent / f".{HEX}.0123456789abcdef.trash"
    os.rename(final, trash)  # as a delete of the previous release that crashed mid-way
    assert [d async for d in store.list()] == [DIGEST]
    assert final.read_bytes() == DATA
    assert not trash.exists()


async def test_delete_removes_the_file_and_is_idempotent(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    await store.delete(DIGEST)
    assert not block_path(tmp_path).exists()
    assert os.listdir(block_path(tmp_path).parent) == []
    await store.delete(DIGEST)
    await store.put(DIGEST, DATA)
    assert block_path(tmp_path).read_bytes() == DATA


async def test_statistics_count_what_was_done(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    await store.put(DIGEST, DATA)  # already stored: no second write
    await store.delete(DIGEST)
    stats = await store.statistics()
    assert (stats["puts"], stats["bytes_written"], stats["deletes"]) == (1, len(DATA), 1)
    assert {"durable", "local"} <= store.capabilities()


async def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"outside the root")
    root = tmp_path / "blobs"
    store = await FsBlobStore.open(str(root))
    link = block_path(root)
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    with pytest.raises(errors.StorageError):
        await store.get(DIGEST)
    assert not await store.has(DIGEST)
    await store.delete(DIGEST)  # a symlink is neither followed nor removed
    assert link.is_symlink()
    assert [item async for item in store.list()] == []
    # A symlinked shard directory is not walked either.
    outside = tmp_path / "outside"
    other = hashlib.sha256(b"other").hexdigest()
    (outside / other[2:4]).mkdir(parents=True)
    (outside / other[2:4] / other).write_bytes(b"other")
    (root / other[0:2]).symlink_to(outside, target_is_directory=True)
    assert [item async for item in store.list()] == []
    assert secret.read_bytes() == b"outside the root"


async def test_io_errors_become_storage_errors(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    block_path(tmp_path).mkdir(parents=True)  # a directory where a block belongs
    with pytest.raises(errors.StorageError) as info:
        await store.get(DIGEST)
    assert not isinstance(info.value, errors.BlockNotFound)
    assert isinstance(info.value.__cause__, OSError)


async def test_digest_must_be_non_empty_bytes(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    with pytest.raises(ValueError):
        await store.put(b"", b"x")


async def test_short_digest_still_gets_two_shard_levels(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(b"\xab", b"x")
    assert (tmp_path / "ab" / "00" / "ab").read_bytes() == b"x"
    assert [d async for d in store.list()] == [b"\xab"]


async def test_list_streams_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_fs, "SCAN_BATCH", 7)
    store = await FsBlobStore.open(str(tmp_path))
    digests = set()
    for i in range(50):
        data = str(i).encode()
        digest = hashlib.sha256(data).digest()
        await store.put(digest, data)
        digests.add(digest)
    seen = [d async for d in store.list()]
    assert sorted(seen) == sorted(digests)
    # Leaving early releases the walk.
    async for _ in store.list():
        break


async def test_delete_removes_what_crashed_puts_of_the_block_left(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    shard = block_path(tmp_path).parent
    stale = shard / f".{HEX}.0123456789abcdef.tmp"
    fresh = shard / f".{HEX}.fedcba9876543210.tmp"
    stale.write_bytes(b"half a block")
    fresh.write_bytes(b"a put in progress")
    old = time.time() - 2 * blob_fs.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    await store.delete(DIGEST)
    assert sorted(os.listdir(shard)) == [fresh.name]
