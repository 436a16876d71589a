"""Several server processes on one listening socket, and one of them running the jobs.

A Python process uses one core for its requests. `serve` with `workers` > 1
binds the socket once, then forks that many processes that accept on it
(each with its own event loop, caches and connections to the stores, which
must be stores that processes can share: SQLite or PostgreSQL, and blocks
on a file system). The parent only watches: a worker that dies is started
again, and the parent's end (SIGINT, SIGTERM) ends them all. A worker whose
parent is gone (killed with SIGKILL) is ended by the kernel, so a restarted
server never finds the old workers still serving.

Background jobs (garbage collection, lifecycle rules, event delivery) are
correct when several processes run them, but need run only once: the
process that holds the jobs lease in the meta store runs them (see
dolium.core.jobs.lease), whether its peers are workers on this machine or
servers on others. What belongs to one data directory (the spool of server
access log records its processes append to) is delivered by the worker
that holds the data directory's lock (an exclusive flock on a file in it).
The kernel releases the lock when its holder ends; the others try again
every JOBS_RETRY seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO

log = logging.getLogger("dolium.workers")

JOBS_RETRY = 5.0  # seconds between a worker's attempts to take the data directory's lock
RESTART_DELAY = 1.0  # seconds before a dead worker is started again
STARTUP_FAILURE = 3  # a worker's exit status when it could not start (as uvicorn's)
PR_SET_PDEATHSIG = 1


def bind(host: str, port: int) -> socket.socket:
    """The socket every worker accepts on: bound, but listening only once the
    first worker is ready (the event loop's server calls listen()), so that a
    connection is refused, not left waiting, while the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def run_workers(workers: int, serve_one: Callable[[], None]) -> int:
    """Fork `workers` processes running `serve_one` (blocking until the end).

    `serve_one` raises SystemExit(STARTUP_FAILURE) when its server cannot
    start: then the others are stopped too, and that is the exit status
    returned (a bad config would fail the same way again and again).
    """
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False
    parent = os.getpid()

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = 0
            try:
                serve_one()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", number)
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = number

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # What the parent holds is shared with the workers until one writes to
    # it. The cyclic collector would write to every object it tracks on its
    # passes (and copy each page it touches into the worker); frozen, the
    # objects made before the fork are left out of them. Measured: two
    # workers after a few thousand small requests, 175 -> 141 MiB (PSS of
    # the three processes).
    gc.collect()
    gc.freeze()
    for number in range(workers):
        start(number)
    result = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children:
            continue
        number = children.pop(pid)
        if stopping:
            continue
        if os.waitstatus_to_exitcode(status) == STARTUP_FAILURE:
            result = STARTUP_FAILURE
            stop(signal.SIGTERM, None)
            continue
        log.error("worker %d ended (status %d); starting it again", number, status)
        time.sleep(RESTART_DELAY)
        if not stopping:
            start(number)
    return result


class JobsLock:
    """The data directory's jobs lock, held by at most one process at a time."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "jobs.lock"
        self._file: IO[bytes] | None = None

    def try_take(self) -> bool:
        if self._file is not None:
            return True
        f = self._path.open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            return False
        self._file = f
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None
