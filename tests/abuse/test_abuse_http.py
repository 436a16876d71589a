"""Hostile HTTP framing: request smuggling, header floods, slow clients,

bad Content-Length and Range values.

Requests go out on raw sockets, so the bytes are exactly the attacker's.
Where a request would be executed, it is query-signed (a presigned URL), so
that only the framing, never the signature, decides whether it runs.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import psutil
import pytest
from abuse_support import error_code, exchange, presigned_path, signed, statuses
from botocore.exceptions import ClientError

from support.live import LiveServer, client, running

pytest_plugins = ("abuse_fixtures",)
pytestmark = pytest.mark.usefixtures("still_serving")

MIB = 1024 * 1024
FULLWIDTH_ONE = "\uff11"  # a digit to str.isdigit(), not to HTTP


def host_of(server: LiveServer) -> str:
    return f"{server.host}:{server.port}"  # signed: a presigned URL names it


def presigned_put(
    server: LiveServer, bucket: str, key: str, length: int | str, body: str = ""
) -> str:
    """A raw, query-signed PUT of `key` whose Content-Length says `length`, right or not."""
    path = presigned_path(server, "put_object", bucket, key)
    return (
        f"PUT {path} HTTP/1.1\r\nHost: {host_of(server)}\r\nContent-Length: {length}\r\n\r\n{body}"
    )


def exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False
    return True


# -- request smuggling ----------------------------------------------------------------

# Each case: the head and body of a first request, in which a complete second
# request hides. {first} is the first request's target, {second} the whole
# smuggled request. The framing is ambiguous or broken: the server must refuse
# it (400) or close, and never run the smuggled PUT.
SMUGGLING = {
    "content-length-and-chunked": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {both}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{second}"
    ),
    "chunked-and-content-length": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Length: 3\r\n\r\n0\r\n\r\n{second}"
    ),
    "two-content-lengths": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\n"
        "Content-Length: {body}\r\n\r\nhello{second}"
    ),
    "content-length-list": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5, {body}\r\n\r\nhello{second}"
    ),
    "obfuscated-transfer-encoding": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: xchunked\r\n"
        "Content-Length: 5\r\n\r\nhello{second}"
    ),
    "transfer-encoding-space-before-colon": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding : chunked\r\n"
        "Content-Length: 5\r\n\r\n0\r\n\r\n{second}"
    ),
    "chunked-not-last": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
        "0\r\n\r\n{second}"
    ),
    "bad-chunk-size": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "zz\r\nhello\r\n0\r\n\r\n{second}"
    ),
    "chunk-size-overflow": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "10000000000000005\r\nhello\r\n0\r\n\r\n{second}"
    ),
    "chunk-longer-than-declared": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhelloXX\r\n0\r\n\r\n{second}"
    ),
    "header-line-folding": (
        "PUT {first} HTTP/1.1\r\nHost: {host}\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n"
        "Content-Length: 5\r\n\r\n0\r\n\r\n{second}"
    ),
    "bare-newlines": (
        "PUT {first} HTTP/1.1\nHost: {host}\nTransfer-Encoding: chunked\nContent-Length: 5\n\n"
        "0\r\n\r\n{second}"
    ),
}


@pytest.mark.parametrize("case", sorted(SMUGGLING))
def test_ambiguous_framing_is_refused_and_nothing_is_smuggled(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str, case: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = presigned_path(abuse_server, "put_object", abuse_bucket, f"front-{tag}")
    smuggled_key = f"smuggled-{tag}"
    second = presigned_put(abuse_server, abuse_bucket, smuggled_key, 5, "evil!")
    request = SMUGGLING[case].format(
        host=host_of(abuse_server),
        first=first,
        second=second,
        body=5 + len(second),
        both=len("0\r\n\r\n") + len(second),
    )

    answers = statuses(exchange(abuse_server, request.encode()))

    assert answers in ([], [400]), answers
    assert not exists(abuse_s3, abuse_bucket, smuggled_key)


def test_pipelined_requests_both_run(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str
) -> None:
    """The control for the cases above: well-framed, the same two requests both run."""
    tag = uuid.uuid4().hex[:8]
    requests = "".join(
        presigned_put(abuse_server, abuse_bucket, key, 5, "fine!")
        for key in (f"front-{tag}", f"smuggled-{tag}")
    )

    assert statuses(exchange(abuse_server, requests.encode())) == [200, 200]
    assert exists(abuse_s3, abuse_bucket, f"smuggled-{tag}")


def test_a_request_in_a_body_stays_body(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str
) -> None:
    """A GET's body holding a whole request: one answer, and the inner PUT never runs."""
    host = host_of(abuse_server)
    abuse_s3.put_object(Bucket=abuse_bucket, Key="target", Body=b"target")
    smuggled_key = f"smuggled-{uuid.uuid4().hex[:8]}"
    inner = presigned_put(abuse_server, abuse_bucket, smuggled_key, 5, "evil!")
    get = presigned_path(abuse_server, "get_object", abuse_bucket, "target")
    request = f"GET {get} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(inner)}\r\n\r\n{inner}"

    received = exchange(abuse_server, request.encode())

    assert statuses(received) == [200], received
    assert received.endswith(b"target")
    assert not exists(abuse_s3, abuse_bucket, smuggled_key)


