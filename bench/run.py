"""Dolium benchmark: a real `dolium serve` on 127.0.0.1, beside the servers it is judged against.

In one invocation, with the same client and the same workloads:

- Dolium (`dolium serve`, started by harness.py);
- the bare app of sink.py on the same HTTP stack (uvicorn, uvloop, Dolium's
  httptools protocol): the ceiling of the client and of HTTP on this
  machine; when it is not several times Dolium's rate, Dolium's figures
  measure the client;
- moto's server and s3rver (refservers.py), unless --no-refs.

Workloads (phases, for --only):
- machine: one core's MD5 and SHA-256 MB/s; 4 KiB write+fsync+rename ops/s
  in the data directory's file system (machine.py);
- small: 4 KiB PUT / GET / HEAD / DELETE at concurrency 1, 16, 64 from the
  load generator (smallops.py; --loadgen: wrk through wrkgen.py where wrk is
  installed, else the Python one, loadgen.py);
- large: PUT then GET of 256 MiB objects on 1 and 4 streams (streams.py);
- list: first ListObjectsV2 page in buckets of 10k and of --list-keys keys
  (listing.py; the references are filled over HTTP and skip the big one);
- big: one streamed 5 GiB PUT with Dolium's peak memory (PSS) (references skip it).
- audit: the 4 KiB small phase at 16 and 64 connections on two fresh Dolium
  servers side by side, one sealing its audit log (the default) and one with
  `audit = "off"`: what recording every change costs the writes.
- scale: the 4 KiB small phase at 16 and 64 connections on SQLite + fs and
  on PostgreSQL + fs with 1, 2 and 4 server processes, fresh servers one
  after the other: how throughput scales with processes (scaleout.py).
- modules: put and get of 4 MiB blocks through each storage module
  (compress, encrypt, replicate 3, erasure 4+2, and compress + encrypt over
  each of the last two) and through a plain store, over fs and over memory,
  in this process (modules.py).

Prints tables and the targets with a pass / MISS mark, and writes
bench/results/latest.json. A program, not a test: a missed target is a
figure; it exits non-zero only when Dolium or the bare app misbehaves
(errors, wrong bytes). A reference server's errors are shown as warnings.

Usage: python bench/run.py [--quick] [--only small,list] [--no-refs] [--loadgen wrk|python] ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

from dolium.config import default_workers
from dolium.units import parse_size
from harness import MIB, Server, dolium_server, sink_server
from listing import (
    BIG_BUCKET,
    SMALL_BUCKET,
    check_filled,
    fill_over_http,
    filled_data_dir,
    first_page_latency,
)
from loadgen import Request
from machine import describe, durable_block_writes, durable_small_writes, hash_rates
from modules import run_modules
from refservers import NAMES, missing, reference_server
from report import Report
from scaleout import CONCURRENCIES as SCALE_CONCURRENCIES
from scaleout import SETUPS, environment
from smallops import BUCKET, ensure_bucket, presigner, run_small
from streams import big_upload, run_streams
from targets import evaluate
from wrkgen import available as wrk_available
from wrkgen import version as wrk_version

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PHASES = ("machine", "small", "large", "list", "big", "audit", "scale", "modules")
# The writes the audit phase compares, with the audit log and without.
AUDIT_CONCURRENCIES = (16, 64)
CONCURRENCIES = (1, 16, 64)
STREAMS = (1, 4)
# The bare app answers a 4 KiB request in a fraction of Dolium's time: it gets
# the same requests this many times over, so that its runs last long enough
# to be measured.
BARE_REPEAT = 10


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark dolium beside reference servers.")
    p.add_argument("--quick", action="store_true", help="small counts and sizes: a smoke run")
    p.add_argument("--only", default=",".join(PHASES), help=f"phases, of {','.join(PHASES)}")
    p.add_argument("--no-refs", action="store_true", help="skip moto and s3rver")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of dolium serve and of the bare app (default: one per core)",
    )
    p.add_argument(
        "--ops", type=int, default=None, help="requests per small-object case (2000; quick 300)"
    )
    p.add_argument(
        "--stream-size",
        type=parse_size,
        default=None,
        help="object of the stream cases (256MiB; quick 64MiB)",
    )
    p.add_argument(
        "--list-keys",
        type=int,
        default=None,
        help="keys in the big list bucket (1000000; quick 20000)",
    )
    p.add_argument("--list-calls", type=int, default=50, help="first pages timed per bucket (50)")
    p.add_argument(
        "--big-size", type=parse_size, default=None, help="the streamed upload (5GiB; quick 512MiB)"
    )
    p.add_argument(
        "--loadgen",
        choices=("wrk", "python"),
        default=None,
        help="load generator of the small phase: wrk (the default where it is installed; "
        "HEAD still goes through the Python one) or python (bench/loadgen.py)",
    )
    p.add_argument("--load-procs", type=int, default=1, help="Python load generator processes (1)")
    p.add_argument(
        "--budget", type=float, default=120.0, help="seconds per small-object case at most (120)"
    )
    p.add_argument("--tmpdir", default=None, help="where data directories go ($TMPDIR or /tmp)")
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("TMPDIR") or "/tmp") / "dolium-bench-cache",
        help="where the filled list buckets are kept between runs (/tmp/dolium-bench-cache)",
    )
    p.add_argument(
        "--out", type=Path, default=RESULTS, help="JSON results (bench/results/latest.json)"
    )
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "ops": 300 if quick else 2000,
        "stream_size": 64 * MIB if quick else 256 * MIB,
        "list_keys": 20_000 if quick else 1_000_000,
        "big_size": 512 * MIB if quick else 5 * 1024 * MIB,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.workers is None:
        # Dolium's own default, said out loud: the bare app runs as many.
        args.workers = default_workers()
    args.only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = set(args.only) - set(PHASES)
    if unknown:
        p.error(f"--only: unknown {', '.join(sorted(unknown))} (use {', '.join(PHASES)})")
    if args.list_keys < 10_000:
        p.error("--list-keys: at least 10000 (the small bucket holds 10000)")
    if args.loadgen is None:
        # wrk runs in a process of its own, outside this one and its samplers.
        args.loadgen = "wrk" if wrk_available() else "python"
        if args.loadgen == "python":
            print(
                "note: wrk not found, the small phase uses the Python load generator "
                "(make bench-tools installs wrk)",
                file=sys.stderr,
            )
    elif args.loadgen == "wrk" and not wrk_available():
        p.error("--loadgen wrk: wrk is not installed (make bench-tools installs it)")
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.report = Report()
        self.results: dict[str, Any] = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": describe(),
            "settings": {
                k: getattr(args, k)
                for k in ("quick", "only", "no_refs", "workers", "ops", "stream_size", "list_keys")
            }
            | {
                "list_calls": args.list_calls,
                "big_size": args.big_size,
                "load_procs": args.load_procs,
                "loadgen": args.loadgen,
                "loadgen_version": wrk_version() if args.loadgen == "wrk" else None,
            },
            "small": {},
            "large": {},
            "list": {},
            "idle_rss_mib": {},
            "warnings": [],
        }
        self.failures: list[str] = []
        self.sent: dict[int, dict[str, list[Request]]] = {}

    def wants(self, phase: str) -> bool:
        return phase in self.args.only

    def save(self) -> None:
        out: Path = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=2, default=str) + "\n")
        tmp.replace(out)

    def step(self, what: str, action: Callable[[], Any]) -> Any:
        self.report.progress(f"{time.strftime('%H:%M:%S')} {what}")
        return action()

    def _errors(self, server: str, what: str, figures: dict[str, Any], serious: bool) -> None:
        for case, f in figures.items():
            if f.get("errors"):
                text = f"{server} {what} {case}: {f['errors']} errors ({f.get('first_error', '')})"
                (self.failures if serious else self.results["warnings"]).append(text)

    def _section(self, name: str, serious: bool, body: Callable[[], None]) -> None:
        """Run one server's part; an error ends that part only."""
        try:
            body()
        except Exception as exc:
            first = str(exc).strip().splitlines()
            text = f"{name}: {type(exc).__name__}: {first[-1] if first else ''}"
            (self.failures if serious else self.results["warnings"]).append(text)
            self.report.progress(f"{name} failed: {exc}")
        self.save()

    # -- phases ------------------------------------------------------------------------

    def machine(self) -> None:
        points = self.step("machine: MD5 and SHA-256 of 64 MiB on one core", hash_rates)
        points["fsync_4k"] = self.step(
            "machine: 4 KiB write+fsync+rename in the data directory's file system",
            lambda: durable_small_writes(self.workdir, 100 if self.args.quick else 500),
        )
        points["fsync_blocks"] = self.step(
            "machine: 4 MiB blocks through the fs block store, two at once, in the data directory",
            lambda: durable_block_writes(self.workdir, (256 if self.args.quick else 1024) * MIB),
        )
        self.results["reference_points"] = points

    def _small(self, server: Server, name: str, serious: bool) -> None:
        a = self.args
        figures, sent = self.step(
            f"{name}: 4 KiB PUT/GET/HEAD/DELETE x{a.ops} at concurrency {CONCURRENCIES}",
            lambda: run_small(
                server,
                CONCURRENCIES,
                a.ops,
                a.budget,
                lambda c: a.load_procs,
                generator=a.loadgen,
            ),
        )
        if name == "dolium":
            self.sent = sent
        self.results["small"][name] = figures
        self._errors(name, "4 KiB", figures, serious)

    def _large(self, server: Server, name: str, serious: bool, bare: bool = False) -> None:
        a = self.args
        if not bare:
            ensure_bucket(server, BUCKET)
        figures = self.step(
            f"{name}: {a.stream_size // MIB} MiB PUT and GET on {STREAMS} streams",
            lambda: run_streams(
                server, presigner(server), BUCKET, a.stream_size, STREAMS, bare=bare
            ),
        )
        self.results["large"][name] = figures
        self._errors(name, "stream", figures, serious)

    def dolium(self) -> None:
        a = self.args
        data = self.workdir / "dolium"
        if self.wants("list"):
            info = self.step(
                f"dolium: data directory with list buckets of 10,000 and {a.list_keys:,} keys "
                f"(filled offline through the meta store, cached in {a.cache})",
                lambda: filled_data_dir(a.cache, self.workdir, a.list_keys),
            )
            self.results["list"]["fill"] = info
        else:
            data.mkdir(parents=True)
        with dolium_server(data, workers=a.workers) as server:
            self.results["idle_rss_mib"]["dolium"] = round(server.sampler.current() / MIB, 1)
            if self.wants("list"):
                self._section("dolium list", True, lambda: self._list_dolium(server))
            if self.wants("small"):
                self._section("dolium small", True, lambda: self._small(server, "dolium", True))
            if self.wants("large"):
                self._section("dolium large", True, lambda: self._large(server, "dolium", True))
            if self.wants("big"):
                self._section("dolium big", True, lambda: self._big(server))
        shutil.rmtree(data, ignore_errors=True)

    def _fresh_small(
        self, name: str, env: dict[str, str], workers: int | None, concurrencies: tuple[int, ...]
    ) -> dict[str, Any]:
        """The 4 KiB requests at `concurrencies` on a fresh server of their own."""
        a = self.args
        data = self.workdir / name.replace(" ", "-").replace("+", "-")
        data.mkdir(parents=True)
        try:
            with dolium_server(data, env, workers=workers) as server:
                figures, _ = self.step(
                    f"dolium, {name}: 4 KiB requests at {concurrencies}",
                    lambda: run_small(
                        server,
                        concurrencies,
                        a.ops,
                        a.budget,
                        lambda c: a.load_procs,
                        generator=a.loadgen,
                    ),
                )
                self._errors(f"dolium ({name})", "4 KiB", figures, True)
                return figures  # type: ignore[no-any-return]
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def audit_cost(self) -> None:
        out: dict[str, Any] = {}
        for label, env in (("on", {}), ("off", {"DOLIUM_AUDIT": "off"})):
            out[label] = self._fresh_small(
                f"audit log {label}", env, self.args.workers, AUDIT_CONCURRENCIES
            )
        self.results["audit"] = out

    def scale(self) -> None:
        out: dict[str, Any] = {}
        self.results["scale"] = out
        for label, meta, processes in SETUPS:
            out[label] = self._fresh_small(label, environment(meta), processes, SCALE_CONCURRENCIES)
            self.save()

    def modules(self) -> None:
        count = 8 if self.args.quick else 48
        self.results["modules"] = self.step(
            f"modules: {count} blocks of 4 MiB through each storage module and a plain store",
            lambda: run_modules(self.workdir, count),
        )

    def _list_dolium(self, server: Server) -> None:
        self.step(
            "dolium: HEAD, GET and LIST of filled keys",
            lambda: check_filled(server, self.args.list_keys),
        )
        out = {}
        for label, bucket in (("10k", SMALL_BUCKET), ("big", BIG_BUCKET)):
            out[label] = self.step(
                f"dolium: first page x{self.args.list_calls} in {bucket}",
                partial(first_page_latency, server, bucket, self.args.list_calls),
            )
        out["big"]["keys"] = self.args.list_keys
        out["10k"]["keys"] = 10_000
        self.results["list"]["dolium"] = out
        self._errors("dolium", "list", out, True)

    def _big(self, server: Server) -> None:
        a = self.args
        free = shutil.disk_usage(self.workdir).free
        if free < a.big_size * 1.2 + 2 * 1024 * MIB:
            self.results["big"] = {"skipped": f"only {free // MIB} MiB free in {self.workdir}"}
            return
        ensure_bucket(server, BUCKET)
        self.results["big"] = self.step(
            f"dolium: one streamed PUT of {a.big_size / MIB:,.0f} MiB, server memory (PSS) sampled",
            lambda: big_upload(server, presigner(server), BUCKET, a.big_size),
        )

    def bare(self) -> None:
        with sink_server(self.workdir, self.args.workers) as server:
            self.results["idle_rss_mib"]["bare"] = round(server.sampler.current() / MIB, 1)
            if self.wants("small") and self.sent:
                repeated = {
                    c: {op: r * BARE_REPEAT for op, r in ops.items()}
                    for c, ops in self.sent.items()
                }

                def small() -> None:
                    figures, _ = self.step(
                        f"bare: the same 4 KiB requests, x{BARE_REPEAT}",
                        lambda: run_small(
                            server,
                            CONCURRENCIES,
                            self.args.ops,
                            self.args.budget,
                            lambda c: self.args.load_procs,
                            bare=True,
                            requests_from=repeated,
                            generator=self.args.loadgen,
                        ),
                    )
                    self.results["small"]["bare"] = figures
                    self._errors("bare", "4 KiB", figures, True)

                self._section("bare small", True, small)
            if self.wants("large"):
                self._section(
                    "bare large", True, lambda: self._large(server, "bare", True, bare=True)
                )

    def reference(self, name: str) -> None:
        why = missing(name)
        if why:
            self.results.setdefault("refs_missing", {})[name] = why
            self.results["warnings"].append(f"{name}: {why}")
            return

        def run() -> None:
            server: AbstractContextManager[Server] = reference_server(name, self.workdir)
            with server as s:
                self.results["idle_rss_mib"][name] = round(s.sampler.current() / MIB, 1)
                if self.wants("small"):
                    self._section(f"{name} small", False, lambda: self._small(s, name, False))
                if self.wants("large"):
                    self._section(f"{name} large", False, lambda: self._large(s, name, False))
                if self.wants("list"):
                    self._section(f"{name} list", False, lambda: self._list_reference(s, name))

        self._section(name, False, run)
        shutil.rmtree(self.workdir / f"{name}-data", ignore_errors=True)

    def _list_reference(self, server: Server, name: str) -> None:
        ensure_bucket(server, SMALL_BUCKET)
        fill = self.step(
            f"{name}: filling {SMALL_BUCKET} with 10,000 keys over HTTP",
            lambda: fill_over_http(server, SMALL_BUCKET, 10_000, 900),
        )
        f = self.step(
            f"{name}: first page x{self.args.list_calls} in {SMALL_BUCKET}",
            lambda: first_page_latency(server, SMALL_BUCKET, self.args.list_calls),
        )
        f.update(fill, keys=10_000)
        self.results["list"][name] = {"10k": f}
        self._errors(name, "list", {"10k": f}, False)

    def run(self) -> int:
        t0 = time.perf_counter()
        self.results["loadavg"] = {"start": round(os.getloadavg()[0], 2)}
        if self.wants("machine"):
            self._section("machine", True, self.machine)
        self._section("dolium", True, self.dolium)
        if self.wants("audit"):
            self._section("audit", True, self.audit_cost)
        if self.wants("scale"):
            self._section("scale", True, self.scale)
        if self.wants("modules"):
            self._section("modules", True, self.modules)
        if self.wants("small") or self.wants("large"):
            self._section("bare", True, self.bare)
        if not self.args.no_refs and any(self.wants(p) for p in ("small", "large", "list")):
            for name in NAMES:
                self.reference(name)
        self.results["total_seconds"] = round(time.perf_counter() - t0, 1)
        self.results["loadavg"]["end"] = round(os.getloadavg()[0], 2)
        self.results["targets"] = evaluate(self.results)
        self.results["failures"] = self.failures
        self.save()
        self.report.render(self.results)
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
