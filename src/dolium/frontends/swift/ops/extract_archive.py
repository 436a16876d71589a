"""Archive upload: PUT a tar (plain, gzip or bzip2) with `?extract-archive=`
and each regular file in it becomes an object, as Swift's bulk middleware
makes them.

The path says where: `/v1/AUTH_a/<container>[/<prefix>]` puts a file
`dir/f` at `<container>/<prefix>/dir/f`; the account path takes each file's
first directory as its container (created if the caller owns the account),
and ignores files at the top level. The answer is 200 with Swift's bulk body:
`Number Files Created`, and the files that failed with their status.

The archive is read as it arrives: `tarfile` in stream mode runs in a
worker thread on a blocking view of the request body, and hands each file's
bytes back to the event loop a chunk at a time, where they are written as
an object's body. Memory stays at a few chunks whatever the archive's size.
"""

from __future__ import annotations

import asyncio
import logging
import tarfile
import threading
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from io import RawIOBase
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from dolium.core.access.actions import Action
from dolium.core.content.blocks import MAX_PUT_SIZE
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, BucketAlreadyExists, DoliumError
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError, status_line, status_of
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops.bulk_delete import MAX_PATH_LENGTH, refused_status
from dolium.frontends.swift.ops.objects import body_of, declared_length
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import bulk_response, metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import container_address

log = logging.getLogger("dolium.swift")

FORMATS = ("tar", "tar.gz", "tar.bz2")
MAX_CONTAINERS_PER_EXTRACTION = 10000
MAX_FAILED_EXTRACTIONS = 1000
_CHUNK = 64 * 1024
# Events in flight between the reading thread and the writer: a few chunks.
_QUEUE = 4

INFO: dict[str, object] = {
    "max_containers_per_extraction": MAX_CONTAINERS_PER_EXTRACTION,
    "max_failed_extractions": MAX_FAILED_EXTRACTIONS,
}


class _Stop(Exception):
    """The writer gave up: the reading thread ends."""


class _BodyFile(RawIOBase):
    """The request body as a blocking file, for `tarfile` in a worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, body: AsyncIterator[bytes]) -> None:
        self._loop, self._body = loop, body
        self._pending = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    async def _next(self) -> bytes | None:
        return await anext(self._body, None)

    def read(self, size: int | None = -1) -> bytes:
        while not self._pending and not self._ended:
            chunk = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
            if chunk is None:
                self._ended = True
            else:
                self._pending = chunk
        if size is None or size < 0:
            size = len(self._pending)
        out, self._pending = self._pending[:size], self._pending[size:]
        return out


@dataclass
class _Event:
    kind: str  # "file", "data", "end" (of a file), "error", "done"
    name: str = ""
    size: int = 0
    data: bytes = b""


def _walk(fileobj: _BodyFile, emit: Callable[[_Event], None]) -> None:
    """Read the archive (in the worker thread), emitting each regular file's bytes."""
    try:
        with tarfile.open(mode="r|*", fileobj=fileobj) as tar:
            for info in tar:
                if not info.isfile():
                    continue
                emit(_Event("file", info.name, info.size))
                member = tar.extractfile(info)
                assert member is not None  # a regular file has data
                while chunk := member.read(_CHUNK):
                    emit(_Event("data", data=chunk))
                emit(_Event("end"))
        emit(_Event("done"))
    except _Stop:
        return
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        emit(_Event("error", str(exc)))
    except Exception as exc:  # the writer must hear of it, or it waits forever
        log.error("reading an archive failed", exc_info=exc)
        emit(_Event("error", "unreadable archive"))


class _Reader:
    """The events of one archive, read in a worker thread."""

    def __init__(self, request: SwiftRequest) -> None:
        loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[_Event] = asyncio.Queue(_QUEUE)
        self.stopped = threading.Event()
        body = _BodyFile(loop, body_of(request))

        def emit(event: _Event) -> None:
            if self.stopped.is_set():
                raise _Stop
            asyncio.run_coroutine_threadsafe(self.queue.put(event), loop).result()

        self.task = asyncio.create_task(asyncio.to_thread(_walk, body, emit))
        self.in_file = False
        self.ended: _Event | None = None

    async def next(self) -> _Event:
        """The next file, or how the archive ended ("done" or "error")."""
        if self.ended is not None:
            return self.ended
        await self.skip_file()
        event = await self.queue.get()
        if event.kind in ("done", "error"):
            self.ended = event
        self.in_file = event.kind == "file"
        return event

    async def file_data(self) -> AsyncIterator[bytes]:
        """The current file's bytes, up to its end (or the archive's, if broken)."""
        while self.in_file:
            event = await self.queue.get()
            if event.kind == "data":
                yield event.data
                continue
            self.in_file = False
            if event.kind in ("done", "error"):
                self.ended = event

    async def skip_file(self) -> None:
        async for _ in self.file_data():
            pass

    async def close(self) -> None:
        """Stop the thread, freeing it if it waits to hand over an event."""
        self.stopped.set()
        while not self.task.done():
            try:
                await asyncio.wait_for(self.queue.get(), 0.1)
            except TimeoutError:
                continue
        await self.task


