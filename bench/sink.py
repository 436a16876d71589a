"""A bare ASGI sink and source: the reference the server is measured against.

PUT (and POST) read the whole body and drop it; GET streams zeros. The size
a GET returns is the first path segment after the bucket that is a number
(`/bucket/67108864/7` answers 64 MiB), else 0. Everything else is 200 with an
empty body. No parsing, no signatures, no storage: what is left is the cost
of the HTTP server and of the client, which Dolium pays as well.

With --workers N it runs N processes on one socket, as `dolium serve
--workers N` does (dolium.workers): the bench gives it Dolium's count, so
the two are compared on the same number of processes, and the load
generator's ceiling is not one process's.

Usage: python bench/sink.py --port 9001 [--workers N]   (serves on 127.0.0.1 only)
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PIECE = 1024 * 1024  # what one send hands the server
ZEROS = bytes(PIECE)
ETAG = b'"d41d8cd98f00b204e9800998ecf8427e"'


def size_of(path: str) -> int:
    for segment in path.split("/")[2:]:
        if segment.isdigit():
            return int(segment)
    return 0


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    method = scope["method"]
    if method in ("PUT", "POST"):
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False) and message["type"] == "http.request"
        headers = [(b"etag", ETAG), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    size = size_of(scope["path"]) if method in ("GET", "HEAD") else 0
    headers = [
        (b"content-length", str(size).encode()),
        (b"content-type", b"binary/octet-stream"),
        (b"etag", ETAG),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if method == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    left = size
    while left > PIECE:
        await send({"type": "http.response.body", "body": ZEROS, "more_body": True})
        left -= PIECE
    await send({"type": "http.response.body", "body": ZEROS[:left]})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from dolium.serving import bounded_protocol
    from dolium.workers import bind, run_workers

    # The same server options as `dolium serve` (dolium.app.serve), so only the
    # application differs.
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_keep_alive=30,
        http=bounded_protocol(60.0),
        loop="uvloop",
    )
    sock = bind("127.0.0.1", args.port)

    def serve_one() -> None:
        uvicorn.Server(config).run(sockets=[sock])

    if args.workers == 1:
        serve_one()
    else:
        raise SystemExit(run_workers(args.workers, serve_one))


if __name__ == "__main__":
    main()
