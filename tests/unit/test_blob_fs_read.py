"""Block files read back from the disk (O_DIRECT) or from the page cache: the
same bytes either way, a private copy each time, and a file system that
refuses direct reads is read plainly."""

from __future__ import annotations

import errno
import mmap
import os
import random
from pathlib import Path

import pytest
from corekit import evict

from dolium.backends import blob_fs_read, direct_buffers
from dolium.backends.blob_fs_read import DIRECT_MAX, DIRECT_MIN, BlockFiles, cached_pages

MIB = 1024 * 1024
# Around the bounds of the direct path, unaligned lengths, a sealed 4 MiB block.
SIZES = [1, DIRECT_MIN - 1, DIRECT_MIN, 100_000, 4 * MIB, 4 * MIB + 28, DIRECT_MAX + 1]


def write(path: Path, size: int, seed: int = 0) -> bytes:
    data = random.Random(seed * 1_000_003 + size).randbytes(size)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())  # clean pages, so that they can be evicted
    return data


def pages_cached(path: Path) -> int | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return cached_pages(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("cold", [True, False], ids=["cold", "cached"])
def test_a_block_file_reads_back_exactly(tmp_path: Path, size: int, cold: bool) -> None:
    path = tmp_path / "block"
    data = write(path, size)
    if cold:
        evict(path)
    else:
        path.read_bytes()
    got = BlockFiles().read(str(path))
    assert type(got) is bytes
    assert got == data


def test_a_cold_block_is_read_past_the_page_cache(tmp_path: Path) -> None:
    path = tmp_path / "block"
    data = write(path, 4 * MIB)
    evict(path)
    if pages_cached(path) != 0:
        pytest.skip("the kernel cannot say what the page cache holds (cachestat)")
    files = BlockFiles()
    assert files.read(str(path)) == data
    if not files.direct:
        pytest.skip("this file system refuses O_DIRECT")
    assert pages_cached(path) == 0


def test_each_read_is_a_copy_of_its_own(tmp_path: Path) -> None:
    # The thread's buffer is reused; what a read returned must not change.
    files = BlockFiles()
    first = tmp_path / "a"
    second = tmp_path / "b"
    a = write(first, 4 * MIB, seed=1)
    b = write(second, 4 * MIB, seed=2)
    evict(first)
    evict(second)
    got_a = files.read(str(first))
    got_b = files.read(str(second))
    assert got_a == a and got_b == b


def test_a_file_system_refusing_direct_reads_is_read_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = direct_buffers.fcntl.fcntl

    def refusing(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == direct_buffers.fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real(fd, cmd, arg)

    monkeypatch.setattr(direct_buffers.fcntl, "fcntl", refusing)
    monkeypatch.setattr(blob_fs_read, "cached_pages", lambda fd: 0)
    path = tmp_path / "block"
    data = write(path, DIRECT_MIN + 5)
    files = BlockFiles()
    assert files.read(str(path)) == data
    assert not files.direct  # and plain reads from now on
    assert files.read(str(path)) == data


def test_without_cachestat_blocks_are_read_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kernel that cannot say what its cache holds (before Linux 6.5): a hot
    # block must not be read from the disk every time, so no read is direct.
    real = direct_buffers.fcntl.fcntl

    def no_direct(fd: int, cmd: int, arg: int = 0) -> int:
        assert not (cmd == direct_buffers.fcntl.F_SETFL and arg & os.O_DIRECT)
        return real(fd, cmd, arg)

    monkeypatch.setattr(direct_buffers.fcntl, "fcntl", no_direct)
    monkeypatch.setattr(blob_fs_read, "cached_pages", lambda fd: None)
    path = tmp_path / "block"
    data = write(path, 4 * MIB)
    evict(path)
    files = BlockFiles()
    assert files.read(str(path)) == data
    assert files.direct  # not refused: only not asked


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no tmpfs at /dev/shm")
def test_tmpfs_is_read_plainly() -> None:
    # tmpfs refuses O_DIRECT: the store reads its blocks as before.
    path = Path("/dev/shm") / f"dolium-test-{os.getpid()}"
    try:
        data = write(path, 256 * 1024)
        files = BlockFiles()
        assert files.read(str(path)) == data
        assert files.read(str(path)) == data
    finally:
        path.unlink(missing_ok=True)


def test_the_kernel_says_what_the_page_cache_holds(tmp_path: Path) -> None:
    path = tmp_path / "block"
    write(path, 256 * 1024)
    path.read_bytes()
    held = pages_cached(path)
    if held is None:
        pytest.skip("no cachestat on this kernel")
    assert held * mmap.PAGESIZE == 256 * 1024
    evict(path)
    assert pages_cached(path) == 0
