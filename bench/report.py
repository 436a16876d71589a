"""Tables and a summary from the benchmark's results (the dict saved as JSON)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

MIB = 1024 * 1024


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "-"
    return f"{a / b:.2f}"


def _cpu(f: dict[str, Any]) -> str:
    if "server_cores" not in f:
        return "-"
    return f"{f['server_cores']:.1f}/{f['client_cores']:.1f}/{f['other_cores']:.1f}"


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


class Report:
    def __init__(self) -> None:
        wide = None if sys.stdout.isatty() else 160
        self.console = Console(width=wide, highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    def progress(self, what: str) -> None:
        self.err.print(f"[dim]{what}[/dim]")

    def line(self, text: str) -> None:
        self.console.print(text, markup=False)

    def table(self, title: str, columns: list[str]) -> Table:
        table = Table(title=title, title_justify="left", header_style="bold")
        for i, column in enumerate(columns):
            table.add_column(column, justify="left" if i < 2 else "right")
        return table

    # -- sections ---------------------------------------------------------------------

    def put_get(self, results: dict[str, Any], label: str, size_key: str) -> None:
        dolium = results.get("dolium", {})
        sink = results.get("sink", {})
        cases = [k for k in dolium if k.startswith(size_key)]
        if not cases:
            return
        small = size_key == "4KiB"
        rate = "ops/s" if small else "MB/s"
        field = "ops_per_s" if small else "mb_per_s"
        columns = ["op", "conc", rate, "p50 ms", "p99 ms", "peak RSS MiB", f"sink {rate}"]
        columns += ["dolium/sink", "CPU srv/cli/other"]
        disk = results.get("disk", {}).get("write_fsync_mb_per_s")
        if not small and disk:
            columns.append("PUT/disk")
        table = self.table(label, columns)
        for case in cases:
            conc = case.split("/c")[1]
            for op in ("put", "get"):
                d = dolium[case][op]
                s = sink.get(case, {}).get(op, {})
                row = [
                    op.upper(),
                    conc,
                    _num(d[field]),
                    _num(d["p50_ms"], 2),
                    _num(d["p99_ms"], 2),
                    _num(d.get("peak_rss_mib")),
                    _num(s.get(field)),
                    _ratio(d[field], s.get(field)),
                    _cpu(d),
                ]
                if not small and disk:
                    row.append(_ratio(d[field], disk) if op == "put" else "")
                if d["errors"]:
                    row[0] += f" ({d['errors']} errors)"
                table.add_row(*row)
        self.console.print(table)

    def big(self, results: dict[str, Any], rss_limit: int) -> None:
        big = results.get("big")
        if not big:
            return
        if "skipped" in big:
            self.line(f"streamed big object: skipped ({big['skipped']})")
            return
        up = big["upload"]
        title = (
            f"Streamed {up['bytes'] / MIB:,.0f} MiB object (upload: multipart, "
            f"{up['part_size_mib']} MiB parts x{up['concurrency']}; download: one GET)"
        )
        table = self.table(
            title,
            [
                "direction",
                "",
                "MB/s",
                "seconds",
                "RSS before",
                "peak RSS MiB",
                "RSS after",
                f"< {rss_limit // MIB} MiB",
                "CPU srv/cli/other",
            ],
        )
        for direction in ("upload", "download"):
            f = big[direction]
            ok = "yes" if f["peak_rss_mib"] * MIB <= rss_limit else "NO"
            extra = f"first byte {f['first_byte_ms']} ms" if "first_byte_ms" in f else ""
            table.add_row(
                direction,
                extra,
                _num(f["mb_per_s"]),
                _num(f["seconds"], 2),
                _num(f["rss_before_mib"]),
                _num(f["peak_rss_mib"]),
                _num(f["rss_after_mib"]),
                ok,
                _cpu(f),
            )
        self.console.print(table)

    def listing(self, results: dict[str, Any]) -> None:
        lst = results.get("list")
        if not lst:
            return
        table = self.table(
            "ListObjectsV2, first page of 1000 keys (20 calls; raw = signed GET, XML not parsed)",
            [
                "bucket",
                "keys",
                "boto3 p50 ms",
                "boto3 p99 ms",
                "ratio to 1k",
                "raw p50 ms",
                "raw p99 ms",
                "raw ratio to 1k",
                "peak RSS MiB",
            ],
        )
        base = lst["list-small"]
        for bucket in ("list-small", "list-big"):
            f = lst[bucket]
            table.add_row(
                bucket,
                _num(f["keys"]),
                _num(f["p50_ms"], 2),
                _num(f["p99_ms"], 2),
                _ratio(f["p50_ms"], base["p50_ms"]),
                _num(f.get("raw_p50_ms"), 2),
                _num(f.get("raw_p99_ms"), 2),
                _ratio(f.get("raw_p50_ms"), base.get("raw_p50_ms")),
                _num(f.get("peak_rss_mib")),
            )
        self.console.print(table)

    def inline(self, results: dict[str, Any]) -> None:
        store = results.get("inline")
        if not store:
            return
        table = self.table(
            "Inline threshold (DOLIUM_INLINE_THRESHOLD), PUT then GET of new objects",
            [
                "threshold",
                "object",
                "PUT/s c1",
                "GET/s c1",
                "PUT/s c16",
                "GET/s c16",
                "PUT p50 c1",
                "GET p50 c1",
                "list p50 boto3/raw",
                "peak RSS put/get",
                "peak RSS list",
            ],
        )
        for threshold, entry in store.items():
            for size in ("4KiB", "64KiB"):
                c1, c16 = entry.get(f"{size}/c1"), entry.get(f"{size}/c16")
                if c1 is None or c16 is None:
                    continue
                peak = max(f.get("peak_rss_mib", 0) for c in (c1, c16) for f in c.values())
                listing = entry[f"{size}/list"]
                table.add_row(
                    threshold,
                    size,
                    _num(c1["put"]["ops_per_s"]),
                    _num(c1["get"]["ops_per_s"]),
                    _num(c16["put"]["ops_per_s"]),
                    _num(c16["get"]["ops_per_s"]),
                    _num(c1["put"]["p50_ms"], 2),
                    _num(c1["get"]["p50_ms"], 2),
                    f"{_num(listing['p50_ms'])} / {_num(listing.get('raw_p50_ms'))}",
                    _num(peak),
                    _num(listing.get("peak_rss_mib")),
                )
        self.console.print(table)
        sizes = ", ".join(
            f"{t}: meta {e['meta_bytes'] / MIB:.1f} MiB, blocks {e['blocks_bytes'] / MIB:.1f} MiB"
            for t, e in store.items()
        )
        self.line(f"data on disk after the inline cases: {sizes}")

    def references(self, results: dict[str, Any]) -> None:
        disk = results.get("disk")
        table = self.table("Reference points", ["what", "", "value"])
        if disk:
            table.add_row(
                "raw disk",
                f"{disk['size_mib']} MiB write+fsync (median of {disk['reps']})",
                f"{disk['write_fsync_mb_per_s']:,.1f} MB/s",
            )
            if "blocks_mb_per_s" in disk:
                table.add_row(
                    "raw disk",
                    f"{disk['blocks_mib']} MiB as new 4 MiB files: write, fsync, rename, fsync dir",
                    f"{disk['blocks_mb_per_s']:,.1f} MB/s",
                )
            table.add_row(
                "raw disk",
                "4 KiB file: write, fsync, rename, fsync dir",
                f"{disk['small_file_ops_per_s']:,.0f} ops/s (p50 {disk['small_file_p50_ms']} ms)",
            )
        if "sink_idle_rss_mib" in results:
            table.add_row("bare uvicorn sink", "idle RSS", f"{results['sink_idle_rss_mib']} MiB")
        if "dolium_idle_rss_mib" in results:
            table.add_row("dolium serve", "idle RSS", f"{results['dolium_idle_rss_mib']} MiB")
        if table.row_count:
            self.console.print(table)

    def summary(self, results: dict[str, Any], rss_limit: int) -> None:
        lines = []
        dolium, sink = results.get("dolium", {}), results.get("sink", {})
        for case, field, unit in (
            ("4KiB/c16", "ops_per_s", "ops/s"),
            ("64MiB/c4", "mb_per_s", "MB/s"),
        ):
            if case in dolium:
                d = dolium[case]
                s = sink.get(case, {})
                text = (
                    f"{case}: PUT {d['put'][field]:,.0f} {unit}, GET {d['get'][field]:,.0f} {unit}"
                )
                if s:
                    text += (
                        f" ({_ratio(d['put'][field], s['put'][field])} and "
                        f"{_ratio(d['get'][field], s['get'][field])} of the bare sink)"
                    )
                lines.append(text)
        big = results.get("big", {})
        if "upload" in big:
            up, down = big["upload"], big["download"]
            worst = max(up["peak_rss_mib"], down["peak_rss_mib"])
            verdict = "within" if worst * MIB <= rss_limit else "ABOVE"
            lines.append(
                f"streamed {up['bytes'] / MIB:,.0f} MiB: up {up['mb_per_s']:,.0f} MB/s, "
                f"down {down['mb_per_s']:,.0f} MB/s; server peak RSS {worst} MiB, "
                f"{verdict} the {rss_limit // MIB} MiB limit"
            )
        lst = results.get("list")
        if lst:
            lines.append(
                f"listing: first page in {lst['list-big']['keys']:,} keys costs "
                f"{lst['ratio_big_small']}x the one in 1,000 keys"
            )
        inline = results.get("inline")
        if inline:
            best = {}
            for size in ("4KiB", "64KiB"):
                scores = {
                    t: e[f"{size}/c16"]["put"]["ops_per_s"] + e[f"{size}/c16"]["get"]["ops_per_s"]
                    for t, e in inline.items()
                    if f"{size}/c16" in e
                }
                if scores:
                    best[size] = max(scores, key=lambda t: scores[t])
            if best:
                lines.append(
                    "inline threshold with the most PUT+GET ops/s at concurrency 16: "
                    + ", ".join(f"{size}: {t}" for size, t in best.items())
                    + " (thresholds at or above an object's size take the same path:"
                    " between those, the difference is noise)"
                )
            for t, e in inline.items():
                worst = max((e[k].get("peak_rss_mib", 0), k) for k in e if k.endswith("/list"))
                if worst[0] * MIB > rss_limit:
                    lines.append(
                        f"inline threshold {t}: one ListObjectsV2 page ({worst[1]}) took the "
                        f"server to {worst[0]} MiB RSS: listings read the inline data"
                    )
        for failure in results.get("failures", []):
            lines.append(f"PROBLEM: {failure}")
        load = results.get("loadavg", {})
        if load:
            lines.append(
                f"machine load average {load.get('start')} at start, {load.get('end')} at end, "
                f"on {results.get('machine', {}).get('cpus')} CPUs; other work makes figures "
                "noisy (CPU column: cores used by server/client/everything else)"
            )
        lines.append(f"total time {results.get('total_seconds', 0):.0f} s")
        self.console.print("[bold]Summary[/bold]")
        for text in lines:
            self.line(f"  {text}")

    def render(self, results: dict[str, Any], rss_limit: int) -> None:
        self.put_get(results, "Small objects, 4 KiB (new keys, boto3)", "4KiB")
        self.put_get(results, "Large objects, 64 MiB (new keys, boto3)", "64MiB")
        self.big(results, rss_limit)
        self.listing(results)
        self.inline(results)
        self.references(results)
        self.summary(results, rss_limit)
