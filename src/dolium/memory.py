"""Keeping a worker's memory near what it uses, on glibc.

Large transfers move 4 MiB blocks through buffers that glibc's malloc hands
out and takes back. What it takes back it mostly keeps: in the arenas of the
threads that hashed or read blocks, and in the holes between live objects of
the main heap. A worker that had streamed a few large objects held tens of
MiB it no longer used, and the server's memory grew with every kind of large
request it had served (measured by bench/run.py). Two remedies:

- one arena (`limit_malloc_arenas`), set before any thread starts;
- `trim_forever`: a background task that asks malloc to give free pages
  back to the system (`malloc_trim`) every second while the process is
  well above the smallest size a trim has left it at. A trim made during a
  transfer frees little, so it is tried again after. Trimming while
  requests run is safe (malloc locks each arena as it goes) and costs well
  under a millisecond when there is nothing to give back (measured: 0.2 ms
  with 150 MB of live objects), in a worker thread.

Nothing is done off glibc (musl and others return memory on their own terms).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import sys
from collections.abc import Callable, Sequence

# glibc's mallopt parameter for the number of malloc arenas.
M_ARENA_MAX = -8
MALLOC_ARENAS = 1
# Seconds between looks at the resident size, and how far above its floor
# (bytes) it must be for a trim.
TRIM_INTERVAL = 1.0
TRIM_GROWTH = 16 * 1024 * 1024


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has both; musl has neither
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> None:
    """Cap glibc's malloc arenas, as MALLOC_ARENA_MAX=1 would.

    By default glibc gives threads up to 8 arenas per core, and each arena
    keeps what was freed in it. Worker threads read and hash 4 MiB blocks,
    so a server that had streamed a few large objects held some 80 MiB it
    no longer used. With two arenas it still held about 20 MiB per worker
    process: the free space at the top of an arena other than the main one
    goes back only when a free leaves more there than the trim threshold,
    which glibc raises to twice the largest block it had mapped (8 MiB), and
    `malloc_trim` trims the main arena's top alone. One arena is the main
    one, which the trimmer empties. It costs no measurable speed: the
    threads that allocate hold the GIL while they do, and small allocations
    come from each thread's cache without the arena's lock (measured: the
    same CPU per GiB for 256 MiB PUTs and GETs on 1 and 4 streams).

    Must be called before any other thread allocates: arenas made before
    the call stay, and threads started later take them up again. Nothing is
    done when MALLOC_ARENA_MAX is set.
    """
    libc = _libc()
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    libc.mallopt(M_ARENA_MAX, arenas)


def resident_bytes() -> int:
    """This process's resident set size (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def trimmer() -> Callable[[], int] | None:
    """A function that gives free heap pages back and returns the new RSS, or None off glibc."""
    libc = _libc()
    if libc is None:
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    trim = libc.malloc_trim

    def run() -> int:
        trim(0)
        return resident_bytes()

    return run


async def trim_forever(
    interval: float = TRIM_INTERVAL,
    growth: int = TRIM_GROWTH,
    also: Sequence[Callable[[], object]] = (),
) -> None:
    """Trim the heap every `interval` while the RSS is `growth` above its floor.

    The floor is the smallest RSS seen at start or after a trim. `also`: what
    else gives memory back, called every `interval` before the RSS is read
    (buffers kept for reuse that have not been used for a while).
    """
    trim = trimmer()
    if trim is None:
        return
    floor = resident_bytes()
    while True:
        await asyncio.sleep(interval)
        for release in also:
            release()
        if resident_bytes() - floor >= growth:
            floor = min(floor, await asyncio.to_thread(trim))