# -- header floods ---------------------------------------------------------------------


def test_thousands_of_headers(abuse_server: LiveServer, abuse_bucket: str) -> None:
    host = host_of(abuse_server)
    path = presigned_path(abuse_server, "get_object", abuse_bucket, "canary")
    flood = "".join(f"X-Flood-{i}: {i}\r\n" for i in range(10_000))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{flood}\r\n"
    answers = statuses(exchange(abuse_server, request.encode()))
    assert answers in ([], [400], [431]), answers


def test_one_megabyte_header(abuse_server: LiveServer, abuse_bucket: str) -> None:
    host = host_of(abuse_server)
    path = presigned_path(abuse_server, "get_object", abuse_bucket, "canary")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * MIB}\r\n\r\n"
    answers = statuses(exchange(abuse_server, request.encode()))
    assert answers in ([], [431]), answers


def test_endless_header_is_cut_off_in_bounded_memory(
    abuse_server: LiveServer, server_process: psutil.Process
) -> None:
    before = server_process.memory_info().rss
    offered = 64 * MIB
    sent = 0
    piece = b"a" * (64 * 1024)
    with socket.create_connection((abuse_server.host, abuse_server.port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Endless: ")
        try:
            while sent < offered:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass  # the server closed the connection: what we want
    assert sent < offered, "the server read a 64 MiB header without closing"
    assert server_process.memory_info().rss - before < 32 * MIB


def test_header_section_larger_than_s3_allows(abuse_server: LiveServer) -> None:
    """A signed, complete request whose headers add up to more than 8 KiB."""
    reply = signed(abuse_server, "GET", "/", headers={"x-amz-meta-pad": "p" * 9000})
    assert reply.status == 400
    assert error_code(reply.body) == "RequestHeaderSectionTooLarge"
    assert b"<MaxSizeAllowed>8192</MaxSizeAllowed>" in reply.body
    assert signed(abuse_server, "GET", "/", headers={"x-amz-meta-pad": "p" * 6000}).status == 200


# -- slow clients ----------------------------------------------------------------------


def test_slow_clients_do_not_block_others(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str
) -> None:
    """Slowloris: clients that send their heads a byte at a time hold no one up."""
    head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: 1\r\n\r\n"
    slow = [
        socket.create_connection((abuse_server.host, abuse_server.port), timeout=30)
        for _ in range(50)
    ]
    try:
        for sock in slow:
            sock.sendall(head[:5])
        # While all fifty are stuck mid-head, an ordinary client is served.
        abuse_s3.put_object(Bucket=abuse_bucket, Key="while-slow", Body=b"served")
        got = abuse_s3.get_object(Bucket=abuse_bucket, Key="while-slow")
        assert got["Body"].read() == b"served"
        # One of them trickles in the rest of its head, a byte at a time,
        # with ordinary requests in between; then it is answered too.
        trickler = slow[0]
        for position in range(5, len(head)):
            trickler.sendall(head[position : position + 1])
            if position % 8 == 0:
                assert abuse_s3.list_objects_v2(Bucket=abuse_bucket)["KeyCount"] >= 1
        answer = trickler.recv(65536)
        assert answer.startswith(b"HTTP/1.1 403")  # unsigned: refused, but answered
    finally:
        for sock in slow:
            sock.close()


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that gives a request head one second."""
    data = tmp_path_factory.mktemp("impatient") / "data"
    with running(data, {"DOLIUM_HEAD_TIMEOUT": "1"}) as server:
        yield server


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_head_that_never_ends_is_timed_out(impatient: LiveServer) -> None:
    with socket.create_connection((impatient.host, impatient.port), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ")
        answer = read_until_closed(sock)  # a 30 s socket timeout would raise
    assert statuses(answer) == [408]
    # One that sends nothing at all is closed without a word.
    with socket.create_connection((impatient.host, impatient.port), timeout=30) as sock:
        assert read_until_closed(sock) == b""


def test_the_head_timeout_spares_bodies_and_kept_alive_heads(impatient: LiveServer) -> None:
    s3 = client(impatient)
    s3.create_bucket(Bucket="slow")
    path = presigned_path(impatient, "put_object", "slow", "k")
    host = f"{impatient.host}:{impatient.port}"
    with socket.create_connection((impatient.host, impatient.port), timeout=30) as sock:
        sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\r\n".encode())
        for byte in b"body":  # a body may take longer than a head may
            time.sleep(0.6)
            sock.sendall(bytes([byte]))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        # A second request on the same connection gets its own second.
        time.sleep(0.6)
        sock.sendall(f"HEAD /slow/k HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert sock.recv(65536).startswith(b"HTTP/1.1 403")  # unsigned, but answered
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == b"body"


# -- Content-Length --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["-1", "-0", "abc", "+5", "0x10", "5.0", "99999999999999999999999999", FULLWIDTH_ONE]
)
def test_malformed_content_length(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str, value: str
) -> None:
    key = f"cl-{uuid.uuid4().hex[:8]}"
    request = presigned_put(abuse_server, abuse_bucket, key, value, "hello")
    answers = statuses(exchange(abuse_server, request.encode("utf-8")))
    assert answers in ([], [400]), answers
    assert not exists(abuse_s3, abuse_bucket, key)


def test_content_length_past_the_s3_maximum_is_refused_at_once(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str
) -> None:
    """6 GiB declared, nothing sent: EntityTooLarge without waiting for the body."""
    key = f"huge-{uuid.uuid4().hex[:8]}"
    head = presigned_put(abuse_server, abuse_bucket, key, 6 * 1024**3)
    with socket.create_connection((abuse_server.host, abuse_server.port), timeout=30) as sock:
        sock.sendall(head.encode())
        received = b""
        while b"</Error>" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer: {received!r}"
            received += chunk
    assert statuses(received) == [400]
    assert error_code(received) == "EntityTooLarge"
    assert b"connection: close" in received.lower()
    assert not exists(abuse_s3, abuse_bucket, key)


def test_decoded_content_length_that_is_not_a_number(
    abuse_server: LiveServer, abuse_bucket: str
) -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    reply = signed(
        abuse_server,
        "PUT",
        f"/{abuse_bucket}/aws-chunked",
        body,
        headers={
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": "-5",
        },
    )
    assert reply.status == 400


# -- Range -----------------------------------------------------------------------------

DIGITS = b"0123456789"

# Range value -> (status, body). S3 ignores a Range it cannot parse (200 and the
# whole object), and answers 416 InvalidRange to one it can parse but not satisfy.
RANGES = {
    "bytes=abc": (200, DIGITS),
    "bytes=5-2": (200, DIGITS),
    "bytes=--1": (200, DIGITS),
    "bytes=1-2x": (200, DIGITS),
    "bytes=0-0,2-3": (200, DIGITS),
    "items=0-1": (200, DIGITS),
    "bytes=-1": (206, b"9"),
    "bytes=3-": (206, b"3456789"),
    "bytes=0-18446744073709551616": (206, DIGITS),
    "bytes=-99999999999999999999999999": (206, DIGITS),
    "bytes=10-": (416, b""),
    "bytes=10-20": (416, b""),
    "bytes=-0": (416, b""),
    "bytes=99999999999999999999999999-": (416, b""),
}


@pytest.mark.parametrize("value", sorted(RANGES))
def test_absurd_ranges(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str, value: str
) -> None:
    abuse_s3.put_object(Bucket=abuse_bucket, Key="digits", Body=DIGITS)
    status, body = RANGES[value]
    reply = signed(abuse_server, "GET", f"/{abuse_bucket}/digits", headers={"Range": value})
    assert reply.status == status
    if status == 416:
        assert error_code(reply.body) == "InvalidRange"
    else:
        assert reply.body == body


@pytest.mark.parametrize(
    "number", ["0", "-1", "abc", "10001", "99999999999999999999", FULLWIDTH_ONE]
)
def test_absurd_part_numbers(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str, number: str
) -> None:
    abuse_s3.put_object(Bucket=abuse_bucket, Key="digits", Body=DIGITS)
    reply = signed(abuse_server, "GET", f"/{abuse_bucket}/digits?partNumber={quote(number)}")
    assert reply.status == 400
    assert error_code(reply.body) == "InvalidArgument"
