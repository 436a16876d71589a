"""bench/wrkgen.py against the bench's bare app (bench/sink.py): counts, statuses, lengths.

The bench is a program, not a package: its directory goes on sys.path as
bench/run.py's own imports expect. Skipped where wrk is not installed
(`make bench-tools` installs it); the undoing of wrk's latency correction
is checked without it.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))

import wrkgen
from harness import Server, sink_server

needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk not on PATH (`make bench-tools` installs it)"
)


@pytest.fixture(scope="module")
def sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with sink_server(tmp_path_factory.mktemp("sink")) as server:
        yield server


def gets(n: int) -> list[tuple[str, str, bytes]]:
    # The sink answers a GET with as many bytes as the first number in its path.
    return [("GET", f"/bench/4096/k{i}?X-Amz-Signature=x", b"") for i in range(n)]


@needs_wrk
def test_each_request_once_over_two_threads(sink: Server) -> None:
    result = wrkgen.run_load(
        "127.0.0.1", sink.port, gets(101), concurrency=8, count=101, expect_length=4096
    )
    assert (result.ops, result.errors, result.first_error) == (101, 0, "")
    assert result.statuses == {200: 101}
    assert len(result.latencies) == 101
    assert 0 < result.pct(50) <= result.pct(99) < 1000
    assert result.seconds > 0


@needs_wrk
def test_cycles_through_the_list_and_puts_bodies(sink: Server) -> None:
    puts = [("PUT", f"/bench/4096/p{i}", bytes(4096)) for i in range(10)]
    result = wrkgen.run_load("127.0.0.1", sink.port, puts, concurrency=1, count=25)
    assert (result.ops, result.errors, result.statuses) == (25, 0, {200: 25})


@needs_wrk
def test_a_get_body_of_another_length_is_an_error(sink: Server) -> None:
    result = wrkgen.run_load(
        "127.0.0.1", sink.port, gets(20), concurrency=4, count=20, expect_length=100
    )
    assert (result.ops, result.errors, result.statuses) == (0, 20, {200: 20})
    assert result.first_error == "GET answered 4096 bytes, not 100"


@needs_wrk
def test_stops_after_seconds(sink: Server) -> None:
    result = wrkgen.run_load(
        "127.0.0.1", sink.port, gets(50), concurrency=2, count=10**9, seconds=1
    )
    assert result.ops > 0 and result.errors == 0
    assert 0.5 < result.seconds < 2


def test_head_goes_to_the_python_generator(sink: Server) -> None:
    # wrk would wait for the body a HEAD answer's Content-Length announces.
    heads = [("HEAD", "/bench/4096/h", b"")] * 5
    assert not wrkgen.sends(heads)
    result = wrkgen.run_load("127.0.0.1", sink.port, heads, concurrency=2, count=5)
    assert (result.ops, result.statuses) == (5, {200: 5})


def corrected(histogram: dict[int, int], e: int) -> dict[int, int]:
    """wrk's stats_correct, restated: each latency n >= 2e adds samples at n-e, n-2e, ... > e."""
    out = dict(histogram)
    for n in sorted(histogram):
        if n >= 2 * e:
            m = n - e
            while m > e:
                out[m] = out.get(m, 0) + histogram[n]
                m -= e
    return out


def test_undoes_wrks_latency_correction() -> None:
    measured = {40: 3, 95: 5, 100: 20, 101: 7, 230: 2, 560: 1, 1000: 1}
    completed, connections, duration = sum(measured.values()), 4, 1000
    e = duration // (completed // connections)
    assert e == 111
    buckets = sorted(corrected(measured, e).items())
    assert sum(n for _, n in buckets) > completed
    assert wrkgen.uncorrected(buckets, duration, completed, connections) == measured
    # Nothing added (no latency reached 2e): the histogram is taken as it is.
    assert wrkgen.uncorrected([(5, 8)], 1000, 8, 4) == {5: 8}
