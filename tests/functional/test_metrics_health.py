"""/metrics and the health probes of a live server with two worker processes."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from conftest import LiveServer, client, own_server, running

from support.postgres import postgres

TOKEN = "scrape-token-for-tests"

metered = own_server("metered", {"DOLIUM_WORKERS": "2"})
guarded = own_server("guarded", {"DOLIUM_METRICS_TOKEN": TOKEN, "DOLIUM_WORKERS": "1"})


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text, 0 when absent."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        found = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if found is None or found.group(1) != name:
            continue
        have = dict(re.findall(r'([a-z_]+)="([^"]*)"', found.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(found.group(3))
    return 0.0


def scrape(server: LiveServer, **headers: str) -> str:
    response = httpx.get(f"{server.endpoint}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_are_counted_across_worker_processes(metered: LiveServer) -> None:
    s3 = client(metered)
    bucket = f"met-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    before = scrape(metered)
    puts = 40
    for i in range(puts):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x" * 1000)
    s3.get_object(Bucket=bucket, Key="k0")["Body"].read()
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=bucket, Key="missing")
    # The other worker's totals reach a scrape within its flush interval.
    deadline = time.monotonic() + 10
    while True:
        after = scrape(metered)
        total = sample(
            after, "dolium_requests_total", api="s3", operation="PutObject", status="200"
        )
        if total - sample(before, "dolium_requests_total", api="s3", operation="PutObject",
                          status="200") >= puts or time.monotonic() > deadline:  # fmt: skip
            break
        time.sleep(0.2)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    # Two workers shared the requests; a scrape of either adds both up.
    assert grew("dolium_requests_total", api="s3", operation="PutObject", status="200") == puts
    assert grew("dolium_requests_total", api="s3", operation="GetObject", status="404") == 1
    count = grew("dolium_request_duration_seconds_count", api="s3", operation="PutObject")
    assert count == puts
    assert grew("dolium_received_bytes_total", api="s3") >= puts * 1000
    assert grew("dolium_sent_bytes_total", api="s3") >= 1000
    assert sample(after, "dolium_workers") == 2
    deadline = time.monotonic() + 10
    while True:  # each worker's own figures, once both have shared them
        pids = {
            line.split('pid="')[1].split('"')[0]
            for line in after.splitlines()
            if line.startswith("dolium_process_resident_memory_bytes{")
        }
        if len(pids) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
        after = scrape(metered)
    assert len(pids) == 2
    assert all(sample(after, "dolium_process_resident_memory_bytes", pid=p) > 10**6 for p in pids)
    assert sample(after, "dolium_stored_objects", tenant="root") == puts
    assert sample(after, "dolium_stored_bytes", tenant="root") == puts * 1000
    assert sample(after, "dolium_store_up", store="meta") == 1
    assert sample(after, "dolium_store_up", store="blob") == 1
    assert "dolium_event_lag_seconds" in after
    # Two objects of the same 100 kB: one block, two references (deduplicated).
    same = b"d" * 100_000
    s3.put_object(Bucket=bucket, Key="dup1", Body=same)
    s3.put_object(Bucket=bucket, Key="dup2", Body=same)
    text = scrape(metered)
    blocks = sample(text, "dolium_blocks", policy="standard")
    assert sample(text, "dolium_block_references", policy="standard") >= blocks + 1 >= 2


def test_swift_requests_are_counted_by_level(metered: LiveServer) -> None:
    before = scrape(metered)
    login = httpx.get(
        f"{metered.endpoint}/auth/v1.0",
        headers={"X-Auth-User": "root:root", "X-Auth-Key": "wrong"},
    )
    assert login.status_code == 401
    httpx.get(f"{metered.endpoint}/v1/AUTH_root/c/o")
    time.sleep(1.5)  # both workers' totals flushed
    after = scrape(metered)
    assert (
        sample(after, "dolium_requests_total", api="swift", operation="auth", status="401")
        - (sample(before, "dolium_requests_total", api="swift", operation="auth", status="401"))
        == 1
    )
    assert sample(after, "dolium_requests_total", api="swift", operation="GET object") >= 1


def test_health_probes(metered: LiveServer) -> None:
    live = httpx.get(f"{metered.endpoint}/health/live")
    assert (live.status_code, live.json()) == (200, {"status": "live"})
    ready = httpx.get(f"{metered.endpoint}/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"meta": {"ok": True}, "blob": {"ok": True}}


def test_metrics_may_need_a_token(guarded: LiveServer) -> None:
    assert httpx.get(f"{guarded.endpoint}/metrics").status_code == 401
    wrong = httpx.get(f"{guarded.endpoint}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "dolium_store_up" in scrape(guarded, Authorization=f"Bearer {TOKEN}")
    # Probes stay open: a load balancer has no token.
    assert httpx.get(f"{guarded.endpoint}/health/ready").status_code == 200


def test_not_ready_while_the_metadata_store_is_gone(tmp_path: Any) -> None:
    pg = postgres()
    dsn = pg.database()
    env = {"DOLIUM_META": "postgres", "DOLIUM_META_OPTIONS": f'{{"dsn": "{dsn}"}}',
           "DOLIUM_WORKERS": "1"}  # fmt: skip
    with running(tmp_path / "data", env) as live:
        assert httpx.get(f"{live.endpoint}/health/ready").status_code == 200
        name = dsn.rsplit("/", 1)[1]
        pg.sql(f"DROP DATABASE {name} WITH (FORCE)")
        ready = httpx.get(f"{live.endpoint}/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["meta"]["ok"] is False
        assert ready.json()["checks"]["blob"]["ok"] is True
        # Still alive, and the counters still show.
        assert httpx.get(f"{live.endpoint}/health/live").status_code == 200
        text = scrape(live)
        assert sample(text, "dolium_store_up", store="meta") == 0
