"""GET /metrics (Prometheus) and the health probes /health/live and /health/ready.

Liveness says the process answers at all; readiness says it can serve: its
metadata store and the default policy's block store answer in time. A load
balancer takes a server out of rotation while /health/ready fails, and an
orchestrator restarts one whose /health/live stops answering.

The metrics may be kept to holders of a bearer token (`metrics_token` in
the config): they name tenants and show what each stores.
"""

from __future__ import annotations

import hmac
import json

from dolium.core.operations.jobs import Jobs
from dolium.core.store import Store
from dolium.frontends.admin.metrics import CONTENT_TYPE, RequestMetrics
from dolium.frontends.admin.observed import Receive, Scope, Send

METRICS_PATH = "/metrics"
LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
PATHS = frozenset({METRICS_PATH, LIVE_PATH, READY_PATH})


async def _answer(
    send: Send, status: int, body: bytes, media: str, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [
        (b"content-type", media.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _bearer(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = bytes(value).decode("latin-1")
            scheme, _, token = text.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


class Probes:
    def __init__(
        self, store: Store, metrics: RequestMetrics, jobs: Jobs, *, token: str, workers: int
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.metrics = metrics
        self.token = token.encode()
        self.workers = workers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == LIVE_PATH:
            await _answer(send, 200, _json({"status": "live"}), "application/json")
        elif path == READY_PATH:
            checks = await self.store.status.readiness()
            ready = all(c.ok for c in checks)
            document = {
                "status": "ready" if ready else "unavailable",
                "checks": {c.name: {"ok": c.ok, **({"detail": c.detail} if c.detail else {})}
                           for c in checks},
            }  # fmt: skip
            await _answer(send, 200 if ready else 503, _json(document), "application/json")
        else:
            await self._metrics(scope, send)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        if self.token and not hmac.compare_digest(_bearer(scope).encode(), self.token):
            refusal = {"error": "Unauthorized", "message": "metrics need a bearer token"}
            challenge = ((b"www-authenticate", b'Bearer realm="dolium-metrics"'),)
            await _answer(send, 401, _json(refusal), "application/json", challenge)
            return
        status = self.store.status
        checks = await status.readiness()
        # Figures need the metadata store; without it the counters still show.
        figures = await status.figures() if all(c.ok for c in checks) else None
        reports = {name: await self.jobs.last(name) for name in self.jobs.names}
        body = self.metrics.render(figures, checks, self.workers, reports)
        await _answer(send, 200, body, CONTENT_TYPE)
