"""Soak: a live `dolium serve` under steady mixed traffic, watched for leaks.

Starts `dolium serve` on 127.0.0.1 with a fresh data directory, pre-fills
`--keys` objects, then runs GET 45%, HEAD 30%, PUT 15%, DELETE 10% over that
key space (bodies 1 KiB to 1 MiB, log-uniform, so small objects are as common
as large ones) on `--concurrency` boto3 clients, one per thread, for
`--duration` seconds. Every `--interval` seconds it samples the server's RSS,
open file descriptors, temporary files in the data directory, the SQLite WAL
size, and the window's ops/s, errors and latency p50/p99.

Verdict (exit 1 when it fails):
- no errors: only 5xx, connection errors and unexpected statuses count; a
  GET, HEAD or DELETE of a key that another worker deleted answers 404 (or
  204 for DELETE), which is expected;
- RSS, fds, temp files and WAL are flat: the last third's max is at most the
  first third's max x 1.2 plus a small slack (`SLACK`);
- no temporary file is left once the traffic has stopped.

A program, not a test: `make soak` runs it; it is never part of `make test`.

Usage: python bench/soak.py [--duration 600] [--concurrency 64] [--keys 2000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from botocore.exceptions import BotoCoreError, ClientError

from harness import MIB, Server, dolium_server, random_buffer, run_workers, stamp
from report import Report

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
BUCKET = "soak"
MIX = {"GET": 45, "HEAD": 30, "PUT": 15, "DELETE": 10}
# Statuses that are part of normal traffic over a shared key space.
EXPECTED = {"GET": {200, 404}, "HEAD": {200, 404}, "PUT": {200}, "DELETE": {204, 404}}
MIN_SIZE, MAX_SIZE = 1024, MIB
TEMP_SUFFIXES = (".tmp", ".trash", "-journal")
# Slack on top of x1.2 for "flat": noise that is not a leak (a checkpoint's
# worth of WAL; a few sockets; block writes in flight when the sample is taken).
GROWTH = 1.2
SLACK = {"rss": 16 * MIB, "fds": 8, "temp": 16, "wal": 4 * MIB}
SETTLE_S = 2.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Soak a real dolium server with mixed traffic.")
    p.add_argument("--duration", type=float, default=600.0, help="seconds of traffic (600)")
    p.add_argument("--concurrency", type=int, default=64, help="client threads (64)")
    p.add_argument("--keys", type=int, default=2000, help="key space, all pre-filled (2000)")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between samples (10)")
    p.add_argument("--seed", type=int, default=1, help="random seed of the traffic (1)")
    p.add_argument(
        "--gc-interval", default="60", help="server's DOLIUM_GC_INTERVAL, seconds (60; 0 = off)"
    )
    p.add_argument("--gc-grace", default="300", help="server's DOLIUM_GC_GRACE, seconds (300)")
    p.add_argument("--tmpdir", default=None, help="where the data directory goes ($TMPDIR or /tmp)")
    p.add_argument(
        "--out", type=Path, default=RESULTS, help="JSON results file (bench/results/soak.json)"
    )
    args = p.parse_args(argv)
    if args.duration <= 0 or args.interval <= 0 or args.concurrency <= 0 or args.keys <= 0:
        p.error("--duration, --interval, --concurrency and --keys must be positive")
    return args


def object_size(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))


def key_name(i: int) -> str:
    return f"obj/{i:06d}"


@dataclass
class Window:
    """What the workers did since the last sample."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Traffic:
    """Mixed traffic on worker threads until `stop` is set; counts per window."""

    def __init__(self, server: Server, keys: int, concurrency: int, seed: int) -> None:
        self.server = server
        self.keys = keys
        self.concurrency = concurrency
        self.seed = seed
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.window = Window()
        self.totals: dict[str, int] = {}
        self.errors: list[str] = []
        self.error_count = 0
        self.ops = 0
        self.threads = [
            threading.Thread(target=self._worker, args=(w,), name=f"soak-{w}", daemon=True)
            for w in range(concurrency)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=330)  # the clients' read timeout bounds a stuck call

    def take(self) -> Window:
        with self.lock:
            window, self.window = self.window, Window()
        return window

    def _record(self, op: str, status: str, latency: float | None, error: str | None) -> None:
        label = f"{op} {status}"
        with self.lock:
            self.totals[label] = self.totals.get(label, 0) + 1
            self.window.by_status[label] = self.window.by_status.get(label, 0) + 1
            if error is None:
                self.ops += 1
                if latency is not None:
                    self.window.latencies.append(latency)
            else:
                self.error_count += 1
                self.window.errors += 1
                if len(self.errors) < 10:
                    self.errors.append(f"{op}: {error}")

    def _worker(self, w: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + w)
        client = self.server.client(w)
        buffer = random_buffer(MAX_SIZE)
        ops, weights = list(MIX), list(MIX.values())
        n = 0
        while not self.stop.is_set():
            op = rng.choices(ops, weights)[0]
            key = key_name(rng.randrange(self.keys))
            n += 1
            t0 = time.perf_counter()
            try:
                status = self._call(client, op, key, rng, buffer, (w << 40) | n)
            except ClientError as exc:
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if status not in EXPECTED[op]:
                    self._record(op, str(status), None, f"{status} {exc}")
                    continue
            except (BotoCoreError, OSError, RuntimeError) as exc:
                self._record(op, "conn", None, f"{type(exc).__name__}: {exc}")
                continue
            if status not in EXPECTED[op]:
                self._record(op, str(status), None, f"unexpected status {status}")
                continue
            self._record(op, str(status), time.perf_counter() - t0, None)

    @staticmethod
    def _call(
        client: Any, op: str, key: str, rng: random.Random, buffer: bytearray, tag: int
    ) -> int:
        if op == "PUT":
            size = object_size(rng)
            stamp(buffer, tag)  # no two bodies alike, so nothing deduplicates
            r = client.put_object(Bucket=BUCKET, Key=key, Body=bytes(buffer[:size]))
        elif op == "GET":
            r = client.get_object(Bucket=BUCKET, Key=key)
            body = r["Body"]
            got = 0
            while chunk := body.read(MIB):
                got += len(chunk)
            body.close()
            if got != r["ContentLength"]:
                raise RuntimeError(f"GET {key}: {got} bytes, Content-Length {r['ContentLength']}")
        elif op == "HEAD":
            r = client.head_object(Bucket=BUCKET, Key=key)
        else:
            r = client.delete_object(Bucket=BUCKET, Key=key)
        return int(r["ResponseMetadata"]["HTTPStatusCode"])


