"""uvicorn's httptools protocol with bounds on the size and time of a request head.

httptools keeps a header value, and uvicorn the URL, by appending each piece
the network delivers, with no limit: a client that sends one endless header
makes the server hold, and copy again and again, everything it sends. Here
a head still incomplete after MAX_HEAD bytes is answered 431 and the
connection closed, before the application sees anything of it.

Only reads that begin and end inside a head are counted, so a body that
shares a read with the next pipelined head is never mistaken for head. The
read that completes a head is not counted either: what it adds is bounded
by one read, and the application judges the size of a complete head itself.

uvicorn times out only a kept-alive connection that sends nothing after a
response; a client that opens a connection and sends its head slowly, or
not at all, would hold it for ever. Here a head gets `head_timeout` seconds
from its first byte (or from the connection's start): then a client that
sent part of one is answered 408, one that sent nothing is closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("dolium.http")

MAX_HEAD = 64 * 1024  # request line and headers, far above any S3 client's


def _closing_answer(status: str, text: str) -> bytes:
    """A complete plain-text response that ends the connection."""
    body = text.encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


_REFUSAL = _closing_answer(
    "431 Request Header Fields Too Large", "Request header fields too large."
)
_TIMED_OUT = _closing_answer("408 Request Timeout", "Request head not received in time.")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request head larger than MAX_HEAD, or
    slower than `head_timeout` seconds."""

    head_timeout = 60.0
    _in_head = True  # waiting for a request or reading its head
    _head_bytes = 0  # bytes of reads that began and ended inside the head
    _heads_done = 0  # request heads completed on this connection
    _head_timer: asyncio.TimerHandle | None = None
    _head_started = False  # some of the current head has arrived

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_started = True
            if self._head_timer is None:
                self._arm_head_timer()
        began_in_head = self._in_head
        heads = self._heads_done
        super().data_received(data)
        # A read that completed a head (and perhaps its whole message, which
        # puts us back in a head) is not all head: not counted.
        if not (began_in_head and self._in_head) or heads != self._heads_done:
            return
        if self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD:
            log.warning("request head over %d bytes from %s: refused", MAX_HEAD, self.client)
            self.transport.write(_REFUSAL)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_done += 1
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._head_started = False

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._in_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # Still answering the previous request: the next head may wait for it.
            self._arm_head_timer()
            return
        if self._head_started:
            log.info(
                "request head not complete in %gs from %s: 408", self.head_timeout, self.client
            )
            self.transport.write(_TIMED_OUT)
        self.transport.close()


def bounded_protocol(head_timeout: float) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for uvicorn, with this server's head timeout."""
    return type(
        "BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"head_timeout": head_timeout}
    )
