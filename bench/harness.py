"""Processes under measurement, their memory, and the clients that drive them.

Servers run as child processes on 127.0.0.1 only: `dolium serve` on a data
directory of its own, the bare app of `sink.py`, or a reference server
(refservers.py). A sampler thread reads the memory (PSS) of the server (with
any children) every 100 ms, so each phase can report its peak. Set-up calls
(create a bucket, check an object) go through boto3; the timed traffic goes
through wrkgen.py or loadgen.py, and streams.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.config import Config as BotoConfig

ROOT_KEY = "DKROOTBENCHKEY000001"
ROOT_SECRET = "root-secret-for-benchmarks-only-00000000"
HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
MIB = 1024 * 1024


def dolium_binary() -> str:
    """`dolium` next to this interpreter (the venv), else the one on PATH."""
    here = Path(sys.executable).parent / "dolium"
    if here.exists():
        return str(here)
    found = shutil.which("dolium")
    if found is None:
        raise SystemExit("bench: `dolium` not found; run `make install` or use the venv's python")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class RssSampler:
    """Samples a process tree's memory every `interval` seconds in a thread.

    The memory of a tree is the sum of its processes' proportional set
    sizes (PSS): each page counted once in all, shared pages split among
    the processes that share them. A sum of RSS would count the code and
    heap that forked workers share with their parent once per process; for
    a single process, PSS is its RSS less its share of the libraries other
    programs map too.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def current(self) -> int:
        try:
            total = self.process.memory_full_info().pss
            for child in self.process.children(recursive=True):
                with suppress(psutil.NoSuchProcess):
                    total += child.memory_full_info().pss
        except psutil.NoSuchProcess:
            return 0
        return int(total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = self.current()
            with self._lock:
                self._peak = max(self._peak, rss)

    def reset(self) -> None:
        """Start a new phase: the peak is the current memory from now on."""
        rss = self.current()
        with self._lock:
            self._peak = rss

    def peak(self) -> int:
        rss = self.current()
        with self._lock:
            self._peak = max(self._peak, rss)
            return self._peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class CpuMeter:
    """CPU used by this process, by a server's process tree, and by everything else.

    The machine may be shared: CPU that neither the client nor the server
    used, averaged over the interval in cores, says how noisy a figure is.
    """

    def __init__(self, server_pid: int | None = None) -> None:
        self.server = psutil.Process(server_pid) if server_pid else None
        self.me = psutil.Process()
        # The servers are this process's children: their time is the server's,
        # not the client's.
        self._server_is_mine = self.server is not None and self.server.pid in {
            p.pid for p in self.me.children(recursive=True)
        }
        self._start = self._sample()

    def _tree(self, process: psutil.Process) -> float:
        """CPU seconds of `process`, its live descendants and the children they
        have waited for: a client that is a child process (wrk) has exited by
        the time the meter stops, and its time is then its parent's children_*."""
        total = 0.0
        with suppress(psutil.NoSuchProcess):
            for p in (process, *process.children(recursive=True)):
                with suppress(psutil.NoSuchProcess):
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
        return total

    def _sample(self) -> tuple[float, float, float, float]:
        machine = psutil.cpu_times()
        busy = sum(
            getattr(machine, name, 0.0)
            for name in ("user", "nice", "system", "irq", "softirq", "steal")
        )
        server = self._tree(self.server) if self.server is not None else 0.0
        client = self._tree(self.me) - (server if self._server_is_mine else 0.0)
        return time.perf_counter(), busy, client, server

    def stop(self) -> dict[str, float]:
        end = self._sample()
        wall = max(end[0] - self._start[0], 1e-9)
        busy, client, server = (end[i] - self._start[i] for i in (1, 2, 3))
        return {
            "client_cores": round(client / wall, 2),
            "server_cores": round(server / wall, 2),
            "other_cores": round(max(0.0, busy - client - server) / wall, 2),
        }


@dataclass
class Server:
    name: str
    endpoint: str
    process: subprocess.Popen[bytes]
    log: Path
    sampler: RssSampler
    data: Path | None = None
    access_key: str = ROOT_KEY
    secret_key: str = ROOT_SECRET
    clients: list[Any] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def client(self, index: int) -> Any:
        """The boto3 client of worker `index` (created once, kept for reuse)."""
        while len(self.clients) <= index:
            self.clients.append(make_client(self.endpoint, self.access_key, self.secret_key))
        return self.clients[index]

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {tail(self.log)}")


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def make_client(endpoint: str, access_key: str = ROOT_KEY, secret_key: str = ROOT_SECRET) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=BotoConfig(
            s3={"addressing_style": "path"},
            # Presigned URLs too: botocore presigns S3 with SigV2 unless told.
            signature_version="s3v4",
            retries={"max_attempts": 1},
            connect_timeout=10,
            read_timeout=300,
            max_pool_connections=16,
        ),
    )


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited at start: {tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start within 60 s: {tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(
    name: str,
    argv: list[str],
    port: int,
    log: Path,
    env: dict[str, str],
    data: Path | None,
    credentials: tuple[str, str] = (ROOT_KEY, ROOT_SECRET),
) -> Iterator[Server]:
    """Run `argv` (a server listening on `port` of 127.0.0.1) until the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_listening(port, process, log)
        sampler = RssSampler(process.pid)
        server = Server(name, f"http://{HOST}:{port}", process, log, sampler, data, *credentials)
        try:
            yield server
        finally:
            sampler.stop()
            for c in server.clients:
                c.close()
    finally:
        _stop(process)


@contextmanager
def dolium_server(
    data: Path, extra_env: dict[str, str] | None = None, workers: int | None = None
) -> Iterator[Server]:
    """`dolium serve` on `data`, with the bench's fixed root key and no collector;
    `workers`: its --workers option (None: the server's default)."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY,
            "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET,
            "DOLIUM_GC_INTERVAL": "0",
            "DOLIUM_LOG_LEVEL": "warning",
        }
    )
    env.update(extra_env or {})
    argv = [dolium_binary(), "serve", "--data", str(data), "--listen", f"{HOST}:{port}"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    log = data.parent / f"{data.name}.log"
    with serving("dolium", argv, port, log, env, data) as server:
        yield server


@contextmanager
def sink_server(workdir: Path, workers: int = 1) -> Iterator[Server]:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "sink.py"), "--port", str(port)]
    argv += ["--workers", str(workers)]
    with serving("bare", argv, port, workdir / "sink.log", dict(os.environ), None) as server:
        yield server


