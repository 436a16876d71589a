"""The pool of page-aligned buffers for direct I/O: aligned, reused, and few kept idle."""

from __future__ import annotations

import ctypes
import mmap
import threading
from collections.abc import Iterator

import pytest

from dolium.backends import direct_buffers
from dolium.backends.direct_buffers import DIRECT_ALIGN, IDLE_MAX, aligned, idle_bytes, lend


@pytest.fixture(autouse=True)
def empty_pool() -> Iterator[None]:
    """Each test starts with no idle buffer (other tests' reads leave some)."""
    pool = direct_buffers._pool
    for buffer in pool._idle:
        buffer.close()
    pool._idle.clear()
    yield


def _address(buffer: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buffer))


def test_a_buffer_is_page_aligned_and_large_enough() -> None:
    with lend(5000) as buffer:
        assert len(buffer) == aligned(5000) == 2 * DIRECT_ALIGN
        address = _address(buffer)
        assert address % DIRECT_ALIGN == 0


def test_a_returned_buffer_is_lent_again() -> None:
    with lend(1 << 20) as first:
        first[:4] = b"seen"
    with lend(1 << 20) as again:
        assert again is first


def test_no_more_than_idle_max_are_kept() -> None:
    size = 3 * 1024 * 1024
    started = threading.Barrier(IDLE_MAX + 3)
    done = threading.Event()

    def hold() -> None:
        with lend(size):
            started.wait()
            done.wait()

    threads = [threading.Thread(target=hold) for _ in range(IDLE_MAX + 2)]
    for t in threads:
        t.start()
    started.wait()  # IDLE_MAX + 2 buffers lent at once
    done.set()
    for t in threads:
        t.join()
    assert idle_bytes() <= IDLE_MAX * max(aligned(size), 8 * 1024 * 1024)
    assert len(direct_buffers._pool._idle) <= IDLE_MAX


def test_a_small_need_takes_the_smallest_buffer_that_fits() -> None:
    with lend(8 * 1024 * 1024) as big, lend(64 * 1024) as small:
        big_id, small_id = id(big), id(small)
    with lend(4096) as again:
        assert id(again) == small_id
        assert id(again) != big_id


def test_idle_buffers_are_let_go_once_quiet() -> None:
    with lend(1 << 20):
        pass
    assert idle_bytes() == 1 << 20
    assert direct_buffers.release_idle(quiet=60.0) == 0  # lent just now: kept
    assert idle_bytes() == 1 << 20
    assert direct_buffers.release_idle(quiet=0.0) == 1 << 20
    assert idle_bytes() == 0
