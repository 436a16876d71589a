"""A small HTTP key lookup service, of the kind the `http` key store asks.

It stands for an operator's own service: `GET /keys/{access key id}` with
the bearer token answers the key's record as JSON, or 404. It runs in a
thread of the test process (uvicorn on 127.0.0.1), and the tests change
its records, or make it fail, directly.
"""

from __future__ import annotations

import hmac
import secrets
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class KeyLookupService:
    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self.records: dict[str, dict[str, Any]] = {}
        # Set to a status to answer it to every lookup (a failing service).
        self.failing: int | None = None
        self.asked = 0
        app = Starlette(routes=[Route("/keys/{access_key:path}", self._lookup)])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/keys"

    def start(self) -> KeyLookupService:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the key lookup service did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def put(self, record: dict[str, Any]) -> None:
        self.records[str(record["access_key"])] = dict(record)

    async def _lookup(self, request: Request) -> Response:
        self.asked += 1
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.failing is not None:
            return JSONResponse({"error": "failing"}, status_code=self.failing)
        record = self.records.get(request.path_params["access_key"])
        if record is None:
            return JSONResponse({"error": "no such key"}, status_code=404)
        return JSONResponse(record)
