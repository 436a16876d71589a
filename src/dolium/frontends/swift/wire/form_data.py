"""A `multipart/form-data` body read as it arrives: one part at a time, each
part's bytes streamed, never the whole body in memory.

The caller asks for the next part's headers, then reads (or skips) its
data before asking for the next. A body that does not start with the
boundary, or ends inside a part, is `FormInvalid`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

# A part's headers longer than this are refused: they are a few lines.
MAX_HEADER_BYTES = 16 * 1024
# Bytes tolerated before the first boundary (a preamble).
MAX_PREAMBLE_BYTES = 64 * 1024


class FormInvalid(Exception):
    """The body is not the form its Content-Type says."""


def boundary_of(content_type: str) -> str | None:
    """The boundary of a `multipart/form-data` Content-Type; None for any other type."""
    kind, *params = (p.strip() for p in content_type.split(";"))
    if kind.lower() != "multipart/form-data":
        return None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary" and value.strip():
            return value.strip().strip('"')
    return None


def disposition(value: str) -> tuple[str, dict[str, str]]:
    """(type, parameters) of a Content-Disposition value."""
    kind, *params = value.split(";")
    attrs: dict[str, str] = {}
    for param in params:
        name, eq, raw = param.strip().partition("=")
        if eq:
            attrs[name.strip().lower()] = raw.strip().strip('"')
    return kind.strip().lower(), attrs


class FormData:
    def __init__(self, body: AsyncIterator[bytes], boundary: str) -> None:
        self._body = body
        # The first delimiter may open the body with no CRLF before it.
        self._buffer = bytearray(b"\r\n")
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._state = "start"  # start, headers (after a delimiter), part, end

    async def _fill(self) -> bool:
        chunk = await anext(self._body, None)
        if chunk is None:
            return False
        self._buffer += chunk
        return True

    async def next_part(self) -> dict[str, str] | None:
        """The next part's headers (lower-case names); None after the last part."""
        if self._state == "part":
            async for _ in self.data():
                pass
        if self._state == "start":
            await self._skip_preamble()
        if self._state == "end":
            return None
        while len(self._buffer) < 2:
            if not await self._fill():
                raise FormInvalid("unexpected end of form")
        if self._buffer[:2] == b"--":
            self._state = "end"
            return None
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEADER_BYTES or not await self._fill():
                raise FormInvalid("invalid form part headers")
        block = bytes(self._buffer[:end]).decode("utf-8", "replace")
        del self._buffer[: end + 4]
        headers: dict[str, str] = {}
        for line in block.split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        self._state = "part"
        return headers

    async def _skip_preamble(self) -> None:
        while (found := self._buffer.find(self._delimiter)) < 0:
            if len(self._buffer) > MAX_PREAMBLE_BYTES or not await self._fill():
                raise FormInvalid("invalid starting boundary")
        del self._buffer[: found + len(self._delimiter)]
        self._state = "headers"

    async def data(self) -> AsyncIterator[bytes]:
        """The current part's bytes, as they arrive."""
        keep = len(self._delimiter) - 1
        while self._state == "part":
            found = self._buffer.find(self._delimiter)
            if found >= 0:
                chunk = bytes(self._buffer[:found])
                del self._buffer[: found + len(self._delimiter)]
                self._state = "headers"
                if chunk:
                    yield chunk
                return
            if len(self._buffer) > keep:
                # All but what could be the start of a delimiter cut in two.
                chunk = bytes(self._buffer[:-keep])
                del self._buffer[:-keep]
                yield chunk
            if not await self._fill():
                raise FormInvalid("unexpected end of form")
