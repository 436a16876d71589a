"""The thin HTTP layer of the S3 front end, on raw ASGI.

Raw ASGI (not a framework router) because S3 dispatches on method, host,
path and query flags together, and because its header behaviour (HEAD with
a Content-Length and no body, exact error bodies) must be under our control.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from dolium.frontends.s3.auth.payload import Payload, open_payload
from dolium.frontends.s3.auth.sigv4 import SigningInfo
from dolium.frontends.s3.errors import S3Error
from dolium.model import Principal

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[str, str]]


class ClientGone(Exception):
    """The client disconnected while sending its body."""


class _RequestIds:
    """Request ids: 16 upper-case hex digits, unique within a server.

    A random prefix per process (drawn again in each forked worker) and a
    counter: ids need to tell requests apart in logs, not to be guessed
    hard, and a random draw per request is a system call.
    """

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = secrets.token_hex(3).upper()
        self.counter = itertools.count(secrets.randbelow(1 << 39))

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFF:010X}"


next_request_id = _RequestIds().next


@dataclass
class S3Request:
    method: str
    raw_path: str  # percent-encoded, as sent (for signatures)
    query_string: str
    headers: Headers  # lower-case names, in order
    bucket: str
    key: str
    query: dict[str, str]
    receive: Receive
    request_id: str = field(default_factory=next_request_id)
    principal: Principal | None = None
    signing: SigningInfo | None = None
    body: Payload | None = None
    client: str = ""  # peer address, for aws:SourceIp
    secure: bool = False  # arrived over TLS, for aws:SecureTransport
    operation: str = ""  # the handler routed to, once known (for metrics)
    # The storage policy a write's x-amz-storage-class maps to (None: the bucket's).
    storage_policy: str | None = None

    _body_started: bool = False
    _body_ended: bool = False
    # Each header's first value by name, made on the first lookup: a write
    # looks up some fifty names, most of them absent.
    _first: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    async def receive_message(self) -> Message:
        self._body_started = True
        message = await self.receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self._body_ended = True
        return message

    async def drain(self, limit: int) -> bool:
        """Read and drop what is left of the body; False if over `limit` bytes.

        A body left unread would be parsed as the next request on a
        keep-alive connection, so it is read, or the connection is closed.
        An unread body declared longer than `limit`, or one the client holds
        back until it has an answer (Expect: 100-continue), is not waited for.
        """
        length = self.header("content-length")
        if self._body_ended or (self.header("transfer-encoding") is None and length in (None, "0")):
            return True
        declared = int(length) if length is not None and length.isdigit() else 0
        if not self._body_started and (declared > limit or self.expects_continue):
            return False
        dropped = 0
        while not self._body_ended:
            message = await self.receive_message()
            dropped += len(message.get("body", b""))
            if dropped > limit:
                return False
        return True

    @property
    def expects_continue(self) -> bool:
        """The client holds its body back until told 100 Continue.

        The server says 100 Continue on the first read of the body, so a
        request answered with an error without reading it is never told:
        it is answered, and its connection closed, before the body is sent.
        """
        return (self.header("expect") or "").lower() == "100-continue"

    def header(self, name: str, default: str | None = None) -> str | None:
        first = self._first
        if first is None:
            first = self._first = {}
            for key, value in self.headers:
                first.setdefault(key, value)
        return first.get(name, default)

    def has(self, flag: str) -> bool:
        return flag in self.query

    @property
    def resource(self) -> str:
        if not self.bucket:
            return "/"
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"

    def stream(self) -> AsyncIterator[bytes]:
        """The payload, decoded (aws-chunked) and checked against its signature."""
        if self.body is None:
            self.body = open_payload(receive_body(self.receive_message), self.headers, self.signing)
        return self.body.__aiter__()

    @property
    def trailers(self) -> Mapping[str, str]:
        """Trailing headers of an aws-chunked body, once it has been read."""
        return self.body.trailers if self.body is not None else {}


async def receive_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def read_small_body(request: S3Request, limit: int) -> bytes:
    """A request body meant to be small (XML); too big is an error, not a buffer."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise S3Error(400, "MaxMessageLengthExceeded", "Your request was too big.")
    return bytes(data)


MAX_INT = 2**31 - 1


def page_size(request: S3Request, name: str) -> int:
    """max-keys and its kin: any count up to MAX_INT is valid, and a page holds 1000 at most."""
    return min(int_arg(request, name, 1000, 0, MAX_INT), 1000)


def int_arg(request: S3Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter, checked as S3 checks max-keys and its kin."""
    value = request.query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise S3Error(
            400, "InvalidArgument", f"Provided {name} not an integer or within integer range"
        ) from None
    if number < low or number > high:
        raise S3Error(
            400, "InvalidArgument", f"Argument {name} must be an integer between {low} and {high}"
        )
    return number


def parse_target(host: str, path: str, domains: Iterable[str]) -> tuple[str, str]:
    """(bucket, key) from a virtual-hosted-style host or a path-style path.

    The bucket is a container's address: a global bucket name, or, in a
    path only, `account:container` for a container that holds no global
    name (as Ceph RGW addresses tenants' buckets). Host names cannot carry
    that form, so such containers have no virtual-hosted address.
    """
    hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
    for domain in domains:
        suffix = "." + domain.lower()
        if hostname.endswith(suffix):
            return hostname[: -len(suffix)], path[1:]
    trimmed = path[1:]
    bucket, _, key = trimmed.partition("/")
    return bucket, key


def parse_query(query_string: str) -> dict[str, str]:
    """The query's parameters, as `dict(parse_qsl(query_string, keep_blank_values=True))`.

    Written out because it runs on every request: parse_qsl makes several
    calls per parameter where most (names, dates, the signature) need no
    decoding at all.
    """
    query: dict[str, str] = {}
    for piece in query_string.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="replace")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="replace")
        query[name] = value
    return query


def decode_path(raw_path: bytes) -> str:
    return unquote(raw_path.decode("latin-1"), errors="strict")


@dataclass
class Response:
    status: int = 200
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None  # Content-Length for HEAD or streams

    async def send(self, send: Send, head_only: bool) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        if self.stream is None and self.length is None:
            headers.append((b"content-length", str(len(self.body)).encode()))
        elif self.length is not None:
            headers.append((b"content-length", str(self.length).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        if head_only or self.stream is None:
            if self.stream is not None and hasattr(self.stream, "aclose"):
                await self.stream.aclose()
            await send({"type": "http.response.body", "body": b"" if head_only else self.body})
            return
        async for chunk in self.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
