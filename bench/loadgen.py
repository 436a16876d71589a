"""A load generator that is not the bottleneck: raw keep-alive HTTP/1.1 over asyncio.

Each connection is one coroutine on one socket: it writes a request made of
pre-built bytes (a presigned URL needs no signing per request), reads the
status line, the headers and a Content-Length body, and goes on with the
next. No HTTP library sits in the way; with uvloop one client process sends
tens of thousands of small requests a second. Several processes can share a
run (`procs`); each takes its share of the connections and of the requests.

Usage from the bench: `run_load(endpoint_host, port, requests, concurrency,
procs)` where `requests` is a list of (method, path_and_query, body). The
connections of a process take the next request of the list as they become
free, cycling through it, until `count` requests have been answered or
`seconds` have passed; with `count == len(requests)` each request is sent
exactly once (process p of n sends requests p, p+n, p+2n...). With `expect_length`, a GET
answered 200 with a body of another length counts as an error.
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


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, int, bool]:
    """The status of the next response, the length of its body (read and dropped),
    and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = False
    # Some servers (moto's werkzeug) answer each request on a connection of its own.
    close = lines[0].startswith(b"HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif lowered == b"connection":
            close = b"close" in value.lower()
    if method == "HEAD":
        return status, 0, close
    if chunked:
        length = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            length += size
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, length, close


async def _connection(
    host: str,
    port: int,
    wire: Sequence[tuple[str, bytes]],
    taken: list[int],
    count: int,
    deadline: float,
    result: LoadResult,
    expect_length: int | None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while taken[0] < count and time.perf_counter() < deadline:
            method, data = wire[taken[0] % len(wire)]
            taken[0] += 1
            began = time.perf_counter()
            try:
                writer.write(data)
                status, length, close = await _read_response(reader, method)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
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
            elif method == "GET" and expect_length is not None and length != expect_length:
                result.errors += 1
                result.first_error = result.first_error or (
                    f"GET answered {length} bytes, not {expect_length}"
                )
            else:
                result.ops += 1
    finally:
        writer.close()


async def _drive(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    count: int,
    seconds: float,
    expect_length: int | None = None,
) -> LoadResult:
    wire = [(m, encode(host, port, (m, t, b))) for m, t, b in requests]
    result = LoadResult()
    taken = [0]  # requests handed out; coroutines of one loop need no lock
    began = time.perf_counter()
    deadline = began + seconds
    await asyncio.gather(
        *(
            _connection(host, port, wire, taken, count, deadline, result, expect_length)
            for _ in range(connections)
        )
    )
    result.seconds = time.perf_counter() - began
    return result


def _worker(
    args: tuple[str, int, Sequence[Request], int, int, float, int | None],
) -> LoadResult:
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
    expect_length: int | None = None,
) -> LoadResult:
    """Send `count` requests over `concurrency` keep-alive connections (spread
    over `procs` processes); stop early after `seconds`."""
    procs = max(1, min(procs, concurrency))
    jobs = []
    for p in range(procs):
        share = count // procs + (1 if p < count % procs else 0)
        connections = concurrency // procs + (1 if p < concurrency % procs else 0)
        mine = requests[p::procs]
        jobs.append((host, port, mine, connections, share, seconds, expect_length))
    if procs == 1:
        return _worker(jobs[0])
    total = LoadResult()
    with multiprocessing.get_context("fork").Pool(procs) as pool:
        for part in pool.map(_worker, jobs):
            total.merge(part)
    return total