@dataclass
class _Run:
    created: int = 0
    containers_made: int = 0
    failed: list[tuple[str, str]] | None = None
    server_error: bool = False

    def fail(self, path: str, status: int) -> None:
        assert self.failed is not None
        self.failed.append((quote(path[:MAX_PATH_LENGTH]), status_line(status)))
        self.server_error = self.server_error or status >= 500


def _destination(base: str, name: str) -> str:
    path = name[2:] if name.startswith("./") else name
    path = path.lstrip("/")
    return f"{base}/{path}" if base else path


async def _ensure_container(request: SwiftRequest, container: str, run: _Run) -> None:
    if not request.is_owner:
        return  # a member writes where an ACL lets it, into containers that exist
    try:
        await request.store.buckets.create_container(request.account, container)
    except BucketAlreadyExists:
        return
    run.containers_made += 1
    if run.containers_made > MAX_CONTAINERS_PER_EXTRACTION:
        raise SwiftError(
            400, f"More than {MAX_CONTAINERS_PER_EXTRACTION} containers to create from tar."
        )


async def _put(request: SwiftRequest, reader: _Reader, path: str, size: int) -> int:
    """Write one file of the archive as an object; its status."""
    container, _, key = path.partition("/")
    address = container_address(request.account, container)
    store, principal = request.store, request.principal
    if auth.is_member(principal, request.account) and not await store.containers.member_allows(
        principal, address, Action.WRITE
    ):
        return refused_status(request)
    headers = request.http.headers
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    opts = WriteOptions(
        content_type=oh.content_type({}, key), meta=metadata.present(changes), declared_size=size
    )
    expires = oh.delete_at(headers, store.ctx.clock())
    try:
        await quotas.check_write(request.store, request.account, container, size)
        await store.objects.put(principal, address, key, reader.file_data(), opts)
        await store.expiry.set(principal, address, key, expires)
    except AccessDenied:
        return refused_status(request)
    except SwiftError as exc:
        return exc.status
    except DoliumError as exc:
        return status_of(exc) or 502
    return 201


async def _extract(request: SwiftRequest, reader: _Reader, base: str, run: _Run) -> dict[str, Any]:
    accessed: set[str] = set()
    assert run.failed is not None
    while (event := await reader.next()).kind == "file":
        if len(run.failed) >= MAX_FAILED_EXTRACTIONS:
            break
        path = _destination(base, event.name)
        status = 0
        if "/" not in path:
            pass  # a file at the top level of an account: no container to go in
        elif _invalid_utf8(path):
            status = 412
        elif event.size > MAX_PUT_SIZE:
            status = 413
        else:
            container = path.partition("/")[0]
            if container not in accessed and request.may_reach(container):
                await _ensure_container(request, container, run)
                accessed.add(container)
            status = await _put(request, reader, path, event.size)
            if status == 201:
                run.created += 1
                continue
        if status:
            run.fail(path, status)
    if event.kind == "error":
        return {
            "Response Status": status_line(400),
            "Response Body": f"Invalid Tar File: {event.name}",
        }
    if run.failed:
        return {"Response Status": status_line(502 if run.server_error else 400)}
    if not run.created:
        return {
            "Response Status": status_line(400),
            "Response Body": "Invalid Tar File: No Valid Files",
        }
    return {}


def _invalid_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\x00" in path


async def extract(request: SwiftRequest) -> Response:
    kind = request.query.get("extract-archive", "").lower().strip(".")
    if kind not in FORMATS:
        raise SwiftError(400, "Unsupported archive format")
    fmt = bulk_response.out_format(request.header("accept"))
    run = _Run(failed=[])
    results: dict[str, Any] = {"Response Status": status_line(201), "Response Body": ""}
    if fmt is None:
        results["Response Status"] = status_line(406)
    else:
        try:
            declared_length(request)
            reader = _Reader(request)
            try:
                results |= await _extract(request, reader, _base(request), run)
            finally:
                await reader.close()
        except SwiftError as exc:
            results |= {"Response Status": status_line(exc.status), "Response Body": exc.text}
    results["Number Files Created"] = run.created
    out = fmt or bulk_response.PLAIN
    body = bulk_response.render(out, results, run.failed or [], "extract")
    return Response(body, status_code=200, media_type=bulk_response.media_type(out))


def _base(request: SwiftRequest) -> str:
    return "/".join(p for p in (request.container, request.obj) if p).rstrip("/")
