"""Streaming multipart/form-data for browser uploads (POST Object).

The fields before the `file` part are read into memory, at most `limit`
bytes of body for all of them with their boundaries and headers (S3 allows
20 KiB). The file part is then handed out as an async iterator that never
holds more than one received chunk plus a delimiter's length. Whatever
follows the file part is left unread: S3 ignores it.

Every error is an `S3Error`: 412 PreconditionFailed for a body of another
type, MalformedPOSTRequest for one that is not multipart/form-data as RFC
7578 draws it, MaxPostPreDataLengthExceeded for fields that are too large.
This module knows no policy, no signature and no store.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from dolium.frontends.s3.errors import S3Error

MALFORMED = "The body of your POST request is not well-formed multipart/form-data."
_PARAM = re.compile(r'\s*;?\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_QUOTED_PAIR = re.compile(r'\\([\\"])')
_MAX_BOUNDARY = 70  # RFC 2046


def malformed() -> S3Error:
    return S3Error(400, "MalformedPOSTRequest", MALFORMED)


def too_large(limit: int) -> S3Error:
    # S3's code and message, spelling included.
    return S3Error(
        400,
        "MaxPostPreDataLengthExceeded",
        "Your POST request fields preceeding the upload file was too large.",
        MaxPostPreDataLengthBytes=str(limit),
    )


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """The lower-cased main value of a header and its parameters (names lower-cased).

    Quoted values lose their quotes and the backslash before `"` or `\\`;
    any other backslash is kept, as browsers send Windows paths unescaped.
    A parameter that cannot be read ends the list; the first of a name wins.
    """
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    at = 0
    while at < len(rest):
        match = _PARAM.match(rest, at)
        if match is None or match.end() == at:
            break
        name, raw = match.group(1).lower(), match.group(2)
        raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw.strip()
        params.setdefault(name, raw)
        at = match.end()
    return head.strip().lower(), params


def boundary_of(content_type: str) -> bytes:
    """The boundary of a multipart/form-data Content-Type; 412 for another type."""
    media, params = header_params(content_type)
    if media != "multipart/form-data":
        raise S3Error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            Condition="Bucket POST must be of the enclosure-type multipart/form-data",
        )
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > _MAX_BOUNDARY or not boundary.isascii():
        raise malformed()
    return boundary.encode("ascii")


@dataclass
class FilePart:
    filename: str | None  # None when the part has no filename parameter
    content_type: str | None
    offset: int  # bytes of the body before the file's first byte
    chunks: AsyncIterator[bytes]


@dataclass
class Form:
    fields: list[tuple[str, bytes]]  # (name as sent, value), in order, before the file
    file: FilePart | None  # None: the body closed without a part named `file`


class _Reader:
    def __init__(self, body: AsyncIterator[bytes], boundary: bytes, limit: int) -> None:
        self.body = body
        self.delimiter = b"\r\n--" + boundary
        # A CRLF in front lets the first boundary, at the very start of the
        # body, be found like every later delimiter.
        self.buf = bytearray(b"\r\n")
        self.consumed = -2
        self.limit = limit
        self.eof = False
        self.in_file = False

    async def fill(self) -> bool:
        while not self.eof:
            chunk = await anext(self.body, None)
            if chunk is None:
                self.eof = True
            elif chunk:
                self.buf += chunk
                return True
        return False

    async def need(self, size: int) -> None:
        while len(self.buf) < size and await self.fill():
            pass

    def take(self, size: int) -> bytes:
        data = bytes(self.buf[:size])
        del self.buf[:size]
        self.consumed += size
        if not self.in_file and self.consumed > self.limit:
            raise too_large(self.limit)
        return data

    async def until(self, marker: bytes) -> bytes:
        """The bytes before `marker`, which is consumed too (fields only: bounded)."""
        start = 0
        while True:
            at = self.buf.find(marker, start)
            if at >= 0:
                data = self.take(at)
                self.take(len(marker))
                return data
            if self.consumed + len(self.buf) > self.limit + len(marker):
                raise too_large(self.limit)
            start = max(0, len(self.buf) - len(marker) + 1)
            if not await self.fill():
                raise malformed()

    async def file_chunks(self) -> AsyncIterator[bytes]:
        keep = len(self.delimiter) - 1  # a delimiter may straddle two chunks
        while True:
            at = self.buf.find(self.delimiter)
            if at >= 0:
                if at:
                    yield self.take(at)
                return
            if len(self.buf) > keep:
                yield self.take(len(self.buf) - keep)
            if not await self.fill():
                raise malformed()  # S3 never stores a part of an object


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise malformed()
        headers.setdefault(name.strip().lower(), value.strip())
    return headers


async def read_form(body: AsyncIterator[bytes], boundary: bytes, limit: int) -> Form:
    """The fields up to the `file` part, and that part's data as a stream.

    Only a `form-data` part named `file` (in any case) is the file; any
    other part counts as a field, whatever its filename parameter says.
    """
    reader = _Reader(body, boundary, limit)
    await reader.until(reader.delimiter)  # the preamble, usually empty
    fields: list[tuple[str, bytes]] = []
    while True:
        await reader.need(2)
        if reader.buf.startswith(b"--"):
            return Form(fields, None)
        if (await reader.until(b"\r\n")).strip(b" \t"):
            raise malformed()  # the boundary was only the prefix of a line
        await reader.need(2)
        if reader.buf.startswith(b"\r\n"):
            reader.take(2)
            headers: dict[str, str] = {}
        else:
            headers = _headers(await reader.until(b"\r\n\r\n"))
        disposition, params = header_params(headers.get("content-disposition", ""))
        name = params.get("name")
        if name is None:
            raise malformed()
        if disposition == "form-data" and name.lower() == "file":
            reader.in_file = True
            part = FilePart(
                params.get("filename"),
                headers.get("content-type"),
                reader.consumed,
                reader.file_chunks(),
            )
            return Form(fields, part)
        fields.append((name, await reader.until(reader.delimiter)))
