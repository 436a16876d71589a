"""Tables from the benchmark's results (the dict saved as JSON); soak.py uses `table` too."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
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

    def machine(self, results: dict[str, Any]) -> None:
        m = results.get("machine", {})
        table = self.table("Machine", ["what", "", "value"])
        table.add_row("CPU", f"{m.get('cores')} cores", str(m.get("cpu")))
        table.add_row("memory", "", f"{m.get('ram_gib')} GiB")
        table.add_row("kernel", "", f"{m.get('kernel')} ({m.get('os')})")
        table.add_row(
            "software",
            "",
            f"python {m.get('python')}, uvicorn {m.get('uvicorn')}, uvloop {m.get('uvloop')}, "
            f"httptools {m.get('httptools')}; dolium {m.get('dolium_commit')}",
        )
        table.add_row("command", "", str(m.get("command")))
        load = results.get("loadavg", {})
        table.add_row("load average", "start / end", f"{load.get('start')} / {load.get('end')}")
        points = results.get("reference_points", {})
        if points:
            table.add_row("one core", "MD5 of 64 MiB", f"{_num(points['md5_mb_per_s'])} MB/s")
            table.add_row(
                "one core", "SHA-256 of 64 MiB", f"{_num(points['sha256_mb_per_s'])} MB/s"
            )
            f = points["fsync_4k"]
            table.add_row(
                "data disk",
                "4 KiB write+fsync+rename+fsync dir",
                f"{_num(f['ops_per_s'])} ops/s (p50 {f['p50_ms']} ms)",
            )
            b = points.get("fsync_blocks")
            if b:
                table.add_row(
                    "data disk",
                    f"{b['block_mib']} MiB blocks through the fs store, {b['at_once']} at once"
                    + (" (direct writes)" if b.get("direct") else " (buffered writes)"),
                    f"{_num(b['mb_per_s'])} MB/s; CPU per GiB: user {b['user_s_per_gib']} s, "
                    f"system {b['system_s_per_gib']} s",
                )
        idle = results.get("idle_rss_mib", {})
        if idle:
            each = ", ".join(f"{k} {v} MiB" for k, v in idle.items())
            table.add_row("idle memory (PSS)", "", each)
        self.console.print(table)

    def _servers(self, section: dict[str, Any]) -> list[str]:
        return [s for s in ("dolium", "bare", "moto", "s3rver") if s in section]

    def _generators(self, small: dict[str, Any], settings: dict[str, Any]) -> str:
        """Which load generator sent the requests: the one chosen, and the ops it
        handed to the Python one (wrk cannot read a HEAD answer)."""
        if settings.get("loadgen", "python") == "python":
            return "the Python load generator (bench/loadgen.py)"
        # escape: wrk's version line holds "[epoll]", which rich would take for markup.
        chosen = escape(f"{settings.get('loadgen_version') or 'wrk'} (bench/wrkgen.py)")
        by_python = sorted(
            {
                case.split("/c")[0]
                for case, f in small["dolium"].items()
                if f.get("loadgen") == "python"
            }
        )
        if not by_python:
            return chosen
        return f"{chosen}; {', '.join(by_python)} from bench/loadgen.py"

    def small(self, results: dict[str, Any]) -> None:
        small = results.get("small", {})
        servers = self._servers(small)
        if "dolium" not in small:
            return
        columns = ["op", "conc"]
        for s in servers:
            columns += [f"{s} ops/s", f"{s} p50/p99 ms"]
        generators = self._generators(small, results.get("settings", {}))
        table = self.table(
            f"4 KiB objects: presigned requests from {generators} "
            "(bare = uvicorn hello-world GET / sink PUT: the ceiling)",
            columns,
        )
        for case in small["dolium"]:
            op, conc = case.split("/c")
            row = [op, conc]
            for s in servers:
                f = small[s].get(case)
                if f is None:
                    row += ["-", "-"]
                    continue
                rate = _num(f["ops_per_s"])
                if f.get("errors"):
                    rate += f" ({f['errors']} err)"
                row += [rate, f"{f['p50_ms']:.2f} / {f['p99_ms']:.2f}"]
            table.add_row(*row)
        self.console.print(table)

    def large(self, results: dict[str, Any]) -> None:
        large = results.get("large", {})
        servers = self._servers(large)
        if not servers:
            return
        size = results.get("settings", {}).get("stream_size", 0)
        columns = ["op", "streams"] + [f"{s} MB/s" for s in servers] + ["dolium peak PSS MiB"]
        table = self.table(
            f"{size / MIB:,.0f} MiB objects, one raw-socket stream per object "
            "(bare = uvicorn sink / zeros source)",
            columns,
        )
        cases = next(iter(large.values())).keys()
        for case in cases:
            op, n = case.split("/s")
            row = [op, n]
            for s in servers:
                f = large[s].get(case, {})
                row.append("error" if f.get("errors") else _num(f.get("mb_per_s")))
            row.append(_num(large.get("dolium", {}).get(case, {}).get("peak_rss_mib")))
            table.add_row(*row)
        self.console.print(table)

    def listing(self, results: dict[str, Any]) -> None:
        lst = results.get("list", {})
        rows = [(s, lst[s]) for s in ("dolium", "moto", "s3rver") if s in lst]
        if not rows:
            return
        table = self.table(
            "ListObjectsV2, first page (max-keys 1000), one request at a time on a kept connection",
            ["server", "keys", "p50 ms", "p99 ms", "keys on page", "calls", "filled"],
        )
        fill = lst.get("fill", {})
        for server, entry in rows:
            for label in ("10k", "big"):
                f = entry.get(label)
                if f is None:
                    if label == "big":
                        table.add_row(
                            server,
                            "big",
                            "skipped: filling it over HTTP takes too long",
                            "",
                            "",
                            "",
                            "",
                        )
                    continue
                how = (
                    f"offline, {fill.get('fill_seconds')} s"
                    if server == "dolium"
                    else f"HTTP, {f.get('fill_seconds')} s"
                )
                table.add_row(
                    server,
                    _num(f.get("keys")),
                    f"{f['p50_ms']:.2f}",
                    f"{f['p99_ms']:.2f}",
                    _num(f.get("keys_on_page")),
                    _num(f.get("ops")),
                    how,
                )
        self.console.print(table)

    def audit(self, results: dict[str, Any]) -> None:
        audit = results.get("audit")
        if not audit or "on" not in audit or "off" not in audit:
            return
        table = self.table(
            "4 KiB requests with the audit log sealed (default) and with audit = off, "
            "fresh servers side by side",
            ["op", "conc", "audit on ops/s", "audit off ops/s", "on / off"],
        )
        for key in audit["on"]:
            on, off = audit["on"][key]["ops_per_s"], audit["off"].get(key, {}).get("ops_per_s")
            op, _, conc = key.partition("/c")
            ratio = f"{on / off:.2f}" if off else "-"
            table.add_row(op, conc, _num(on), _num(off) if off else "-", ratio)
        self.console.print(table)

    def scale(self, results: dict[str, Any]) -> None:
        scale = results.get("scale")
        if not scale:
            return
        labels = list(scale)
        first_pg = next((x for x in labels if x.startswith("postgres") and x.endswith("x1")), None)
        table = self.table(
            "4 KiB requests by meta store and server processes, fresh servers one after the "
            "other (ops/s; x N: N processes; last column: the most processes on postgres "
            "over one)",
            ["op", "conc", *labels, "scaling"],
        )
        for key in scale[labels[0]]:
            op, _, conc = key.partition("/c")
            rates = [scale[x].get(key, {}).get("ops_per_s") for x in labels]
            one = scale[first_pg].get(key, {}).get("ops_per_s") if first_pg else None
            most = rates[-1]
            ratio = f"{most / one:.2f}x" if one and most else "-"
            table.add_row(op, conc, *(_num(r) if r else "-" for r in rates), ratio)
        self.console.print(table)

    def modules(self, results: dict[str, Any]) -> None:
        from modules import relative

        figures = results.get("modules")
        if not figures:
            return
        table = self.table(
            f"Storage modules: {figures['blocks']} blocks of 4 MiB (hex text), put then get at "
            f"concurrency {figures['concurrency']}; over fs against the plain fs store of the "
            "same run, over memory the modules' own cost",
            ["base", "stack", "put MB/s", "get MB/s", "put / plain", "get / plain", "stored/given"],
        )
        for base in ("fs", "memory"):
            for label, f in figures.get(base, {}).items():
                put, get = relative(figures, base, label)
                table.add_row(
                    base,
                    label,
                    _num(f["put_mb_s"]),
                    _num(f["get_mb_s"]),
                    put,
                    get,
                    f"{f['stored_per_given']:.2f}",
                )
        self.console.print(table)

    def big(self, results: dict[str, Any]) -> None:
        big = results.get("big")
        if not big:
            return
        if "skipped" in big:
            self.line(f"streamed upload: skipped ({big['skipped']})")
            return
        table = self.table(
            f"One streamed PUT of {big['bytes'] / MIB:,.0f} MiB (references skip it: "
            "they hold or copy whole objects)",
            [
                "server",
                "MB/s",
                "seconds",
                "PSS at the last phase's end MiB",
                f"PSS {big.get('settled_s', 0):.0f} s later (before) MiB",
                "peak PSS MiB",
                "PSS after MiB",
                "CPU srv/cli/other",
            ],
        )
        table.add_row(
            "dolium",
            _num(big["mb_per_s"]),
            _num(big["seconds"]),
            _num(big.get("rss_unsettled_mib")),
            _num(big["rss_before_mib"]),
            _num(big["peak_rss_mib"]),
            _num(big["rss_after_mib"]),
            _cpu(big),
        )
        self.console.print(table)

    def targets(self, results: dict[str, Any]) -> None:
        targets = results.get("targets", [])
        if not targets:
            return
        table = self.table(
            "Targets (a miss is a figure, not a failure)", ["target", "goal", "measured", "mark"]
        )
        for t in targets:
            unit = {"": "", "x": "x"}.get(t["unit"], " " + t["unit"])
            value = "-" if t["value"] is None else f"{t['value']:,.2f}{unit}"
            table.add_row(t["target"], t["goal"], value, t["mark"])
        self.console.print(table)

    def problems(self, results: dict[str, Any]) -> None:
        for name, why in results.get("refs_missing", {}).items():
            self.line(f"WARNING: reference {name} not run: {why}")
        for text in results.get("warnings", []):
            if not any(text.startswith(f"{n}: ") for n in results.get("refs_missing", {})):
                self.line(f"WARNING: {text}")
        for failure in results.get("failures", []):
            self.line(f"PROBLEM: {failure}")
        self.line(f"total time {results.get('total_seconds', 0):.0f} s")

    def render(self, results: dict[str, Any]) -> None:
        self.machine(results)
        self.small(results)
        self.large(results)
        self.listing(results)
        self.big(results)
        self.audit(results)
        self.scale(results)
        self.modules(results)
        self.targets(results)
        self.problems(results)
