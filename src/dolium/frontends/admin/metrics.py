"""Prometheus metrics: counters kept on the request path, figures read at scrape time.

Several worker processes serve one port and a scrape reaches any one of
them. Each process counts in plain dictionaries (a request pays about a
microsecond for it, where prometheus-client's multiprocess mode took
sixteen: a lock and a memory-mapped write per value) and writes its totals
to a file of its own in one directory every second (`DOLIUM_METRICS_DIR`,
made by the server before its workers start); a scrape adds the files up,
so a scrape may miss the last second of the other processes. A worker's
file stays when it dies, so totals never go back. prometheus-client
writes the exposition text.

Event delivery's counters (failed passes, and what each destination's
reporter published or failed to) are kept by every process that delivers,
and shared the same way. What the server stores (usage, stores, backlog,
health) is read from the stores when scraped, by the process that answers
the scrape.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dolium.core.jobs.delivery import DeliveryCounters
from dolium.core.operations.status import Check, Figures
from dolium.frontends.admin.observed import Seen

log = logging.getLogger(__name__)

# Where each worker process leaves its totals (set by the server before the
# workers start), and how often it does.
METRICS_DIR_ENV = "DOLIUM_METRICS_DIR"
FLUSH_INTERVAL = 1.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latencies from a cached small GET to a large upload.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
)  # fmt: skip


class RequestMetrics:
    """The counters every request adds to, and the text a scrape returns."""

    def __init__(
        self, directory: Path | None, events: Callable[[], DeliveryCounters] | None = None
    ) -> None:
        self.directory = directory
        self.events = events  # this process's event delivery counters
        self._file = directory / f"{os.getpid()}.json" if directory is not None else None
        # (api, operation, status) -> [count, seconds, requests per latency bucket...]
        self._requests: dict[tuple[str, str, int], list[float]] = {}
        self._bytes: dict[tuple[str, str], int] = {}  # (api, "received" | "sent") -> bytes

    def observe(
        self, api: str, operation: str, status: int, seconds: float, received: int, sent: int
    ) -> None:
        key = (api, operation, status)
        entry = self._requests.get(key)
        if entry is None:
            entry = self._requests[key] = [0.0] * (3 + len(LATENCY_BUCKETS))
        entry[0] += 1
        entry[1] += seconds
        entry[2 + bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if received:
            self._add_bytes(api, "received", received)
        if sent:
            self._add_bytes(api, "sent", sent)

    def _add_bytes(self, api: str, way: str, size: int) -> None:
        key = (api, way)
        self._bytes[key] = self._bytes.get(key, 0) + size

    def seen(self, request: Seen) -> None:
        self.observe(
            request.api, request.operation, request.status, request.seconds,
            request.received, request.sent,
        )  # fmt: skip

    # -- sharing between processes ---------------------------------------------
    def flush(self) -> None:
        """Write this process's totals where a scrape of any process reads them.

        A rename, so a reader sees the old totals or the new, never half.
        Not fsynced: counters that a power cut takes back are harmless.
        """
        if self._file is None:
            return
        tmp = self._file.with_suffix(".tmp")
        document = self._document()
        tmp.write_text(json.dumps(document, separators=(",", ":")))
        tmp.replace(self._file)

    async def flush_forever(self, interval: float = FLUSH_INTERVAL) -> None:
        # At once, then every interval: a worker is seen by scrapes from its start.
        # Whatever a flush meets, the next one is tried: this task ending would
        # leave the worker's counts out of every scrape from then on, silently.
        while True:
            try:
                self.flush()
            except OSError as exc:
                log.warning("metrics not shared: %s", exc)
            except Exception:
                log.exception("metrics not shared")
            await asyncio.sleep(interval)

    def _document(self) -> dict[str, Any]:
        """This process's totals, as its file holds them."""
        document: dict[str, Any] = {
            "requests": [[*k, *v] for k, v in self._requests.items()],
            "bytes": [[*k, v] for k, v in self._bytes.items()],
        }
        document["process"] = _process_figures()
        if self.events is not None:
            counters = self.events()
            document["event_failures"] = counters.failures
            document["event_messages"] = [
                [arn, outcome, count]
                for arn, found in counters.reporters.items()
                for outcome, count in found.items()
            ]
        return document

    def _totals(self) -> _Totals:
        """Every process's totals added up (this one's as they are now)."""
        totals = _Totals()
        requests, sizes, messages = totals.requests, totals.sizes, totals.messages
        documents = []
        if self.directory is not None:
            for path in self.directory.glob("*.json"):
                if path == self._file:
                    continue
                try:
                    documents.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue  # a worker's file being replaced: its totals come next time
        for document in (*documents, self._document()):
            for api, operation, status, *values in document.get("requests", ()):
                entry = requests.setdefault((api, operation, status), [0.0] * len(values))
                for i, value in enumerate(values):
                    entry[i] += value
            for api, way, size in document.get("bytes", ()):
                sizes[api, way] = sizes.get((api, way), 0) + size
            process = document.get("process")
            if isinstance(process, dict) and time.time() - process.get("at", 0) < PROCESS_FRESH:
                totals.processes.append(process)
            totals.event_failures += document.get("event_failures", 0)
            for arn, outcome, count in document.get("event_messages", ()):
                messages[arn, outcome] = messages.get((arn, outcome), 0) + count
        return totals

    def render(
        self,
        figures: Figures | None,
        checks: Iterable[Check],
        workers: int,
        jobs: Mapping[str, Mapping[str, Any] | None] | None = None,
    ) -> bytes:
        """The exposition text: every process's counters, then the figures read now."""
        import prometheus_client as prom

        counters = _Counters(self._totals())
        snapshot = _Snapshot(figures, tuple(checks), workers, jobs or {})
        text: bytes = prom.generate_latest(_Only(counters)) + prom.generate_latest(_Only(snapshot))
        return text


