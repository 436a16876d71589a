"""uvicorn's httptools protocol with a bound on the size of a request head.

httptools keeps a header value, and uvicorn the URL, by appending each piece
the network delivers, with no limit: a client that sends one endless header
makes the server hold, and copy again and again, everything it sends. Here
a head still incomplete after MAX_HEAD bytes is answered 431 and the
connection closed, before the application sees anything of it.

Only reads that begin and end inside a head are counted, so a body that
shares a read with the next pipelined head is never mistaken for head. The
read that completes a head is not counted either: what it adds is bounded
by one read, and the application judges the size of a complete head itself.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("dolium.http")

MAX_HEAD = 64 * 1024  # request line and headers, far above any S3 client's

_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\n"
    b"connection: close\r\n"
    b"\r\n"
    b"Request header fields too large."
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a request head larger than MAX_HEAD."""

    _in_head = True  # waiting for a request or reading its head
    _head_bytes = 0  # bytes of reads that began and ended inside the head
    _heads_done = 0  # request heads completed on this connection

    def data_received(self, data: bytes) -> None:
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
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
