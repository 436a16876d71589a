"""What the file store does beyond the contract: layout, recovery, symlinks, races."""

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


async def test_stale_temp_files_are_removed_by_scan(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    shard = block_path(tmp_path).parent
    stale = shard / f".{HEX}.0123456789abcdef.tmp"
    fresh = shard / f".{HEX}.fedcba9876543210.tmp"
    stale.write_bytes(b"half a block")
    fresh.write_bytes(b"a put in progress")
    old = time.time() - 2 * blob_fs.STALE_TEMP_SECONDS
    os.utime(stale, (old, old))
    assert [d async for d, _ in store.scan()] == [DIGEST]
    assert not stale.exists()
    assert fresh.exists()


async def test_leftover_trash_is_readable_and_restored_by_scan(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    final = block_path(tmp_path)
    trash = final.parent / f".{HEX}.0123456789abcdef.trash"
    os.rename(final, trash)  # as a delete that crashed mid-way leaves it
    old = time.time() - 1000
    os.utime(trash, (old, old))
    assert await store.get(DIGEST) == DATA
    assert not await store.touch(DIGEST)
    before = time.time()
    [(digest, mtime)] = [item async for item in store.scan()]
    assert digest == DIGEST
    assert mtime >= before  # restored young: the next collection decides again
    assert final.read_bytes() == DATA
    assert not trash.exists()


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
    assert await store.missing([DIGEST]) == {DIGEST}
    assert not await store.delete(DIGEST, unused_since=time.time() + 60)
    assert [item async for item in store.scan()] == []
    # A symlinked shard directory is not walked either.
    outside = tmp_path / "outside"
    other = hashlib.sha256(b"other").hexdigest()
    (outside / other[2:4]).mkdir(parents=True)
    (outside / other[2:4] / other).write_bytes(b"other")
    (root / other[0:2]).symlink_to(outside, target_is_directory=True)
    assert [item async for item in store.scan()] == []
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
    assert [d async for d, _ in store.scan()] == [b"\xab"]


async def test_touch_after_rename_to_trash_makes_writer_put_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    cutoff = time.time() + 60  # the block is old for this collection
    real_rename = os.rename
    relied: list[bool] = []

    def rename_then_writer_runs(src: str, dst: str) -> None:
        real_rename(src, dst)
        if dst.endswith(".trash"):
            # The writer arrives between the rename and the mtime check.
            if not store._touch_sync(DIGEST):
                store._put_sync(DIGEST, DATA)
            relied.append(True)

    monkeypatch.setattr(os, "rename", rename_then_writer_runs)
    # The old copy under the trash name is deleted; the writer's copy stays.
    assert await store.delete(DIGEST, unused_since=cutoff)
    assert relied == [True]
    assert await store.get(DIGEST) == DATA
    assert [name for name in os.listdir(block_path(tmp_path).parent)] == [HEX]


async def test_touch_just_before_rename_puts_the_block_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    time.sleep(0.01)
    cutoff = time.time()
    time.sleep(0.01)
    real_rename = os.rename

    def writer_touches_first(src: str, dst: str) -> None:
        if dst.endswith(".trash"):
            # The writer's touch lands after delete's first look, before its rename.
            assert store._touch_sync(DIGEST)
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", writer_touches_first)
    assert not await store.delete(DIGEST, unused_since=cutoff)
    assert await store.get(DIGEST) == DATA
    assert await store.touch(DIGEST)
    assert os.listdir(block_path(tmp_path).parent) == [HEX]


async def test_scan_streams_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blob_fs, "SCAN_BATCH", 7)
    store = await FsBlobStore.open(str(tmp_path))
    digests = set()
    for i in range(50):
        data = str(i).encode()
        digest = hashlib.sha256(data).digest()
        await store.put(digest, data)
        digests.add(digest)
    seen = [d async for d, _ in store.scan()]
    assert sorted(seen) == sorted(digests)
    # Leaving early releases the walk.
    async for _ in store.scan():
        break


async def test_touch_whose_stamp_lands_after_the_delete_reports_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The touch has opened the block; before it stamps it, a whole delete runs
    # (rename, mtime check, unlink). The stamp then lands on an orphan inode.
    store = await FsBlobStore.open(str(tmp_path))
    await store.put(DIGEST, DATA)
    cutoff = time.time() + 60
    real_utime = os.utime
    deleted: list[bool] = []

    def delete_runs_first(path: object, *args: object, **kwargs: object) -> None:
        if isinstance(path, int) and not deleted:
            deleted.append(store._delete_sync(DIGEST, cutoff))
        real_utime(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "utime", delete_runs_first)
    assert not await store.touch(DIGEST)
    assert deleted == [True]
    # So the writer puts the block again, and it is there.
    await store.put(DIGEST, DATA)
    assert await store.get(DIGEST) == DATA
