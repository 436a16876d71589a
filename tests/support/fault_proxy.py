"""An HTTP/1.1 proxy on 127.0.0.1 that injects faults between a client and a server.

It runs its own event loop in a thread, so that async tests and tests that
drive a live server with blocking clients (boto3) can both use it. Requests
are read one at a time (clients do not pipeline); answers are piped back
byte for byte. On demand it:

- `slow(seconds)`: holds each request that long before forwarding it;
- `slowdown(n)`: answers the next n requests itself with 503 SlowDown, as S3
  asks a client to slow down, keeping the connection; `refuse(n, status,
  code)` alike with another S3 error;
- `reset(n)`: resets the connection of the next n requests once their head is
  read, before their body: the socket closes mid-request.

`seen` records each request as (method, path, what was done with it:
refused, reset, slow or forward).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any

ERROR_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>Injected by the test proxy.</Message></Error>"
)


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._delay = 0.0
        self._slowdowns = 0
        self._refusal = (503, "SlowDown")
        self._resets = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- control, from any thread ---------------------------------------------
    def slow(self, seconds: float) -> None:
        with self._lock:
            self._delay = seconds

    def slowdown(self, count: int) -> None:
        self.refuse(count, 503, "SlowDown")

    def refuse(self, count: int, status: int, code: str) -> None:
        """Answer the next `count` requests with S3 error `code` and `status`."""
        with self._lock:
            self._slowdowns = count
            self._refusal = (status, code)

    def reset(self, count: int) -> None:
        with self._lock:
            self._resets = count

    def faults(self, kind: str) -> int:
        """How many requests were met with `kind` (refused, reset, slow, forward)."""
        with self._lock:
            return sum(1 for _, _, done in self.seen if done == kind)

    def start(self) -> FaultProxy:
        self._thread.start()
        self._server = self._run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        self._run(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    # -- the proxy, on its loop -------------------------------------------------
    def _take(self, method: str, path: str) -> tuple[str, float, tuple[int, str]]:
        with self._lock:
            if self._resets:
                self._resets -= 1
                done = "reset"
            elif self._slowdowns:
                self._slowdowns -= 1
                done = "refused"
            else:
                done = "slow" if self._delay else "forward"
            self.seen.append((method, path, done))
            return done, self._delay, self._refusal

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        pipe: asyncio.Task[None] | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path = head.decode("latin-1").split(" ", 2)[:2]
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                done, delay, (status, code) = self._take(method, path)
                if done == "reset":
                    _reset(writer)
                    return
                body = await reader.readexactly(length)
                if done == "refused":
                    writer.write(_error_answer(method, status, code))
                    await writer.drain()
                    continue
                if done == "slow":
                    await asyncio.sleep(delay)
                if upstream is None:
                    up_reader, upstream = await asyncio.open_connection(
                        "127.0.0.1", self.upstream_port
                    )
                    pipe = asyncio.ensure_future(_pipe(up_reader, writer))
                upstream.write(head + body)
                await upstream.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if pipe is not None:
                pipe.cancel()
                with contextlib.suppress(BaseException):
                    await pipe
            for stream in (upstream, writer):
                if stream is not None:
                    stream.close()
            self._tasks.discard(task)


def _error_answer(method: str, status: int, code: str) -> bytes:
    body = ERROR_BODY.format(code=code).encode()
    head = (
        f"HTTP/1.1 {status} {code}\r\n"
        "Content-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head if method == "HEAD" else head + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed peer or a middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    # The server closed its side: so does the proxy, for the client to see.
    writer.close()
