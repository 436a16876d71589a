"""Body decoders: aws-chunked (signed, with trailers, unsigned) and x-amz-content-sha256.

The signed vectors are the worked examples of the S3 API reference; the
unsigned-trailer bodies come from boto3 itself. Bodies are fed split at
arbitrary places, as the network splits them.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import hashlib
import hmac
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence

import boto3
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from dolium.frontends.s3.auth import payload as pl
from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.errors import S3Error
from dolium.model import AccessKey, Principal

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
STAMP = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
T2013 = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))
KEY = sigv4.signing_key(SK, "20130524", "us-east-1")
A = b"a" * 66560

# The two chunked uploads of the S3 API reference: seed, chunk and trailer signatures.
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = (
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
)
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def aws_body(signatures: Sequence[str], *trailer_lines: str) -> bytes:
    first, second, last = (f";chunk-signature={s}" for s in signatures)
    parts = [f"10000{first}\r\n".encode() + A[:65536], f"400{second}\r\n".encode() + A[:1024]]
    parts += [f"0{last}".encode(), *(line.encode() for line in trailer_lines), b"", b""]
    return b"\r\n".join(parts)


AWS_BODY = aws_body(CHUNK_SIGNATURES)
AWS_TRAILER_BODY = aws_body(
    TRAILER_CHUNK_SIGNATURES,
    "x-amz-checksum-crc32c:sOO8/Q==",
    f"x-amz-trailer-signature:{TRAILER_SIGNATURE}",
)


def signing(payload: str, seed: str = SEED) -> sigv4.SigningInfo:
    return sigv4.SigningInfo(AK, SCOPE, STAMP, payload, KEY, seed)


def encode(
    chunks: Iterable[bytes],
    info: sigv4.SigningInfo | None,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """An aws-chunked body, written from the AWS description (checked against its examples)."""
    out, previous = [], info.seed_signature if info else ""
    for chunk in [*chunks, b""]:
        if info is None:
            out.append(f"{len(chunk):x}\r\n".encode())
        else:
            digest = hashlib.sha256(chunk).hexdigest()
            text = f"AWS4-HMAC-SHA256-PAYLOAD\n{STAMP}\n{SCOPE}\n{previous}\n{sigv4.EMPTY_SHA256}"
            previous = hmac.new(KEY, f"{text}\n{digest}".encode(), "sha256").hexdigest()
            out.append(f"{len(chunk):x};chunk-signature={previous}\r\n".encode())
        out.append(chunk + b"\r\n" if chunk else b"")
    for name, value in (trailers or {}).items():
        out.append(f"{name}:{value}\r\n".encode())
    if info is not None and trailers is not None:
        canonical = "".join(f"{n}:{v}\n" for n, v in sorted(trailers.items()))
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        text = f"AWS4-HMAC-SHA256-TRAILER\n{STAMP}\n{SCOPE}\n{previous}\n{digest}"
        signature = hmac.new(KEY, text.encode(), "sha256").hexdigest()
        out.append(f"x-amz-trailer-signature:{signature}\r\n".encode())
    out.append(b"\r\n")
    return b"".join(out)


async def feed(data: bytes, cuts: Iterable[int] = ()) -> AsyncIterator[bytes]:
    """The body as the network delivers it, cut at the given offsets."""
    start = 0
    for cut in sorted({min(max(c, 0), len(data)) for c in cuts}):
        yield data[start:cut]  # empty pieces happen too
        start = cut
    yield data[start:]


def every(step: int, data: bytes) -> range:
    return range(step, len(data), step)


async def read(payload: AsyncIterable) -> bytes:  # type: ignore[type-arg]
    return b"".join([piece async for piece in payload])


def chunked(
    data: bytes,
    info: sigv4.SigningInfo | None,
    length: int,
    trailer: bool = False,
    declared: frozenset[str] | None = None,
    cuts: Iterable[int] = (),
) -> pl.AwsChunked:
    return pl.AwsChunked(feed(data, cuts), length, info, trailer, declared)


async def fails(payload: AsyncIterable, status: int, code: str) -> S3Error:  # type: ignore[type-arg]
    with pytest.raises(S3Error) as info:
        await read(payload)
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


# --- the examples of the S3 API reference ----------------------------------------------------


def test_the_test_encoder_writes_the_aws_examples() -> None:
    assert encode([A[:65536], A[:1024]], signing(sigv4.STREAMING_SIGNED)) == AWS_BODY
    trailers = {"x-amz-checksum-crc32c": "sOO8/Q=="}
    info = signing(sigv4.STREAMING_SIGNED_TRAILER, TRAILER_SEED)
    assert encode([A[:65536], A[:1024]], info, trailers) == AWS_TRAILER_BODY
    assert len(AWS_BODY) == 66824  # the Content-Length of the example


class OneKey:
    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        return (AccessKey(AK, SK, "t", "u"), Principal("t", "u", AK)) if access_key == AK else None


def example_headers(trailer: bool) -> list[tuple[str, str]]:
    mode = sigv4.STREAMING_SIGNED_TRAILER if trailer else sigv4.STREAMING_SIGNED
    signed = "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
    signed += "x-amz-storage-class;x-amz-trailer" if trailer else "x-amz-storage-class"
    if not trailer:
        signed = signed.replace("content-encoding;", "content-encoding;content-length;")
    signature = TRAILER_SEED if trailer else SEED
    headers = [
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", STAMP),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", mode),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        *(
            [("x-amz-trailer", "x-amz-checksum-crc32c")]
            if trailer
            else [("content-length", "66824")]
        ),
        (
            "authorization",
            f"AWS4-HMAC-SHA256 Credential={AK}/{SCOPE},"
            f"SignedHeaders={signed},Signature={signature}",
        ),
    ]
    return headers


@pytest.mark.parametrize("trailer", [False, True])
@pytest.mark.parametrize("step", [66824 + 200, 65536, 4096, 1000, 7, 1])
async def test_aws_chunked_upload_examples(trailer: bool, step: int) -> None:
    headers = example_headers(trailer)
    ctx = sigv4.parse_request_auth("PUT", "/examplebucket/chunkObject.txt", "", headers)
    assert ctx is not None
    _, _, info = await sigv4.verify(ctx, OneKey(), "us-east-1", T2013)
    body = AWS_TRAILER_BODY if trailer else AWS_BODY
    payload = pl.open_payload(feed(body, every(step, body)), headers, info)
    assert isinstance(payload, pl.AwsChunked)
    assert await read(payload) == A
    assert payload.trailers == ({"x-amz-checksum-crc32c": "sOO8/Q=="} if trailer else {})


@pytest.mark.parametrize("index", [0, 1, 2])
async def test_aws_example_with_a_bad_chunk_signature(index: int) -> None:
    signatures = list(CHUNK_SIGNATURES)
    signatures[index] = signatures[index][:-1] + "0"
    payload = chunked(aws_body(signatures), signing(sigv4.STREAMING_SIGNED), 66560)
    error = await fails(payload, 403, "SignatureDoesNotMatch")
    assert error.fields["StringToSign"].startswith(f"AWS4-HMAC-SHA256-PAYLOAD\n{STAMP}\n{SCOPE}\n")
    assert signatures[index] not in str(error.fields)


async def test_aws_example_with_changed_data() -> None:
    body = AWS_BODY.replace(b"a" * 10, b"b" * 10, 1)
    await fails(chunked(body, signing(sigv4.STREAMING_SIGNED), 66560), 403, "SignatureDoesNotMatch")


async def test_aws_example_with_a_bad_trailer() -> None:
    info = signing(sigv4.STREAMING_SIGNED_TRAILER, TRAILER_SEED)
    for old, new in ((TRAILER_SIGNATURE[:8], "00000000"), (b"sOO8/Q==", b"sOO8/Q=A")):
        old_b = old if isinstance(old, bytes) else old.encode()
        new_b = new if isinstance(new, bytes) else new.encode()
        body = AWS_TRAILER_BODY.replace(old_b, new_b)
        error = await fails(chunked(body, info, 66560, trailer=True), 403, "SignatureDoesNotMatch")
        assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")


# --- every split, every mode ------------------------------------------------------------------


SMALL = b"hello, \r\n world\r\n"
CRC = {"x-amz-checksum-crc32": "AAAAAA=="}
MODES = {
    "signed": (signing(sigv4.STREAMING_SIGNED), False, None),
    "signed-trailer": (signing(sigv4.STREAMING_SIGNED_TRAILER), True, CRC),
    "unsigned-trailer": (None, True, {**CRC, "x-amz-meta-x": "1"}),
    "unsigned-no-trailer": (None, True, None),
}  # fmt: skip


@pytest.mark.parametrize("mode", MODES)
async def test_small_body_split_at_every_byte(mode: str) -> None:
    info, trailer, trailers = MODES[mode]
    body = encode([SMALL], info, trailers)
    splits = [[i] for i in range(len(body) + 1)] + [list(range(len(body)))]
    for cuts in splits:
        payload = chunked(body, info, len(SMALL), trailer, cuts=cuts)
        assert await read(payload) == SMALL, cuts
        assert payload.trailers == (trailers or {})


async def test_tiny_unsigned_body_split_at_every_pair_of_places() -> None:
    body = encode([b"ab"], None, {"x-amz-checksum-sha1": "x"})
    for i in range(len(body) + 1):
        for j in range(i, len(body) + 1):
            assert await read(chunked(body, None, 2, True, cuts=[i, j])) == b"ab"


@given(
    data=st.binary(max_size=40_000),
    size=st.integers(8192, 20_000),
    cuts=st.lists(st.integers(0, 45_000), max_size=20),
    mode=st.sampled_from(sorted(MODES)),
)
@settings(max_examples=60, deadline=None)
def test_round_trip(data: bytes, size: int, cuts: list[int], mode: str) -> None:
    info, trailer, trailers = MODES[mode]
    body = encode([data[i : i + size] for i in range(0, len(data), size)], info, trailers)
    payload = chunked(body, info, len(data), trailer, cuts=cuts)
    assert asyncio.run(read(payload)) == data
    assert payload.trailers == (trailers or {})


async def test_a_large_chunk_is_streamed_not_buffered() -> None:
    data = bytes(range(256)) * (16 * 1024)  # one 4 MiB chunk
    body = encode([data], signing(sigv4.STREAMING_SIGNED))
    payload = chunked(body, signing(sigv4.STREAMING_SIGNED), len(data), cuts=every(65536, body))
    pieces = [piece async for piece in payload]
    assert b"".join(pieces) == data
    assert max(map(len, pieces)) <= 65536


# --- framing errors ---------------------------------------------------------------------------

BODY = encode([b"x" * 9000, b"y" * 10], signing(sigv4.STREAMING_SIGNED))


@pytest.mark.parametrize(
    "body",
    [
        BODY[: BODY.rindex(b"0;chunk-signature=")],  # ends before the final chunk
        BODY[:-2],  # no CRLF after the final chunk
        BODY[:-1],
        BODY + b"\r\n",  # bytes after the end
        BODY.replace(b"2328;", b"2g28;", 1),  # not hexadecimal
        BODY.replace(b"2328;", b";", 1),
        BODY.replace(b"2328;", b"2328 ;", 1),
        BODY.replace(b";chunk-signature=", b";chunk-signatur=", 1),
        BODY.replace(b";chunk-signature=", b"\r\n", 1),
        BODY.replace(b"y" * 10 + b"\r\n", b"y" * 10 + b"\n", 1),  # bare LF
        BODY.replace(b"y" * 10 + b"\r\n", b"y" * 10 + b"XX", 1),
        b"1" * 5000 + BODY,  # an endless header line
        b"",
    ],
)
async def test_bad_framing_is_an_incomplete_body(body: bytes) -> None:
    error = await fails(chunked(body, signing(sigv4.STREAMING_SIGNED), 9010), 400, "IncompleteBody")
    assert error.message == "The request body terminated unexpectedly"


@pytest.mark.parametrize("length", [9009, 9011, 0])
async def test_decoded_length_must_match(length: int) -> None:
    await fails(chunked(BODY, signing(sigv4.STREAMING_SIGNED), length), 400, "IncompleteBody")


@pytest.mark.parametrize("info", [signing(sigv4.STREAMING_SIGNED), None])
async def test_only_the_last_chunk_may_be_small(info: sigv4.SigningInfo | None) -> None:
    body = encode([b"a" * 8191, b"b" * 8192, b"c"], info)
    payload = chunked(body, info, 8191 + 8192 + 1, trailer=info is None)
    error = await fails(payload, 403, "InvalidChunkSizeError")
    assert error.message == "Only the last chunk is allowed to have a size less than 8192 bytes"
    assert error.fields == {"Chunk": "2", "BadChunkSize": "8191"}


SIGNED = signing(sigv4.STREAMING_SIGNED)
SIGNED_TRAILER = signing(sigv4.STREAMING_SIGNED_TRAILER)


def without_trailer_signature(body: bytes) -> bytes:
    return body[: body.index(b"x-amz-trailer-signature")] + b"\r\n"


@pytest.mark.parametrize(
    ("body", "info", "trailer", "declared"),
    [
        # x-amz-trailer declared, and no trailer sent.
        (encode([b"x"], SIGNED), SIGNED, False, frozenset(CRC)),
        (encode([b"x"], None), None, True, frozenset(CRC)),
        # A trailer on a body whose mode has none.
        (encode([b"x"], None, CRC), None, False, None),
        (encode([b"x"], SIGNED, CRC), SIGNED, False, None),
        # Another trailer than the declared one.
        (encode([b"x"], None, {"x-amz-checksum-sha1": "AA=="}), None, True, frozenset(CRC)),
        # A signed trailer without its signature.
        (
            without_trailer_signature(encode([b"x"], SIGNED_TRAILER, CRC)),
            SIGNED_TRAILER,
            True,
            None,
        ),
        # A trailer line without a colon; too many trailers.
        (encode([b"x"], None, CRC).replace(b"crc32:", b"crc32="), None, True, None),
        (encode([b"x"], None, {f"x-amz-meta-{i}": "v" for i in range(18)}), None, True, None),
        (
            encode([b"x"], None, CRC).replace(
                b"\r\n\r\n", b"\r\n" + b"x-amz-trailer-signature:0\r\n" * 17 + b"\r\n"
            ),
            None,
            True,
            None,
        ),
    ],
)
async def test_malformed_trailers(
    body: bytes, info: sigv4.SigningInfo | None, trailer: bool, declared: frozenset[str] | None
) -> None:
    error = await fails(chunked(body, info, 1, trailer, declared), 400, "MalformedTrailerError")
    assert error.message == (
        "The request contained trailing data that was not well-formed "
        "or did not conform to our published schema."
    )


async def test_unsigned_chunks_ignore_a_signature_and_extensions() -> None:
    body = b"3;chunk-signature=abc;ext=1\r\nabc\r\n0\r\nx-amz-trailer-signature:zz\r\n\r\n"
    payload = chunked(body, None, 3, trailer=True)
    assert await read(payload) == b"abc"
    assert payload.trailers == {}


# --- x-amz-content-sha256 -----------------------------------------------------------------------


@pytest.mark.parametrize("step", [1, 1000, 70_000, 300_000])
async def test_verify_sha256(step: int) -> None:
    data = bytes(range(256)) * 1024
    digest = hashlib.sha256(data).hexdigest()
    assert await read(pl.verify_sha256(feed(data, every(step, data)), digest)) == data
    assert await read(pl.verify_sha256(feed(data), digest.upper())) == data


async def test_sha256_mismatch_fails_at_the_end() -> None:
    expected = hashlib.sha256(b"123456789").hexdigest()
    seen = []
    with pytest.raises(S3Error) as info:
        async for piece in pl.verify_sha256(feed(b"987654321", [3, 6]), expected):
            seen.append(piece)
    assert b"".join(seen) == b"987654321"
    error = info.value
    assert (error.status, error.code) == (400, "XAmzContentSHA256Mismatch")
    assert error.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
    assert error.fields == {
        "ClientComputedContentSHA256": expected,
        "S3ComputedContentSHA256": hashlib.sha256(b"987654321").hexdigest(),
    }


# --- choosing the decoder -----------------------------------------------------------------------


async def test_open_payload_by_mode() -> None:
    data = b"content"
    digest = hashlib.sha256(data).hexdigest()
    plain = pl.open_payload(feed(data), [], signing(sigv4.UNSIGNED_PAYLOAD))
    assert await read(plain) == data and plain.trailers == {}
    assert await read(pl.open_payload(feed(data), [], signing(digest))) == data
    await fails(
        pl.open_payload(feed(b"other"), [], signing(digest)), 400, "XAmzContentSHA256Mismatch"
    )
    # Anonymous requests: the header chooses, but cannot ask for signed chunks.
    assert await read(pl.open_payload(feed(data), [], None)) == data
    headers = [("x-amz-content-sha256", digest)]
    await fails(pl.open_payload(feed(b"other"), headers, None), 400, "XAmzContentSHA256Mismatch")
    headers = [
        ("x-amz-content-sha256", sigv4.STREAMING_UNSIGNED_TRAILER),
        ("x-amz-decoded-content-length", "7"),
    ]
    assert await read(pl.open_payload(feed(encode([data], None)), headers, None)) == data


@pytest.mark.parametrize(
    ("headers", "info", "status", "code"),
    [
        ([("x-amz-content-sha256", sigv4.STREAMING_SIGNED), ("x-amz-decoded-content-length", "1")],
         None, 400, "InvalidRequest"),
        ([("x-amz-content-sha256", "sha256")], None, 400, "InvalidArgument"),
        ([], SIGNED, 411, "MissingContentLength"),
        ([("x-amz-decoded-content-length", "-1")], SIGNED, 400, "InvalidArgument"),
        ([("x-amz-decoded-content-length", "1e3")], SIGNED, 400, "InvalidArgument"),
        ([("x-amz-decoded-content-length", "\u0661")], SIGNED, 400, "InvalidArgument"),
    ],
)  # fmt: skip
def test_open_payload_errors(
    headers: list[tuple[str, str]], info: sigv4.SigningInfo | None, status: int, code: str
) -> None:
    with pytest.raises(S3Error) as error:
        pl.open_payload(feed(b""), headers, info)
    assert (error.value.status, error.value.code) == (status, code)


async def test_open_payload_reads_the_declared_trailers() -> None:
    headers = [("x-amz-decoded-content-length", "1"), ("x-amz-trailer", " X-Amz-Checksum-CRC32 ")]
    body = encode([b"x"], SIGNED_TRAILER, CRC)
    payload = pl.open_payload(feed(body), headers, SIGNED_TRAILER)
    assert await read(payload) == b"x" and payload.trailers == CRC
    body = encode([b"x"], SIGNED_TRAILER, {"x-amz-checksum-sha256": "AA=="})
    await fails(pl.open_payload(feed(body), headers, SIGNED_TRAILER), 400, "MalformedTrailerError")


# --- boto3's own aws-chunked bodies ---------------------------------------------------------------


class Sent(Exception):
    def __init__(self, request: object) -> None:
        super().__init__("captured")
        self.request = request


def stop(request: object, **_: object) -> None:
    raise Sent(request)


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA256"])
@pytest.mark.parametrize("size", [0, 5, 3 * 1024 * 1024 + 17])
async def test_boto3_unsigned_trailer_checksums(algorithm: str, size: int) -> None:
    # Over HTTPS boto3 sends PutObject as aws-chunked with the checksum in a trailer.
    client = boto3.client(
        "s3", endpoint_url="https://s3.test", region_name="us-east-1",
        aws_access_key_id=AK, aws_secret_access_key=SK,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )  # fmt: skip
    client.meta.events.register("before-send", stop)
    data = bytes(range(251)) * (size // 251) + b"z" * (size % 251)
    with pytest.raises(Sent) as sent:
        client.put_object(Bucket="bucket", Key="a b", Body=data, ChecksumAlgorithm=algorithm)
    client.close()
    request = sent.value.request
    headers = [
        (k.lower(), v.decode("latin-1") if isinstance(v, bytes) else v)
        for k, v in request.headers.items()  # type: ignore[attr-defined]
    ]
    assert ("host", "s3.test") in headers
    body = request.body.read()  # type: ignore[attr-defined]
    url = request.url.split("?")[0].removeprefix("https://s3.test")  # type: ignore[attr-defined]
    ctx = sigv4.parse_request_auth("PUT", url, "", headers)
    assert ctx is not None
    _, _, info = await sigv4.verify(ctx, OneKey(), "us-east-1", ctx.request_time)
    assert info.payload == sigv4.STREAMING_UNSIGNED_TRAILER
    for cuts in ([], every(65536, body), every(1_000_003, body)):
        payload = pl.open_payload(feed(body, cuts), headers, info)
        assert await read(payload) == data
        name = f"x-amz-checksum-{algorithm.lower()}"
        assert set(payload.trailers) == {name}
        if algorithm == "CRC32":
            expected = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
            assert payload.trailers[name] == expected
        if algorithm == "SHA256":
            assert (
                payload.trailers[name] == base64.b64encode(hashlib.sha256(data).digest()).decode()
            )
