"""A load generator that is not the bottleneck: raw keep-alive HTTP/1.1 over asyncio.

Each connection is one coroutine on one socket: it writes a request made of
pre-built bytes (a presigned URL needs no signing per request), reads the
status line, the headers and a Content-Length body, and goes on with the
next. No HTTP library sits in the way; with uvloop one client process sends
tens of thousands of small requests a second. Several processes can share a
run (`procs`); each takes its share of the connections and of the requests.

Usage from the bench: `run_load(endpoint_host, port, requests, concurrency,
procs)` where `requests` is a list of (method, path_and_query, body) and
connection i sends requests i, i+c, i+2c... cycling until `count` requests
have been answered or `seconds` have passed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

Request = tuple[str, str, bytes]  # method, path with query, body


@dataclass
class LoadResult:
    ops: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in ms (nearest rank)."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    def merge(self, other: LoadResult) -> None:
        self.ops += other.ops
        self.seconds = max(self.seconds, other.seconds)
        self.latencies.extend(other.latencies)
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error
        for status, n in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + n


def encode(host: str, port: int, request: Request) -> bytes:
    method, target, body = request
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if body or method in ("PUT", "POST"):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("latin-1") + b"\r\n" + body


async def _read_response(reader: asyncio.StreamReader, method: str) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if method == "HEAD":
        return status
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _connection(
    host: str,
    port: int,
    wire: Sequence[tuple[str, bytes]],
    start: int,
    step: int,
    quota: list[int],
    deadline: float,
    result: LoadResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    index = start
    try:
        while quota[0] > 0 and time.perf_counter() < deadline:
            quota[0] -= 1
            method, data = wire[index % len(wire)]
            index += step
            began = time.perf_counter()
            try:
                writer.write(data)
                status = await _read_response(reader, method)
            except (OSError, asyncio.IncompleteReadError, ValueError) as e:
                result.errors += 1
                result.first_error = result.first_error or f"{type(e).__name__}: {e}"
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.latencies.append(time.perf_counter() - began)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 300:
                result.errors += 1
                result.first_error = result.first_error or f"HTTP {status} for {method}"
            else:
                result.ops += 1
    finally:
        writer.close()


async def _drive(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: range,
    step: int,
    count: int,
    seconds: float,
) -> LoadResult:
    wire = [(m, encode(host, port, (m, t, b))) for m, t, b in requests]
    result = LoadResult()
    quota = [count]
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(
        *(_connection(host, port, wire, i, step, quota, deadline, result) for i in connections)
    )
    result.seconds = time.perf_counter() - began
    return result


def _worker(args: tuple[str, int, Sequence[Request], range, int, int, float]) -> LoadResult:
    try:
        import uvloop

        return uvloop.run(_drive(*args))
    except ImportError:
        return asyncio.run(_drive(*args))


def run_load(
    host: str,
    port: int,
    requests: Sequence[Request],
    *,
    concurrency: int,
    count: int,
    seconds: float = 60.0,
    procs: int = 1,
) -> LoadResult:
    """Send `count` requests over `concurrency` keep-alive connections (spread
    over `procs` processes); stop early after `seconds`."""
    procs = max(1, min(procs, concurrency))
    jobs = []
    for p in range(procs):
        share = count // procs + (1 if p < count % procs else 0)
        mine = range(p, concurrency, procs)
        jobs.append((host, port, requests, mine, concurrency, share, seconds))
    if procs == 1:
        return _worker(jobs[0])
    total = LoadResult()
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for part in pool.map(_worker, jobs):
            total.merge(part)
    return total
