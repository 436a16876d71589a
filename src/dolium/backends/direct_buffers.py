"""Direct (O_DIRECT) I/O for the fs block store: its flag, the smallest block
it is used for, and the page-aligned buffers it goes through.

Direct I/O wants memory aligned to the device's blocks, which `bytes` never
is, so each direct read or write goes through an anonymous mapping (page
aligned). Mapping a fresh one for every block costs a page fault per page;
keeping one per worker thread kept 4-8 MiB per thread for the life of the
process (measured: some 30 MiB more per server process after large
transfers, which no trim gives back). So buffers are lent from one pool
per process, and at most IDLE_MAX of them are kept between uses: a busy
stream reuses them. Once none has been lent for a while, the server's
memory trimmer lets them go too (`release_idle`), so that a server at rest
holds none.

This module must not import the core (it is part of a back end).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import threading
import time
from collections.abc import Iterator

O_DIRECT = getattr(os, "O_DIRECT", 0)
# 4096 meets the alignment of every common disk and file system; a stricter
# one refuses direct I/O (EINVAL), and the store does without from then on.
DIRECT_ALIGN = 4096
# Blocks below this are read and written through the page cache: for them
# the wait on the device costs more than the copy it saves, and they are rare.
DIRECT_MIN = 64 * 1024
# Buffers kept between uses, per process.
IDLE_MAX = 2


def set_direct(fd: int, on: bool) -> None:
    """Set or clear O_DIRECT on an open file."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | O_DIRECT if on else flags & ~O_DIRECT)


def aligned(size: int) -> int:
    """`size` rounded up to DIRECT_ALIGN."""
    return -(-size // DIRECT_ALIGN) * DIRECT_ALIGN


class _Pool:
    def __init__(self) -> None:
        self._idle: list[mmap.mmap] = []
        self._lock = threading.Lock()
        self._last_lent = 0.0  # time.monotonic() of the last lend

    @contextlib.contextmanager
    def lend(self, size: int) -> Iterator[mmap.mmap]:
        """A buffer of at least `size` bytes (rounded up to DIRECT_ALIGN), for the
        block only: every view of it must be released before the block ends."""
        need = aligned(size)
        with self._lock:
            self._last_lent = time.monotonic()
            fits = [b for b in self._idle if len(b) >= need]
            buffer = min(fits, key=len) if fits else None
            if buffer is not None:
                self._idle.remove(buffer)
        if buffer is None:
            # Private anonymous pages: page-aligned, and not shared memory.
            buffer = mmap.mmap(-1, need, flags=mmap.MAP_PRIVATE)
        try:
            yield buffer
        finally:
            self._give_back(buffer)

    def _give_back(self, buffer: mmap.mmap) -> None:
        with self._lock:
            self._idle.append(buffer)
            # The smallest go first: the largest serve any block.
            self._idle.sort(key=len, reverse=True)
            dropped = self._idle[IDLE_MAX:]
            del self._idle[IDLE_MAX:]
        for extra in dropped:
            extra.close()

    def release_idle(self, quiet: float) -> int:
        """Unmap the buffers kept if none has been lent for `quiet` seconds; the bytes freed."""
        with self._lock:
            if time.monotonic() - self._last_lent < quiet:
                return 0
            dropped, self._idle = self._idle, []
        freed = sum(len(b) for b in dropped)
        for buffer in dropped:
            buffer.close()
        return freed

    def idle(self) -> int:
        """Bytes kept between uses (for tests)."""
        with self._lock:
            return sum(len(b) for b in self._idle)


_pool = _Pool()
lend = _pool.lend
idle_bytes = _pool.idle
release_idle = _pool.release_idle
