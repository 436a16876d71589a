"""The IAM API's ASGI application: IAM's Query protocol on the S3 endpoint.

Ceph RGW serves its IAM subset on its S3 endpoint, and so does Dolium: the
composition root sends here a POST whose SigV4 credential scope names the
service `iam` (`is_iam_request`), which no S3 request does, so S3's own
POSTs (browser uploads, multi-object delete, multipart) never arrive here.
Bodies are small forms, read whole up to MAX_BODY.

The signature is checked by a `Verifier` the composition root gives (the S3
front end's SigV4 verifier, asked for service `iam`): front ends do not
import each other. Every call acts on the caller's own tenant
(`core.accounts.tenant_users`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

from dolium.core.store import Store
from dolium.errors import DoliumError
from dolium.frontends import OPERATION_KEY
from dolium.frontends.iam import wire
from dolium.frontends.iam.actions import ACTIONS
from dolium.frontends.iam.errors import IamError, to_iam
from dolium.model import Principal

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[str, str]]

SERVICE = "iam"
MAX_BODY = 256 * 1024  # a form with a policy document (IAM's own limit is far below)


class Verifier(Protocol):
    async def __call__(
        self, method: str, raw_path: bytes, query: bytes, headers: Headers, body_sha256: str
    ) -> Principal:
        """The principal that signed the request; raise IamError when the signature fails."""
        ...


def _authorization(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return ""


def is_iam_request(scope: Scope) -> bool:
    """A POST to the service root signed for service `iam`."""
    if scope["method"] != "POST" or scope["path"] != "/":
        return False
    authorization = _authorization(scope)
    return f"/{SERVICE}/aws4_request" in authorization.split(",", 1)[0]


class IamApp:
    def __init__(self, store: Store, verify: Verifier) -> None:
        self.store = store
        self.verify = verify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = secrets.token_hex(8).upper()
        action = ""
        try:
            body = await _body(scope, receive)
            params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            action = params.get("Action", "")
            headers = [
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
            ]
            principal = await self.verify(
                "POST",
                scope.get("raw_path") or b"/",
                scope.get("query_string", b""),
                headers,
                hashlib.sha256(body).hexdigest(),
            )
            handler = ACTIONS.get(action)
            if handler is None:
                raise IamError(
                    400, "InvalidAction", f"Could not find operation {action or '(none)'}"
                )
            scope[OPERATION_KEY] = handler.__name__  # the request metrics' operation label
            result = await handler(self.store.tenant_users(principal), params)
            await _answer(send, 200, wire.response(action, result, request_id), request_id)
        except IamError as exc:
            await _answer(
                send, exc.status, wire.error(exc.code, exc.message, request_id), request_id
            )
        except DoliumError as exc:
            known = to_iam(exc)
            if known is None or known.status >= 500:
                log.error("IAM request %s (%s) failed: %s", request_id, action, exc.message)
            if known is None:
                known = IamError(500, "ServiceFailure", "the request failed; try again")
            document = wire.error(known.code, known.message, request_id, sender=known.status < 500)
            await _answer(send, known.status, document, request_id)
        except Exception:
            log.exception("internal error in IAM request %s (%s)", request_id, action)
            document = wire.error("ServiceFailure", "internal error", request_id, sender=False)
            await _answer(send, 500, document, request_id)


async def _body(scope: Scope, receive: Receive) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
            raise IamError(400, "ValidationError", f"the request body is over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IamError(400, "ValidationError", "the client went away mid-body")
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > MAX_BODY:
            raise IamError(400, "ValidationError", f"the request body is over {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, document: bytes, request_id: str) -> None:
    headers = [
        (b"content-type", b"text/xml"),
        (b"content-length", str(len(document)).encode()),
        (b"x-amzn-requestid", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": document})
