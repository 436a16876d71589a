"""Request body decoders for the S3 front end: aws-chunked framing and SHA-256 checks.

Each decoder wraps the raw body (an async iterator of byte chunks, split
anywhere by the network) and yields payload bytes as they arrive, in memory
bounded by the network chunk size and a short header line. Checks that need
the whole body (chunk signatures, the declared length, the SHA-256, the
trailer) fail at the end of the chunk or of the body: a caller must treat
what it has read as unverified until iteration ends without an error.

Decoders never buffer a whole body, never look at keys, buckets or
permissions, and never log a signature.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator

from dolium.frontends.s3.auth.sigv4 import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    Headers,
    SigningInfo,
    bad_payload_hash,
    fail,
    header_value,
    is_sha256_hex,
    mismatch,
    needs_sigv4,
    same_signature,
    sign,
)
from dolium.frontends.s3.errors import S3Error

# hashlib releases the GIL for large updates, so they go to a worker thread.
THREAD_HASH_MIN = 64 * 1024
MIN_CHUNK = 8192  # S3's smallest chunk but the last
MAX_LINE = 4096  # a chunk header or a trailer line
MAX_TRAILERS = 16
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE = re.compile(rb"[0-9a-fA-F]{64}")


def incomplete() -> S3Error:
    # S3 answers every framing error of an aws-chunked body this way.
    return S3Error(400, "IncompleteBody", "The request body terminated unexpectedly")


def malformed_trailer() -> S3Error:
    message = (
        "The request contained trailing data that was not well-formed "
        "or did not conform to our published schema."
    )
    return S3Error(400, "MalformedTrailerError", message)


async def _update(digest: hashlib._Hash, data: bytes) -> None:
    if len(data) >= THREAD_HASH_MIN:
        await asyncio.to_thread(digest.update, data)
    else:
        digest.update(data)


class Payload:
    """An async iterable of payload bytes; `trailers` is filled when it ends."""

    def __init__(self, body: AsyncIterable[bytes]) -> None:
        self._body = body
        self.trailers: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[bytes]:
        return aiter(self._body)


async def verify_sha256(body: AsyncIterable[bytes], expected_hex: str) -> AsyncIterator[bytes]:
    """Pass the body through, and fail at its end if its SHA-256 is not `expected_hex`."""
    digest = hashlib.sha256()
    async for chunk in body:
        await _update(digest, chunk)
        yield chunk
    computed = digest.hexdigest()
    if computed != expected_hex.lower():
        raise S3Error(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ClientComputedContentSHA256=expected_hex,
            S3ComputedContentSHA256=computed,
        )


class _Input:
    """A small lookahead buffer over the raw body, for lines and counted reads."""

    def __init__(self, body: AsyncIterable[bytes]) -> None:
        self._chunks = aiter(body)
        self._buf = b""
        self._pos = 0

    async def _more(self) -> bool:
        """Append the next non-empty network chunk; False at the end of the body."""
        while True:
            try:
                chunk = bytes(await anext(self._chunks))
            except StopAsyncIteration:
                return False
            if chunk:
                break
        rest = self._buf[self._pos :]
        self._buf = rest + chunk if rest else chunk
        self._pos = 0
        return True

    async def line(self, limit: int) -> bytes:
        """The next CRLF-terminated line (without the CRLF), at most `limit` bytes."""
        scanned = 0
        while True:
            end = self._buf.find(b"\r\n", self._pos + scanned)
            if end >= 0:
                line = self._buf[self._pos : end]
                self._pos = end + 2
                return line
            pending = len(self._buf) - self._pos
            if pending > limit + 1:
                raise incomplete()
            # A CR at the end of the buffer may be the start of the CRLF.
            scanned = max(0, pending - 1)
            if not await self._more():
                raise incomplete()

    async def read(self, count: int) -> bytes:
        """Between 1 and `count` bytes; whole network chunks are passed on uncopied."""
        if self._pos >= len(self._buf) and not await self._more():
            raise incomplete()
        if self._pos == 0 and len(self._buf) <= count:
            piece, self._buf = self._buf, b""
            return piece
        piece = self._buf[self._pos : self._pos + count]
        self._pos += len(piece)
        return piece

    async def at_end(self) -> bool:
        return self._pos >= len(self._buf) and not await self._more()


class AwsChunked(Payload):
    """Decoder of an aws-chunked body, signed (with `signing`) or not.

    Signed chunks chain their signatures from the seed signature of the
    request; the trailer, if any, is signed after the final 0-size chunk.
    """

    def __init__(
        self,
        body: AsyncIterable[bytes],
        decoded_length: int,
        signing: SigningInfo | None,
        trailer: bool,
        declared_trailers: frozenset[str] | None = None,
    ) -> None:
        super().__init__(body)
        self._length = decoded_length
        self._signing = signing
        self._trailer = trailer
        self._declared = declared_trailers

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._decode()

    def _check(self, kind: str, provided: str, previous: str, digest: str) -> str:
        """The chunk's (or trailer's) signature, which the next one chains to."""
        assert self._signing is not None
        info = self._signing
        extra = f"{EMPTY_SHA256}\n" if kind == "PAYLOAD" else ""
        string_to_sign = (
            f"AWS4-HMAC-SHA256-{kind}\n{info.amz_date}\n{info.scope}\n{previous}\n{extra}{digest}"
        )
        expected = sign(info.signing_key, string_to_sign)
        if not same_signature(expected, provided):
            raise mismatch(info.access_key, string_to_sign)
        return expected

    async def _decode(self) -> AsyncIterator[bytes]:
        source = _Input(self._body)
        signed = self._signing is not None
        previous = self._signing.seed_signature if self._signing is not None else ""
        total = number = 0
        short: int | None = None  # size of a data chunk below MIN_CHUNK
        while True:
            size, provided = _chunk_header(await source.line(MAX_LINE), signed)
            number += 1
            if short is not None and size > 0:
                # Only the last data chunk may be small; S3 notices at the next one.
                fields = {"Chunk": str(number), "BadChunkSize": str(short)}
                message = "Only the last chunk is allowed to have a size less than 8192 bytes"
                raise fail(403, "InvalidChunkSizeError", message, fields)
            if size > self._length - total:
                raise incomplete()
            digest = hashlib.sha256() if signed else None
            left = size
            while left:
                piece = await source.read(left)
                if digest is not None:
                    await _update(digest, piece)
                left -= len(piece)
                total += len(piece)
                yield piece
            if digest is not None:
                previous = self._check("PAYLOAD", provided, previous, digest.hexdigest())
            if size == 0:
                break
            if size < MIN_CHUNK:
                short = size
            if await source.line(0) != b"":
                raise incomplete()
        trailers, trailer_signature = await _trailer_section(source)
        if not await source.at_end() or total != self._length:
            raise incomplete()
        if (trailers and not self._trailer) or (
            self._declared is not None and set(trailers) != self._declared
        ):
            raise malformed_trailer()
        if signed and self._trailer:
            if trailer_signature is None:
                raise malformed_trailer()
            canonical = "".join(f"{name}:{value}\n" for name, value in sorted(trailers.items()))
            text_digest = hashlib.sha256(canonical.encode()).hexdigest()
            self._check("TRAILER", trailer_signature, previous, text_digest)
        self.trailers.update(trailers)


def _chunk_header(line: bytes, signed: bool) -> tuple[int, str]:
    size, _, extension = line.partition(b";")
    if _CHUNK_SIZE.fullmatch(size) is None:
        raise incomplete()
    if not signed:
        return int(size, 16), ""
    name, _, signature = extension.partition(b"=")
    if name != b"chunk-signature" or _SIGNATURE.fullmatch(signature) is None:
        raise incomplete()
    return int(size, 16), signature.decode("ascii")


async def _trailer_section(source: _Input) -> tuple[dict[str, str], str | None]:
    """The trailer lines up to the empty line that ends the body."""
    trailers: dict[str, str] = {}
    signature = None
    lines = 0
    while line := await source.line(MAX_LINE):
        name, colon, value = line.partition(b":")
        lines += 1
        if not colon or lines > MAX_TRAILERS + 1:  # the trailers and their signature
            raise malformed_trailer()
        key = name.strip().decode("latin-1").lower()
        if key == "x-amz-trailer-signature":
            signature = value.strip().decode("latin-1")
        else:
            trailers[key] = value.strip().decode("latin-1")
    return trailers, signature


def open_payload(
    body: AsyncIterable[bytes], headers: Headers, signing: SigningInfo | None
) -> Payload:
    """The decoder for a request body, chosen by its verified signing mode.

    `signing` is None for an anonymous request; the x-amz-content-sha256
    header then chooses, and a signed streaming mode is refused.
    """
    mode = signing.payload if signing is not None else header_value(headers, "x-amz-content-sha256")
    if mode is None or mode == UNSIGNED_PAYLOAD:
        return Payload(body)
    if is_sha256_hex(mode):
        return Payload(verify_sha256(body, mode))
    if mode not in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER):
        raise bad_payload_hash(mode)
    signed = mode != STREAMING_UNSIGNED_TRAILER
    if signed and signing is None:
        raise needs_sigv4(mode)
    length = header_value(headers, "x-amz-decoded-content-length")
    if length is None:
        raise S3Error(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
    if not length.isdigit() or not length.isascii():
        message = "x-amz-decoded-content-length must be a non-negative integer"
        raise S3Error(400, "InvalidArgument", message, ArgumentName="x-amz-decoded-content-length")
    declared = header_value(headers, "x-amz-trailer")
    names = None
    if declared is not None:
        names = frozenset(n.strip().lower() for n in declared.split(",") if n.strip())
    trailer = mode != STREAMING_SIGNED
    return AwsChunked(body, int(length), signing if signed else None, trailer, names)
