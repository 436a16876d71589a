"""The file store's direct writes (O_DIRECT): every length stores exactly its bytes,
and a file system that refuses direct I/O gets buffered writes instead."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from dolium import errors
from dolium.backends import blob_fs
from dolium.backends.blob_fs import DIRECT_CHUNK, FsBlobStore
from dolium.backends.direct_buffers import DIRECT_ALIGN, DIRECT_MIN

pytestmark = pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no O_DIRECT here")

_REAL_OPEN = os.open


def block(size: int, seed: int = 0) -> tuple[bytes, bytes]:
    """`size` bytes that differ from block to block and end in a non-NUL byte."""
    stream = hashlib.shake_256(f"{seed}:{size}".encode()).digest(size)
    data = stream[:-1] + b"\x01" if size else b""
    return hashlib.sha256(data).digest(), data


def stored(root: str, digest: bytes) -> bytes:
    hexname = digest.hex()
    return (Path(root) / hexname[0:2] / hexname[2:4] / hexname).read_bytes()


def leftovers(root: str) -> list[str]:
    return [name for _, _, names in os.walk(root) for name in names if name.startswith(".")]


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The flags of every file the store creates."""
    flags: list[int] = []

    def spy(path: Any, how: int, *args: Any, **kwargs: Any) -> int:
        if how & os.O_CREAT:
            flags.append(how)
        return _REAL_OPEN(path, how, *args, **kwargs)

    monkeypatch.setattr(blob_fs.os, "open", spy)
    return flags


SIZES = [
    pytest.param(DIRECT_MIN, id="smallest-direct-aligned"),
    pytest.param(DIRECT_MIN + 1, id="one-byte-tail"),
    pytest.param(4 * 1024 * 1024, id="4MiB-aligned"),
    pytest.param(4 * 1024 * 1024 - 1000, id="4MiB-unaligned-tail"),
    pytest.param(DIRECT_CHUNK + DIRECT_ALIGN - 1, id="chunk-plus-tail"),
    pytest.param(3 * DIRECT_CHUNK + 5 * DIRECT_ALIGN, id="several-chunks-aligned"),
    pytest.param(2 * DIRECT_CHUNK + 17, id="several-chunks-unaligned"),
]


@pytest.mark.parametrize("size", SIZES)
async def test_large_blocks_are_written_direct_with_their_exact_bytes(
    tmp_path: Path, opened: list[int], size: int
) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    digest, data = block(size)
    await store.put(digest, data)
    assert opened and all(how & os.O_DIRECT for how in opened)
    assert store.direct, "the file system under tmp_path takes O_DIRECT"
    assert stored(store.root, digest) == data
    assert await store.get(digest) == data
    assert leftovers(store.root) == []


@pytest.mark.parametrize("size", [1, 100, DIRECT_ALIGN, DIRECT_MIN - 1])
async def test_small_blocks_are_written_buffered(
    tmp_path: Path, opened: list[int], size: int
) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    digest, data = block(size)
    await store.put(digest, data)
    assert opened and not any(how & os.O_DIRECT for how in opened)
    assert stored(store.root, digest) == data


async def test_many_blocks_through_one_buffer_keep_their_own_bytes(tmp_path: Path) -> None:
    store = await FsBlobStore.open(str(tmp_path))
    blocks = [block(DIRECT_CHUNK + 4096 * i + i, seed=i) for i in range(6)]
    for digest, data in blocks:
        await store.put(digest, data)
    for digest, data in blocks:
        assert stored(store.root, digest) == data


async def test_a_refused_direct_open_falls_back_to_buffered_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def refuse_direct(path: Any, how: int, *args: Any, **kwargs: Any) -> int:
        if how & os.O_DIRECT:
            attempts.append(how)
            # As tmpfs did: the file is created, then the flag refused.
            os.close(_REAL_OPEN(path, how & ~os.O_DIRECT, *args, **kwargs))
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return _REAL_OPEN(path, how, *args, **kwargs)

    monkeypatch.setattr(blob_fs.os, "open", refuse_direct)
    store = await FsBlobStore.open(str(tmp_path))
    first, second = block(4 * 1024 * 1024 - 3, seed=1), block(DIRECT_CHUNK * 2, seed=2)
    await store.put(*first)
    assert not store.direct
    await store.put(*second)
    assert len(attempts) == 1, "the refusal is remembered"
    assert stored(store.root, first[0]) == first[1]
    assert stored(store.root, second[0]) == second[1]
    assert leftovers(store.root) == []


async def test_refused_direct_writes_start_the_file_again_buffered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(fd: int, data: bytes) -> None:
        # More bytes than the block got in before the refusal: none may stay.
        how = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, how & ~os.O_DIRECT)
        os.write(fd, b"junk" * (len(data) // 4 + 1000))
        fcntl.fcntl(fd, fcntl.F_SETFL, how)
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(blob_fs, "_write_direct", refuse)
    store = await FsBlobStore.open(str(tmp_path))
    digest, data = block(DIRECT_CHUNK + 123)
    await store.put(digest, data)
    assert stored(store.root, digest) == data
    assert not store.direct


async def test_a_failed_direct_fsync_leaves_no_block_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    store = await FsBlobStore.open(str(tmp_path))
    digest, data = block(4 * 1024 * 1024 - 1)
    monkeypatch.setattr(blob_fs.os, "fsync", broken_fsync)
    with pytest.raises(errors.StorageError):
        await store.put(digest, data)
    monkeypatch.undo()
    assert not await store.has(digest)
    assert leftovers(store.root) == []


async def test_a_failed_direct_write_mid_block_leaves_no_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls: list[int] = []

    def full_disk(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    store = await FsBlobStore.open(str(tmp_path))
    digest, data = block(3 * DIRECT_CHUNK + 10)
    monkeypatch.setattr(blob_fs.os, "write", full_disk)
    with pytest.raises(errors.StorageFull):
        await store.put(digest, data)
    monkeypatch.undo()
    assert len(calls) == 2
    assert not await store.has(digest)
    assert leftovers(store.root) == []
    assert store.direct, "a full disk is no reason to give up direct writes"


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no tmpfs at /dev/shm")
async def test_tmpfs_stores_exact_bytes_whether_or_not_it_takes_o_direct() -> None:
    root = tempfile.mkdtemp(dir="/dev/shm")
    try:
        store = await FsBlobStore.open(root)
        for size in (DIRECT_MIN + 1, 4 * 1024 * 1024):
            digest, data = block(size)
            await store.put(digest, data)
            assert stored(store.root, digest) == data
    finally:
        shutil.rmtree(root, ignore_errors=True)