# -- measurement ------------------------------------------------------------------------


@dataclass
class Run:
    """What a timed batch of operations did."""

    ops: int
    seconds: float
    nbytes: int
    latencies: list[float]
    errors: int = 0
    first_error: str = ""

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / MIB / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in ms (nearest rank)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000


def run_workers(
    concurrency: int,
    count: int,
    budget: float,
    op: Callable[[int, int], int],
) -> Run:
    """Run `op(worker, i)` for i in 0..count-1 on `concurrency` threads.

    Each worker takes the next index until `count` is reached or `budget`
    seconds have passed; `op` returns the bytes it moved. Errors are counted,
    and the first one kept: a failed operation is not a latency.
    """
    lock = threading.Lock()
    counter = iter(range(count))
    latencies: list[float] = []
    moved = [0]
    errors: list[str] = []
    start = time.perf_counter()
    deadline = start + budget

    def take() -> int | None:
        with lock:
            if time.perf_counter() > deadline or len(errors) > 10:
                return None
            return next(counter, None)

    def worker(w: int) -> None:
        while (i := take()) is not None:
            t0 = time.perf_counter()
            try:
                n = op(w, i)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                moved[0] += n

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return Run(
        len(latencies), elapsed, moved[0], latencies, len(errors), errors[0] if errors else ""
    )


# -- data ---------------------------------------------------------------------------------

_BASE = os.urandom(MIB)


def stamp(buffer: bytearray, tag: int) -> None:
    """Make every MiB of `buffer` unique to `tag`, so no block is deduplicated."""
    for offset in range(0, len(buffer), MIB):
        mark = (tag << 32 | offset // MIB).to_bytes(16, "big")
        end = min(offset + 16, len(buffer))
        buffer[offset:end] = mark[: end - offset]


def random_buffer(size: int) -> bytearray:
    out = bytearray(size)
    for offset in range(0, size, MIB):
        piece = min(MIB, size - offset)
        out[offset : offset + piece] = _BASE[:piece]
    return out
