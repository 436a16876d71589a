"""Every request, as what watches the server sees it: the request metrics and
the access log observe each one once it is answered.

The composition root runs each request through `measured` when anything
observes; what a request did (its API, operation, status, time, bytes each
way, request id, caller) is gathered from the ASGI messages and from what
the front ends leave in the scope, never from the request's query or
headers, which may carry signatures and tokens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from dolium.frontends import OPERATION_KEY, PRINCIPAL_KEY

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Response headers that carry a front end's request id.
_REQUEST_IDS = (b"x-amz-request-id", b"x-trans-id")


@dataclass(frozen=True, slots=True)
class Seen:
    api: str  # s3, swift, admin
    operation: str
    method: str
    path: str  # without the query
    status: int  # 0: the client left before an answer began
    seconds: float
    received: int  # body bytes
    sent: int
    request_id: str
    caller: str  # tenant:user, "" for anonymous or not yet known
    client: str  # the peer's address


class Observer(Protocol):
    def seen(self, request: Seen) -> None: ...


@lru_cache(maxsize=512)
def operation_name(handler_name: str) -> str:
    """`get_object` -> `GetObject`: handlers named as the API names operations."""
    return "".join(part.capitalize() for part in handler_name.split("_"))


_SWIFT_LEVELS = ("account", "container", "object")
_SWIFT_API = re.compile(r"/v1/([^/]+)(?:/([^/]*))?(?:/(.*))?")


def swift_operation(method: str, path: str) -> str:
    """A Swift request's operation, by method and the level of its path
    (`GET object`): Swift names no operations of its own."""
    if path.startswith("/auth/"):
        return "auth"
    if path == "/info":
        return "info"
    found = _SWIFT_API.fullmatch(path)
    if found is None:
        return method
    level = 2 if found.group(3) else 1 if found.group(2) else 0
    return f"{method} {_SWIFT_LEVELS[level]}"


def _operation(api: str, scope: Scope) -> str:
    if api == "swift":
        return swift_operation(scope["method"], scope["path"])
    if api == "admin":
        # FastAPI leaves the route it matched in the scope.
        return getattr(scope.get("route"), "operation_id", None) or "-"
    handler = scope.get(OPERATION_KEY)
    return operation_name(handler) if handler else "-"


async def measured(
    api: str,
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    observers: Sequence[Observer],
) -> None:
    """Run `app` on one request, then tell each observer what it did."""
    start = time.perf_counter()
    status = 0
    received = sent = 0
    request_id = ""

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        return message

    async def counting_send(message: Message) -> None:
        nonlocal status, sent, request_id
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", ()):
                if name.lower() in _REQUEST_IDS:
                    request_id = bytes(value).decode("latin-1")
        elif message["type"] == "http.response.body":
            sent += len(message.get("body", b""))
        await send(message)

    try:
        await app(scope, counting_receive, counting_send)
    finally:
        client = scope.get("client")
        seen = Seen(
            api=api,
            operation=_operation(api, scope),
            method=scope["method"],
            path=scope["path"],
            status=status,
            seconds=time.perf_counter() - start,
            received=received,
            sent=sent,
            request_id=request_id,
            caller=scope.get(PRINCIPAL_KEY, ""),
            client=client[0] if client else "",
        )
        for observer in observers:
            observer.seen(seen)
