"""Reading block files for the filesystem blob store: from the page cache
when the block is there, else straight from the disk.

A block file not in the page cache is read with O_DIRECT: the disk writes
into a page-aligned buffer lent by `direct_buffers`, and one copy makes the
bytes returned. Measured on a virtual disk here, 4 MiB blocks read so came at
1.0-2.7 GB/s on one thread for 22-50 ms of CPU per 256 MiB; a plain read of
them came at 0.9-1.2 GB/s for 110-140 ms of CPU, as it fills the page cache
and then copies out of it, and the cache's pages are allocated and freed
again for every block. Blocks are written without the page cache too
(blob_fs), so a block read soon after its upload is not there.

A block the page cache holds whole (one read often, or written by an older
release) is read from it with one plain read, as before, so that a hot
block costs no disk reads. Which it is, the kernel says (cachestat(2),
Linux 6.5, about 20 us through ctypes). Asking the cache itself (a read
with RWF_NOWAIT) was no substitute: when it misses it starts the kernel's
read-ahead, which doubled the CPU of a cold read (measured). Where
cachestat is missing (Linux before 6.5), every block file is read plainly,
as it was before direct reads.

Blocks smaller than DIRECT_MIN or larger than DIRECT_MAX,
and those of a file system that refuses O_DIRECT (tmpfs), are read with one
plain read. The bytes returned are always a private copy, never the
buffer: the core checks them against their digest and sends them, and
nothing may change them between the two.

This module must not import the core (it is part of a back end).
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import sys
from collections.abc import Callable
from typing import cast

from dolium.backends.direct_buffers import (
    DIRECT_ALIGN,
    DIRECT_MIN,
    O_DIRECT,
    aligned,
    lend,
    set_direct,
)

# Block files are never followed through a symlink, nor leaked to children.
O_SAFE = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
O_READ = os.O_RDONLY | O_SAFE
# The largest block read directly (so the largest buffer lent for it): a
# 4 MiB block with a module's overhead (a sealed block is a few bytes
# longer) fits with room to spare.
DIRECT_MAX = 8 * 1024 * 1024
# What refuses a direct read: the file system (EINVAL), or one that does
# not know the flag (EOPNOTSUPP).
_REFUSED = frozenset({errno.EINVAL, errno.EOPNOTSUPP})


# cachestat(2): the same number on every architecture Linux numbers anew.
_SYS_CACHESTAT = 451


class _Range(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


class _CacheStat(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in ("cache", "dirty", "writeback", "evicted", "recently_evicted")
    ]


def _syscall() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    # glibc's syscall() takes every argument as a long.
    call.argtypes = [
        ctypes.c_long,
        ctypes.c_long,
        ctypes.POINTER(_Range),
        ctypes.POINTER(_CacheStat),
        ctypes.c_long,
    ]
    call.restype = ctypes.c_long
    return cast(Callable[..., int], call)


_call = _syscall()


def cached_pages(fd: int) -> int | None:
    """How many of the file's pages the page cache holds; None if the kernel cannot say."""
    if _call is None:
        return None
    whole, found = _Range(0, 0), _CacheStat()
    if _call(_SYS_CACHESTAT, fd, ctypes.byref(whole), ctypes.byref(found), 0) != 0:
        return None
    return int(found.cache)


class BlockFiles:
    """Reads whole block files; remembers whether the file system takes O_DIRECT."""

    def __init__(self) -> None:
        self.direct = bool(O_DIRECT)

    def read(self, path: str) -> bytes:
        fd = os.open(path, O_READ)
        try:
            size = os.fstat(fd).st_size
            if self.direct and DIRECT_MIN <= size <= DIRECT_MAX and not _in_cache(fd, size):
                return self._read_aligned(fd, size)
            return _read_plain(fd, size)
        finally:
            os.close(fd)

    def _read_aligned(self, fd: int, size: int) -> bytes:
        with lend(size) as memory, memoryview(memory) as whole, whole[: aligned(size)] as view:
            done = self._from_disk(fd, view)
            if done < size:
                # Short of the size the file had when opened (it was cut
                # while read): what a plain read finds is what gets checked.
                return bytes(view[:done]) + _read_plain_at(fd, done)
            return bytes(view[:size])

    def _from_disk(self, fd: int, view: memoryview) -> int:
        """Read the file into `view` with O_DIRECT; how far it got (it may stop
        short where the file system refuses direct reads).

        O_DIRECT is cleared on `fd` again before this returns.
        """
        at = 0
        try:
            set_direct(fd, True)
            # A direct read may stop short of what was asked; it goes on
            # while it stops on an aligned offset (else it ended the file).
            while at < len(view) and at % DIRECT_ALIGN == 0:
                n = os.preadv(fd, [view[at:]], at)
                if n == 0:
                    break
                at += n
        except OSError as exc:
            if exc.errno not in _REFUSED:
                raise
            # This file system takes no direct reads: plain ones from now on.
            self.direct = False
        finally:
            set_direct(fd, False)
        return at


def _in_cache(fd: int, size: int) -> bool:
    """Whether the page cache holds the file whole; where the kernel cannot
    say, as if it did, so that a hot block is never read from the disk again."""
    pages = cached_pages(fd)
    return pages is None or pages * mmap.PAGESIZE >= size


def read_plain(path: str) -> bytes:
    """The whole file at `path`, through the page cache."""
    fd = os.open(path, O_READ)
    try:
        return _read_plain(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _read_plain(fd: int, size: int) -> bytes:
    # One read of the known size: no growing buffer, no copy when it comes
    # back whole, which it does for a regular file.
    data = os.read(fd, size)
    if len(data) == size:
        return data
    return data + _read_plain_at(fd, len(data))


def _read_plain_at(fd: int, offset: int) -> bytes:
    """The rest of the file from `offset`, however it comes."""
    parts = []
    while chunk := os.pread(fd, 1024 * 1024, offset):
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)