# -- what the server holds ----------------------------------------------------------------


def server_fds(pid: int) -> int:
    total = 0
    with suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        for p in (process, *process.children(recursive=True)):
            with suppress(psutil.NoSuchProcess):
                total += p.num_fds()
    return total


def temp_files(data: Path) -> int:
    count = 0
    for _root, _dirs, files in os.walk(data):
        count += sum(1 for name in files if name.endswith(TEMP_SUFFIXES))
    return count


def wal_size(data: Path) -> int:
    total = 0
    for wal in data.glob("*-wal"):
        with suppress(OSError):
            total += wal.stat().st_size
    return total


def pct(latencies: list[float], q: float) -> float:
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank] * 1000


def sample(server: Server, data: Path, t: float, window: Window, seconds: float) -> dict[str, Any]:
    return {
        "t_s": round(t, 1),
        "rss": server.sampler.current(),
        "fds": server_fds(server.process.pid),
        "temp": temp_files(data),
        "wal": wal_size(data),
        "ops_per_s": round(len(window.latencies) / seconds, 1) if seconds > 0 else 0.0,
        "errors": window.errors,
        "p50_ms": round(pct(window.latencies, 50), 1),
        "p99_ms": round(pct(window.latencies, 99), 1),
    }


# -- verdict ------------------------------------------------------------------------------


