"""A worker keeps sharing its request counts whatever one flush meets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from dolium.core.jobs.delivery import DeliveryCounters
from dolium.frontends.admin.metrics import RequestMetrics


async def test_a_failed_flush_does_not_stop_the_next(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def events() -> DeliveryCounters:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("counters not ready")
        return DeliveryCounters(failures=0, reporters={})

    metrics = RequestMetrics(tmp_path, events)
    task = asyncio.create_task(metrics.flush_forever(interval=0.01))
    try:
        metrics.observe("s3", "PutObject", 200, 0.001, 10, 0)
        for _ in range(200):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "metrics not shared" in caplog.text
    [written] = tmp_path.glob("*.json")
    requests = json.loads(written.read_text())["requests"]
    assert requests[0][:3] == ["s3", "PutObject", 200]
