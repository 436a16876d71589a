"""loadgen.run_load's work done by wrk: the same requests, a client that costs less CPU.

On a 2-core machine the load generator, the server and everything else share
the cores; a client in C (wrk, with a LuaJIT script: wrkgen.lua) leaves the
server more of them than the Python generator does, so the bare app's
ceiling rises well above Dolium's rate.

`run_load` has loadgen's signature and semantics: the requests (method,
path with query, body) are sent in order and cycled through, thread t of n
sending requests t, t+n, ... (loadgen's processes do the same), until
`count` have been answered or `seconds` have passed; statuses are counted,
a status >= 300 is an error, and so is a GET body of another length than
`expect_length`. Latencies come from wrk's histogram (1 µs buckets), so
LoadResult's percentiles and `merge` work as for loadgen.

What wrk cannot do goes to loadgen.py instead:
- HEAD: wrk's HTTP parser waits for the body a HEAD answer's Content-Length
  announces, and never sends another request on that connection;
- a list of several methods: wrk does not tell which request a response
  answers, so a status or a body length could not be tied to its method.

A request lost to a socket error is never answered, and a server that
refuses connections answers none: the thread then runs until `seconds`,
and wrk's socket errors are counted as errors.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import loadgen
from loadgen import LoadResult, Request

SCRIPT = Path(__file__).resolve().parent / "wrkgen.lua"
# wrk's main thread sleeps for its whole --duration; the script wakes it with
# SIGINT when every thread has answered its share, but a signal that comes
# before wrk waits for it is lost. So, from the moment every thread is done,
# it is sent again this often until wrk has exited.
RESEND = 0.05


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    """wrk's version line (`wrk -v` prints it before its usage, and exits 1)."""
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def sends(requests: Sequence[Request]) -> bool:
    """Whether wrk sends these requests itself (else run_load hands them to loadgen.py)."""
    methods = {method for method, _, _ in requests}
    return len(methods) == 1 and "HEAD" not in methods


def threads_for(concurrency: int, jobs: int) -> int:
    """wrk's threads: two share the connections when they split evenly (wrk
    gives each thread connections // threads), one otherwise; no more than
    `jobs` (requests to send, distinct requests), so none is left without."""
    threads = 2 if concurrency >= 2 and concurrency % 2 == 0 else 1
    return max(1, min(threads, jobs))


def _write_share(
    path: Path, requests: Sequence[Request], threads: int, share: int, expect: int, host: str
) -> None:
    """One thread's requests in the form wrkgen.lua reads (described there)."""
    with path.open("wb") as f:
        f.write(f"{threads} {share} {expect} {host}\n".encode("latin-1"))
        for method, target, body in requests:
            f.write(f"{method} {target} {len(body)}\n".encode("latin-1"))
            f.write(body)


def _run_wrk(argv: list[str], workdir: Path, threads: int) -> dict[str, Any]:
    env = dict(os.environ, WRKGEN_DIR=str(workdir))
    log = workdir / "wrk.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            done_since: float | None = None
            while True:
                try:
                    proc.wait(timeout=RESEND)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if done_since is None:
                    if all((workdir / f"done-{t}").exists() for t in range(threads)):
                        done_since = time.monotonic()
                elif time.monotonic() - done_since >= RESEND:
                    proc.send_signal(signal.SIGINT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    result = workdir / "result.json"
    if proc.returncode != 0 or not result.exists():
        text = log.read_text(errors="replace").strip()
        raise RuntimeError(f"wrk exited with {proc.returncode}: {text[-500:]}")
    parsed: dict[str, Any] = json.loads(result.read_text())
    return parsed


def uncorrected(
    buckets: list[tuple[int, int]], duration_us: int, completed: int, connections: int
) -> dict[int, int]:
    """wrk's latency histogram as measured, before its coordinated-omission correction.

    Before done(), wrk adds to the histogram, for each latency n >= 2e (e
    being the mean interval between two requests of a connection), as many
    samples again at n-e, n-2e, ... down to above e. loadgen.py records
    latencies as measured; so does this, undoing those additions from the
    top down (an index only ever receives from higher ones).
    """
    data = dict(buckets)
    per_connection = completed // connections
    if per_connection == 0 or sum(data.values()) == completed:
        return data
    e = duration_us // per_connection
    original: dict[int, int] = {}
    above: dict[int, int] = {}  # by residue mod e: original samples above the current index
    for n in sorted(data, reverse=True):
        added = above.get(n % e, 0) if n > e else 0
        original[n] = data[n] - added
        above[n % e] = above.get(n % e, 0) + original[n]
    if any(v < 0 for v in original.values()) or sum(original.values()) != completed:
        raise RuntimeError("wrk's latency histogram does not undo to its request count")
    return {n: v for n, v in original.items() if v}


def _result(raw: dict[str, Any], connections: int) -> LoadResult:
    result = LoadResult()
    started = [t["started"] for t in raw["threads"] if t["started"] >= 0]
    ended = [t["last_answer"] for t in raw["threads"] if t["last_answer"] >= 0]
    result.seconds = max(ended) - min(started) if started and ended else 0.0
    for t in raw["threads"]:
        result.ops += t["ok"]
        result.errors += t["errors"]
        result.first_error = result.first_error or t["first_error"]
        for status, n in t["statuses"].items():
            result.statuses[int(status)] = result.statuses.get(int(status), 0) + n
    socket_errors = raw["socket_errors"]
    lost = sum(socket_errors.values())
    if lost:
        result.errors += lost
        result.first_error = result.first_error or "wrk socket errors: " + ", ".join(
            f"{kind} {n}" for kind, n in socket_errors.items()
        )
    histogram = uncorrected(
        [(int(v), int(n)) for v, n in raw["latency_us"]],
        raw["duration_us"],
        raw["requests"],
        connections,
    )
    for value, n in sorted(histogram.items()):
        result.latencies.extend([value / 1e6] * n)
    return result


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
    """Send `count` requests over `concurrency` keep-alive connections with wrk;
    stop early after `seconds`. `procs` is loadgen's: wrk's threads follow
    from the concurrency (threads_for)."""
    if not sends(requests):
        return loadgen.run_load(
            host,
            port,
            requests,
            concurrency=concurrency,
            count=count,
            seconds=seconds,
            procs=procs,
            expect_length=expect_length,
        )
    if count <= 0:
        return LoadResult()
    method = requests[0][0]
    expect = expect_length if method == "GET" and expect_length is not None else -1
    threads = threads_for(concurrency, min(count, len(requests)))
    # A latency can last no longer than the run; wrk drops longer ones from
    # its histogram (and keeps one bucket per microsecond up to this timeout).
    duration = max(1, math.ceil(seconds))
    with tempfile.TemporaryDirectory(prefix="wrkgen-") as tmp:
        workdir = Path(tmp)
        for t in range(threads):
            share = count // threads + (1 if t < count % threads else 0)
            path = workdir / f"thread-{t}.req"
            _write_share(path, requests[t::threads], threads, share, expect, f"{host}:{port}")
        argv = [
            "wrk",
            f"--threads={threads}",
            f"--connections={concurrency}",
            f"--duration={duration}s",
            f"--timeout={duration + 1}s",
            f"--script={SCRIPT}",
            f"http://{host}:{port}/",
        ]
        raw = _run_wrk(argv, workdir, threads)
    return _result(raw, concurrency)
