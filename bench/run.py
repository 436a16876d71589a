"""Dolium benchmark: a real `dolium serve` on 127.0.0.1, driven over HTTP by boto3.

Prints tables of ops/s, MB/s, p50/p99 latency and the server's peak RSS for:
small (4 KiB) and large (64 MiB) PUT/GET at several concurrencies; a big
streamed upload and download (5 GiB by default) with the server's RSS
sampled every 100 ms; the first-page latency of ListObjectsV2 in a small and
a big bucket; the inline threshold (0, 16 KiB, 64 KiB) on 4 KiB and 64 KiB
objects. Reference runs in the same process tree give ratios: a bare uvicorn
sink/source app on the same machine, and raw disk write+fsync.

Results go to bench/results/latest.json as well. A program, not a test: it
asserts nothing on time; it exits non-zero only if the server misbehaves
(errors, or a big transfer's peak RSS above --rss-limit).

Usage: python bench/run.py [--quick] [--big-size 5GiB] [--list-keys 200000] ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dolium.config import parse_size
from harness import MIB, dir_size, dolium_server, sink_server
from report import Report
from workloads import big_stream, ensure_bucket, fill_buckets, list_latency, put_get, raw_disk

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PHASES = ("disk", "sink", "small", "large", "big", "list", "inline")
SMALL = 4 * 1024
LARGE = 64 * MIB


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark a real dolium server over HTTP.")
    p.add_argument("--quick", action="store_true", help="small counts and sizes: a smoke run")
    p.add_argument(
        "--big-size", type=parse_size, default=None, help="streamed object (5GiB; --quick 256MiB)"
    )
    p.add_argument(
        "--big-part-size", type=parse_size, default=8 * MIB, help="multipart part size (8MiB)"
    )
    p.add_argument("--big-concurrency", type=int, default=10, help="parts in flight (boto3: 10)")
    p.add_argument(
        "--list-keys", type=int, default=None, help="keys in the big bucket (200000; --quick 5000)"
    )
    p.add_argument(
        "--ops", type=int, default=None, help="small-object ops per case (2000; --quick 100)"
    )
    p.add_argument(
        "--large-count", type=int, default=None, help="64 MiB objects per case (8; --quick 2)"
    )
    p.add_argument(
        "--inline-ops", type=int, default=None, help="ops per inline case (1000; --quick 100)"
    )
    p.add_argument(
        "--thresholds",
        default="0,16384,65536",
        help="inline thresholds to compare, bytes (0,16384,65536)",
    )
    p.add_argument(
        "--budget", type=float, default=None, help="seconds per case at most (120; --quick 30)"
    )
    p.add_argument(
        "--rss-limit", type=parse_size, default=200 * MIB, help="server RSS limit (200MiB)"
    )
    p.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}"
    )
    p.add_argument("--tmpdir", default=None, help="where the data directories go ($TMPDIR or /tmp)")
    p.add_argument(
        "--out", type=Path, default=RESULTS, help="JSON results file (bench/results/latest.json)"
    )
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "big_size": 256 * MIB if quick else 5 * 1024 * MIB,
        "list_keys": 5_000 if quick else 200_000,
        "ops": 100 if quick else 2000,
        "large_count": 2 if quick else 8,
        "inline_ops": 100 if quick else 1000,
        "budget": 30.0 if quick else 120.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        p.error(f"--phases: unknown {', '.join(sorted(unknown))} (use {', '.join(PHASES)})")
    args.thresholds = [parse_size(x) for x in args.thresholds.split(",") if x.strip()]
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.report = Report()
        self.results: dict[str, Any] = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "settings": {
                "quick": args.quick,
                "big_size": args.big_size,
                "big_part_size": args.big_part_size,
                "big_concurrency": args.big_concurrency,
                "list_keys": args.list_keys,
                "ops": args.ops,
                "large_count": args.large_count,
                "inline_ops": args.inline_ops,
                "thresholds": args.thresholds,
                "budget_s": args.budget,
                "client": "boto3, one client per thread",
            },
        }
        self.failures: list[str] = []

    def wants(self, phase: str) -> bool:
        return phase in self.args.phases

    def save(self) -> None:
        out: Path = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=2) + "\n")
        tmp.replace(out)

    def step(self, what: str, action: Callable[[], Any]) -> Any:
        self.report.progress(what)
        return action()

    # -- phases ----------------------------------------------------------------------

    def disk(self) -> None:
        self.results["disk"] = self.step(
            "raw disk: 64 MiB write+fsync, 4 KiB durable files",
            lambda: raw_disk(
                self.workdir,
                LARGE,
                3 if self.args.quick else 5,
                200,
                (64 if self.args.quick else 1024) * MIB,
            ),
        )
        self.save()

    def cases(self) -> list[tuple[str, int, int, int]]:
        a = self.args
        out = []
        if self.wants("small"):
            out += [("4KiB", SMALL, c, a.ops) for c in (1, 16)]
        if self.wants("large"):
            out += [("64MiB", LARGE, 1, a.large_count), ("64MiB", LARGE, 4, a.large_count * 2)]
        return out

    def put_get_cases(self, server: Any, section: str) -> None:
        ensure_bucket(server, "bench")
        store = self.results.setdefault(section, {})
        for label, size, conc, count in self.cases():
            what = f"{server.name}: {label} PUT+GET x{count}, concurrency {conc}"
            figures = self.step(
                what,
                lambda size=size, conc=conc, count=count, label=label: put_get(
                    server, "bench", size, conc, count, self.args.budget, f"{label}c{conc}"
                ),
            )
            store[f"{label}/c{conc}"] = figures
            for op, f in figures.items():
                if f["errors"]:
                    self.failures.append(f"{what} {op}: {f['errors']} errors ({f['first_error']})")
            self.save()

    def sink(self) -> None:
        if not self.cases():
            return
        with sink_server(self.workdir) as server:
            self.put_get_cases(server, "sink")
            self.results["sink_idle_rss_mib"] = round(server.sampler.current() / MIB, 1)

    def dolium(self) -> None:
        a = self.args
        data = self.workdir / "main"
        if self.wants("list"):
            fill = self.step(
                f"filling list buckets (1000 and {a.list_keys} keys) through the meta store",
                lambda: fill_buckets(data, {"list-small": 1000, "list-big": a.list_keys}),
            )
            self.results["list_fill_seconds"] = {k: round(v, 1) for k, v in fill.items()}
        data.mkdir(parents=True, exist_ok=True)
        with dolium_server(data) as server:
            self.results["dolium_idle_rss_mib"] = round(server.sampler.current() / MIB, 1)
            self.put_get_cases(server, "dolium")
            if self.wants("big"):
                self.big(server)
            if self.wants("list"):
                self.listing(server)
        shutil.rmtree(data, ignore_errors=True)

    def big(self, server: Any) -> None:
        a = self.args
        free = shutil.disk_usage(self.workdir).free
        if free < a.big_size * 1.2 + 2 * 1024 * MIB:
            self.results["big"] = {"skipped": f"only {free // MIB} MiB free in {self.workdir}"}
            return
        ensure_bucket(server, "big")
        result = self.step(
            f"dolium: streamed {a.big_size / MIB:.0f} MiB upload and download",
            lambda: big_stream(
                server, "big", a.big_size, a.big_part_size, a.big_concurrency, a.budget * 10
            ),
        )
        self.results["big"] = result
        for direction, f in result.items():
            if f["peak_rss_mib"] * MIB > a.rss_limit:
                self.failures.append(
                    f"big {direction}: server peak RSS {f['peak_rss_mib']} MiB "
                    f"is above the {a.rss_limit // MIB} MiB limit"
                )
        self.save()

    def listing(self, server: Any) -> None:
        calls = 20
        out = {}
        for bucket, keys in (("list-small", 1000), ("list-big", self.args.list_keys)):
            out[bucket] = self.step(
                f"dolium: ListObjectsV2 first page x{calls} in {bucket}",
                lambda bucket=bucket: list_latency(server, bucket, calls, self.args.budget),
            )
            out[bucket]["keys"] = keys
        small, big = out["list-small"]["p50_ms"], out["list-big"]["p50_ms"]
        out["ratio_big_small"] = round(big / small, 2) if small else None
        self.results["list"] = out
        self.save()

    def inline(self) -> None:
        a = self.args
        store: dict[str, Any] = {}
        self.results["inline"] = store
        for threshold in a.thresholds:
            data = self.workdir / f"inline-{threshold}"
            data.mkdir(parents=True)
            env = {"DOLIUM_INLINE_THRESHOLD": str(threshold)}
            entry: dict[str, Any] = {}
            with dolium_server(data, env) as server:
                for size in (SMALL, 64 * 1024):
                    bucket = f"inline-{size}"
                    ensure_bucket(server, bucket)
                    for conc in (1, 16):
                        what = f"inline {threshold}: {size // 1024} KiB PUT+GET, concurrency {conc}"
                        entry[f"{size // 1024}KiB/c{conc}"] = self.step(
                            what,
                            lambda size=size, conc=conc, bucket=bucket: put_get(
                                server, bucket, size, conc, a.inline_ops, a.budget, f"i{conc}"
                            ),
                        )
                    entry[f"{size // 1024}KiB/list"] = list_latency(server, bucket, 20, a.budget)
            entry["meta_bytes"] = sum(
                dir_size(p) if p.is_dir() else p.stat().st_size for p in data.glob("meta.sqlite3*")
            )
            entry["blocks_bytes"] = dir_size(data / "blocks")
            store[str(threshold)] = entry
            shutil.rmtree(data, ignore_errors=True)
            self.save()

    def run(self) -> int:
        t0 = time.perf_counter()
        self.results["loadavg"] = {"start": round(os.getloadavg()[0], 2)}
        sections = (
            (self.wants("disk"), "raw disk", self.disk),
            (self.wants("sink"), "sink", self.sink),
            (any(self.wants(p) for p in ("small", "large", "big", "list")), "dolium", self.dolium),
            (self.wants("inline"), "inline threshold", self.inline),
        )
        for wanted, name, section in sections:
            if not wanted:
                continue
            try:
                section()
            except Exception as exc:  # one broken section must not hide the others' figures
                first = str(exc).strip().splitlines()
                self.failures.append(f"{name}: {type(exc).__name__}: {first[-1] if first else ''}")
                self.report.progress(f"{name} failed: {exc}")
        self.results["total_seconds"] = round(time.perf_counter() - t0, 1)
        self.results["loadavg"]["end"] = round(os.getloadavg()[0], 2)
        self.results["failures"] = self.failures
        self.save()
        self.report.render(self.results, self.args.rss_limit)
        self.report.line(f"results: {self.args.out}")
        return 1 if self.failures else 0


def main() -> None:
    args = parse_args()
    base = args.tmpdir or os.environ.get("TMPDIR") or "/tmp"
    workdir = Path(tempfile.mkdtemp(prefix="dolium-bench-", dir=base))
    try:
        status = Bench(args, workdir).run()
    except KeyboardInterrupt:
        status = 130
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