# A worker's figures count while its file is this fresh (seconds): a dead
# worker's file stays for its counters, not for its memory and CPU.
PROCESS_FRESH = 10.0


def _process_figures() -> dict[str, Any]:
    """This process's CPU time, resident memory and open files (Linux /proc)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures: dict[str, Any] = {
        "pid": os.getpid(), "at": time.time(), "cpu": usage.ru_utime + usage.ru_stime,
    }  # fmt: skip
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        figures["rss"] = pages * os.sysconf("SC_PAGE_SIZE")
        figures["fds"] = len(os.listdir("/proc/self/fd"))
    except (OSError, ValueError, IndexError):
        pass  # not Linux: CPU time only
    return figures


def _one(family: Any, name: str, help_text: str, value: float) -> Any:
    """A metric family of one unlabelled sample."""
    made = family(name, help_text)
    made.add_metric((), float(value))
    return made


class _Totals:
    """Counters of every process, added up."""

    def __init__(self) -> None:
        # (api, operation, status) -> [count, seconds, requests per latency bucket...]
        self.requests: dict[tuple[str, str, int], list[float]] = {}
        self.sizes: dict[tuple[str, str], int] = {}  # (api, "received" | "sent") -> bytes
        self.event_failures = 0
        self.messages: dict[tuple[str, str], int] = {}  # (destination, outcome) -> messages
        self.processes: list[dict[str, Any]] = []  # each live worker's own figures


class _Counters:
    """The request and event counters, added up over the processes, as metric families."""

    def __init__(self, totals: _Totals) -> None:
        self.requests = totals.requests
        self.sizes = totals.sizes
        self.totals = totals

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        total = CounterMetricFamily(
            "dolium_requests",
            "Requests answered, by API, operation and status (0: the client left first).",
            labels=("api", "operation", "status"),
        )
        latency = HistogramMetricFamily(
            "dolium_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            labels=("api", "operation"),
        )
        merged: dict[tuple[str, str], list[float]] = {}
        for (api, operation, status), values in sorted(self.requests.items()):
            total.add_metric((api, operation, str(status)), values[0])
            entry = merged.setdefault((api, operation), [0.0] * len(values))
            for i, value in enumerate(values):
                entry[i] += value
        for (api, operation), values in sorted(merged.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), values[2:], strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric((api, operation), buckets, values[1])
        yield total
        yield latency
        for way, help_text in (("received", "Request body bytes received."),
                               ("sent", "Response body bytes sent.")):  # fmt: skip
            family = CounterMetricFamily(f"dolium_{way}_bytes", help_text, labels=("api",))
            for (api, kind), size in sorted(self.sizes.items()):
                if kind == way:
                    family.add_metric((api,), float(size))
            yield family
        yield _one(CounterMetricFamily, "dolium_event_delivery_failures",
                   "Passes of event delivery that a reporter (or the change log) failed; each "
                   "is retried.", self.totals.event_failures)  # fmt: skip
        messages = CounterMetricFamily(
            "dolium_event_messages",
            "Event messages by destination and outcome: published (the destination "
            "acknowledged them), failed (attempts that failed), and any other count the "
            "destination's reporter keeps (dropped: webhook events expired undelivered).",
            labels=("destination", "outcome"),
        )
        for (arn, outcome), count in sorted(self.totals.messages.items()):
            messages.add_metric((arn, outcome), float(count))
        yield messages
        yield from self._processes()

    def _processes(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        cpu = CounterMetricFamily(
            "dolium_process_cpu_seconds", "CPU time of each worker process.", labels=("pid",)
        )
        rss = GaugeMetricFamily(
            "dolium_process_resident_memory_bytes", "Resident memory of each worker process.",
            labels=("pid",),
        )  # fmt: skip
        fds = GaugeMetricFamily(
            "dolium_process_open_fds", "Open file descriptors of each worker process.",
            labels=("pid",),
        )  # fmt: skip
        for process in sorted(self.totals.processes, key=lambda p: int(p.get("pid", 0))):
            pid = (str(process.get("pid", "")),)
            cpu.add_metric(pid, float(process.get("cpu", 0.0)))
            rss.add_metric(pid, float(process.get("rss", 0)))
            fds.add_metric(pid, float(process.get("fds", 0)))
        yield cpu
        yield rss
        yield fds


class _Only:
    """A registry of one collector, for generate_latest."""

    def __init__(self, collector: _Counters | _Snapshot) -> None:
        self.collector = collector

    def collect(self) -> Iterator[Any]:
        return self.collector.collect()


class _Snapshot:
    """Figures read from the stores at scrape time, as metric families."""

    def __init__(
        self,
        figures: Figures | None,
        checks: tuple[Check, ...],
        workers: int,
        jobs: Mapping[str, Mapping[str, Any] | None],
    ) -> None:
        self.figures = figures
        self.checks = checks
        self.workers = workers
        self.jobs = jobs

    def _jobs(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        ended = GaugeMetricFamily(
            "dolium_job_last_end_timestamp_seconds", "When the job's last run ended.",
            labels=("job",),
        )  # fmt: skip
        took = GaugeMetricFamily(
            "dolium_job_last_duration_seconds", "How long the job's last run took.",
            labels=("job",),
        )  # fmt: skip
        figures = GaugeMetricFamily(
            "dolium_job_last_report",
            "The counts of the job's last run (gc: deleted, failed...; scrub: ok, lost...).",
            labels=("job", "name"),
        )
        for job, report in sorted(self.jobs.items()):
            if not report:
                continue
            start, end = report.get("started"), report.get("ended")
            if isinstance(start, float) and isinstance(end, float):
                ended.add_metric((job,), end)
                took.add_metric((job,), end - start)
            for name, value in sorted(report.items()):
                if isinstance(value, int | bool) and name not in ("started", "ended"):
                    figures.add_metric((job, name), float(value))
        yield ended
        yield took
        yield figures

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily(
            "dolium_store_up", "Whether a store answers (1) or not.", labels=("store",)
        )
        for check in self.checks:
            up.add_metric((check.name,), 1.0 if check.ok else 0.0)
        yield up
        yield _one(GaugeMetricFamily, "dolium_workers", "Server processes serving requests.",
                   self.workers)  # fmt: skip
        yield from self._jobs()
        figures = self.figures
        if figures is None:
            return
        objects = GaugeMetricFamily(
            "dolium_stored_objects", "Current objects, by tenant.", labels=("tenant",)
        )
        stored = GaugeMetricFamily(
            "dolium_stored_bytes", "Bytes of every stored version, by tenant.", labels=("tenant",)
        )
        for tenant, usage in sorted(figures.usage.items()):
            objects.add_metric((tenant,), float(usage.objects))
            stored.add_metric((tenant,), float(usage.bytes))
        yield objects
        yield stored
        yield _one(GaugeMetricFamily, "dolium_buckets", "Buckets (containers) of every tenant.",
                   figures.buckets)  # fmt: skip
        stat = GaugeMetricFamily(
            "dolium_store_statistic",
            "What a storage policy's block store reports of itself (counters since this "
            "process started, or store-wide figures, as the store defines them).",
            labels=("policy", "name"),
        )
        for store in figures.stores:
            for name, value in sorted(store.statistics.items()):
                stat.add_metric((store.policy, name), float(value))
        yield stat
        blocks = GaugeMetricFamily(
            "dolium_blocks", "Blocks the metadata references, by policy.", labels=("policy",)
        )
        references = GaugeMetricFamily(
            "dolium_block_references",
            "References to those blocks; references / blocks is the deduplication ratio.",
            labels=("policy",),
        )
        for store in figures.stores:
            blocks.add_metric((store.policy,), float(store.blocks))
            references.add_metric((store.policy,), float(store.references))
        yield blocks
        yield references
        yield _one(GaugeMetricFamily, "dolium_event_backlog_changes",
                   "Changes event delivery has yet to take (counted up to 1000).",
                   figures.backlog.pending)  # fmt: skip
        yield _one(GaugeMetricFamily, "dolium_event_lag_seconds",
                   "How long the oldest change not yet delivered has waited.",
                   figures.backlog.oldest_age)  # fmt: skip
