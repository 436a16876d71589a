"""The admin API as the server mounts it: request bodies bounded before FastAPI reads them."""

from __future__ import annotations

import json

from dolium.core.operations.jobs import Jobs
from dolium.core.store import Store
from dolium.frontends.admin import api
from dolium.frontends.admin.auth import MAX_BODY
from dolium.frontends.admin.observed import Receive, Scope, Send
from dolium.protocols.keys import KeyStore

PREFIX = api.PREFIX


def is_admin_path(path: str) -> bool:
    """Paths under /admin/; /admin itself stays S3's, which refuses it as a bucket name."""
    return path.startswith(PREFIX + "/")


class AdminApp:
    def __init__(self, store: Store, keys: KeyStore, region: str | None, jobs: Jobs) -> None:
        self.api = api.build(store, keys, region, jobs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # FastAPI reads a body whole before any route runs, signature checks
        # included: a body is refused by its declared length first.
        length = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"transfer-encoding":
                chunked = True
        if chunked and length is None:
            await _refuse(send, 411, "MissingContentLength", "admin requests need a Content-Length")
            return
        if length is not None and not 0 <= length <= MAX_BODY:
            await _refuse(
                send, 413, "EntityTooLarge", f"admin requests take {MAX_BODY} bytes at most"
            )
            return
        await self.api(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