def flatness(samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each resource: the first and last third's max, the limit, and whether it held."""
    third = max(1, len(samples) // 3)
    first, last = samples[:third], samples[-third:]
    out: dict[str, dict[str, Any]] = {}
    for name, slack in SLACK.items():
        head = max(s[name] for s in first)
        tail = max(s[name] for s in last)
        limit = head * GROWTH + slack
        out[name] = {"first_max": head, "last_max": tail, "limit": limit, "ok": tail <= limit}
    return out


def show(name: str, value: float) -> str:
    if name in ("rss", "wal"):
        return f"{value / MIB:.1f} MiB"
    return f"{value:.0f}"


def render(report: Report, result: dict[str, Any]) -> None:
    columns = ["t (s)", "PSS MiB", "fds", "temp", "WAL MiB", "ops/s", "errors", "p50 ms", "p99 ms"]
    table = report.table("soak samples", columns)
    for s in result["samples"]:
        table.add_row(
            f"{s['t_s']:.0f}",
            f"{s['rss'] / MIB:.1f}",
            str(s["fds"]),
            str(s["temp"]),
            f"{s['wal'] / MIB:.2f}",
            f"{s['ops_per_s']:.1f}",
            str(s["errors"]),
            f"{s['p50_ms']:.1f}",
            f"{s['p99_ms']:.1f}",
        )
    report.console.print(table)
    counts = report.table("responses", ["op status", "count"])
    for label, n in sorted(result["responses"].items()):
        counts.add_row(label, f"{n:,}")
    report.console.print(counts)
    flat = report.table(
        f"flat: last third max <= first third max x {GROWTH} + slack",
        ["resource", "first max", "last max", "limit", "ok"],
    )
    for name, f in result["flatness"].items():
        flat.add_row(
            name,
            show(name, f["first_max"]),
            show(name, f["last_max"]),
            show(name, f["limit"]),
            "yes" if f["ok"] else "NO",
        )
    report.console.print(flat)
    report.line(
        f"ops: {result['ops']:,} in {result['seconds']:.0f} s "
        f"({result['ops'] / max(result['seconds'], 1e-9):.1f}/s), errors: {result['errors']}, "
        f"temp files after the traffic: {result['temp_after']}"
    )
    for e in result["first_errors"]:
        report.line(f"  error: {e[:300]}")
    for f in result["failures"]:
        report.line(f"FAIL: {f}")
    report.line("verdict: " + ("FAIL" if result["failures"] else "PASS"))


# -- the run ------------------------------------------------------------------------------


def prefill(server: Server, keys: int, concurrency: int, seed: int) -> int:
    for w in range(concurrency):
        server.client(w)  # made here: Server.client is not safe to call from many threads
    client = server.client(0)
    with suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    buffers = [random_buffer(MAX_SIZE) for _ in range(concurrency)]

    def put(w: int, i: int) -> int:
        size = object_size(random.Random(seed * 7919 + i))
        stamp(buffers[w], (1 << 60) | i)
        server.client(w).put_object(Bucket=BUCKET, Key=key_name(i), Body=bytes(buffers[w][:size]))
        return size

    run = run_workers(concurrency, keys, 600.0, put)
    if run.errors or run.ops != keys:
        raise RuntimeError(f"pre-fill stored {run.ops} of {keys} keys: {run.first_error}")
    return run.nbytes


def soak(args: argparse.Namespace, workdir: Path, report: Report) -> dict[str, Any]:
    data = workdir / "data"
    env = {"DOLIUM_GC_INTERVAL": str(args.gc_interval), "DOLIUM_GC_GRACE": str(args.gc_grace)}
    with dolium_server(data, env) as server:
        report.progress(f"pre-filling {args.keys} keys on {server.endpoint}")
        t0 = time.perf_counter()
        nbytes = prefill(server, args.keys, args.concurrency, args.seed)
        report.progress(
            f"pre-filled {nbytes / MIB:.0f} MiB in {time.perf_counter() - t0:.1f} s; "
            f"traffic for {args.duration:.0f} s at concurrency {args.concurrency}"
        )
        traffic = Traffic(server, args.keys, args.concurrency, args.seed)
        samples: list[dict[str, Any]] = []
        start = time.perf_counter()
        last = start
        traffic.start()
        try:
            while (now := time.perf_counter()) - start < args.duration:
                wake = min(last + args.interval, start + args.duration)
                time.sleep(max(0.0, wake - now))
                server.check_alive()
                now = time.perf_counter()
                s = sample(server, data, now - start, traffic.take(), now - last)
                last = now
                samples.append(s)
                print(
                    f"t={s['t_s']:.0f}s pss={s['rss'] / MIB:.0f}MiB fds={s['fds']} "
                    f"temp={s['temp']} wal={s['wal'] / MIB:.1f}MiB ops/s={s['ops_per_s']} "
                    f"errors={s['errors']} p50={s['p50_ms']}ms p99={s['p99_ms']}ms",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            traffic.join()
        seconds = time.perf_counter() - start
        time.sleep(SETTLE_S)
        server.check_alive()
        temp_after = temp_files(data)
    result: dict[str, Any] = {
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"
        }
        | {"mix": MIX, "sizes": [MIN_SIZE, MAX_SIZE], "slack": SLACK, "growth": GROWTH},
        "samples": samples,
        "ops": traffic.ops,
        "seconds": round(seconds, 1),
        "errors": traffic.error_count,
        "first_errors": traffic.errors,
        "responses": traffic.totals,
        "temp_after": temp_after,
        "flatness": flatness(samples) if samples else {},
    }
    failures = []
    if traffic.error_count:
        failures.append(f"{traffic.error_count} errors (5xx, connection or unexpected status)")
    for name, f in result["flatness"].items():
        if not f["ok"]:
            failures.append(
                f"{name} grew: last third max {show(name, f['last_max'])} > "
                f"limit {show(name, f['limit'])}"
            )
    if len(samples) < 3:
        failures.append(f"only {len(samples)} samples: run longer than 3 x --interval")
    if temp_after:
        failures.append(f"{temp_after} temp files left after the traffic stopped")
    result["failures"] = failures
    return result


def main() -> None:
    args = parse_args()
    base = args.tmpdir or os.environ.get("TMPDIR") or "/tmp"
    workdir = Path(tempfile.mkdtemp(prefix="dolium-soak-", dir=base))
    report = Report()
    try:
        result = soak(args, workdir, report)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(report, result)
    report.line(f"results: {args.out}")
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()
