"""Hostile XML bodies for CompleteMultipartUpload and DeleteObjects.


Entity bombs, external entities, oversized and deeply nested documents, and
more parts or keys than S3 allows: each is refused with S3's error code, in
memory that stays bounded (the server's RSS is read with psutil).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from abuse_support import error_code, signed

from support.live import LiveServer

pytest_plugins = ("abuse_fixtures",)
pytestmark = pytest.mark.usefixtures("still_serving")

MIB = 1024 * 1024


def _laughs() -> bytes:
    """A DTD whose last entity expands to 10**9 copies of "lol"."""
    names = "abcdefghij"
    lines = ['<!ENTITY a "lol">']
    for previous, name in itertools.pairwise(names):
        lines.append(f'<!ENTITY {name} "{f"&{previous};" * 10}">')
    return ('<?xml version="1.0"?>\n<!DOCTYPE bomb [\n' + "\n".join(lines) + "\n]>\n").encode()


LAUGHS = _laughs()
LAST_ENTITY = b"&j;"

EXTERNAL = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>\n'
PARAMETER = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n'


@pytest.fixture
def upload(abuse_s3: Any, abuse_bucket: str) -> Iterator[str]:
    upload_id: str = abuse_s3.create_multipart_upload(Bucket=abuse_bucket, Key="mp")["UploadId"]
    yield upload_id
    abuse_s3.abort_multipart_upload(Bucket=abuse_bucket, Key="mp", UploadId=upload_id)


def complete(server: LiveServer, bucket: str, upload_id: str, body: bytes) -> tuple[int, str]:
    reply = signed(server, "POST", f"/{bucket}/mp?uploadId={upload_id}", body)
    return reply.status, error_code(reply.body)


def delete(server: LiveServer, bucket: str, body: bytes) -> tuple[int, str, bytes]:
    reply = signed(server, "POST", f"/{bucket}?delete", body)
    return reply.status, error_code(reply.body), reply.body


def one_part(etag: bytes) -> bytes:
    return b"<Part><PartNumber>1</PartNumber><ETag>" + etag + b"</ETag></Part>"


def test_billion_laughs_in_complete_multipart(
    abuse_server: LiveServer, abuse_bucket: str, upload: str, server_process: psutil.Process
) -> None:
    before = server_process.memory_info().rss
    body = LAUGHS + b"<CompleteMultipartUpload>" + one_part(LAST_ENTITY)
    body += b"</CompleteMultipartUpload>"
    assert complete(abuse_server, abuse_bucket, upload, body) == (400, "MalformedXML")
    assert server_process.memory_info().rss - before < 32 * MIB


def test_billion_laughs_in_delete_objects(
    abuse_server: LiveServer, abuse_bucket: str, server_process: psutil.Process
) -> None:
    before = server_process.memory_info().rss
    body = LAUGHS + b"<Delete><Object><Key>" + LAST_ENTITY + b"</Key></Object></Delete>"
    assert delete(abuse_server, abuse_bucket, body)[:2] == (400, "MalformedXML")
    assert server_process.memory_info().rss - before < 32 * MIB


@pytest.mark.parametrize("prolog", [EXTERNAL, PARAMETER], ids=["general", "parameter"])
def test_external_entities_are_never_resolved(
    abuse_server: LiveServer, abuse_bucket: str, upload: str, prolog: bytes
) -> None:
    entity = b"&ext;" if prolog is EXTERNAL else b"k"
    status, code, answer = delete(
        abuse_server,
        abuse_bucket,
        prolog + b"<Delete><Object><Key>" + entity + b"</Key></Object></Delete>",
    )
    assert (status, code) == (400, "MalformedXML")
    assert b"root:" not in answer
    body = prolog + b"<CompleteMultipartUpload>" + one_part(entity) + b"</CompleteMultipartUpload>"
    assert complete(abuse_server, abuse_bucket, upload, body) == (400, "MalformedXML")


def test_oversized_bodies_are_refused_in_bounded_memory(
    abuse_server: LiveServer, abuse_bucket: str, upload: str, server_process: psutil.Process
) -> None:
    # Just past each limit (8 MiB, 16 MiB): the server reads and drops the
    # rest, so the client hears the answer; a larger rest is cut off by
    # closing the connection, which the client may see as a reset instead.
    before = server_process.memory_info().rss
    key = b"k" * (8 * MIB + 256 * 1024)
    body = b"<Delete><Object><Key>" + key + b"</Key></Object></Delete>"
    assert delete(abuse_server, abuse_bucket, body)[:2] == (400, "MaxMessageLengthExceeded")
    key = b"k" * (16 * MIB + 256 * 1024)
    body = b"<CompleteMultipartUpload>" + one_part(key) + b"</CompleteMultipartUpload>"
    assert complete(abuse_server, abuse_bucket, upload, body) == (
        400,
        "MaxMessageLengthExceeded",
    )
    assert server_process.memory_info().rss - before < 64 * MIB


def test_deeply_nested_document(abuse_server: LiveServer, abuse_bucket: str) -> None:
    depth = 200_000
    body = b"<Delete>" + b"<a>" * depth + b"</a>" * depth + b"</Delete>"
    assert delete(abuse_server, abuse_bucket, body)[:2] == (400, "MalformedXML")


def parts(count: int) -> bytes:
    listed = b"".join(
        b'<Part><PartNumber>%d</PartNumber><ETag>"%032x"</ETag></Part>' % (n, n)
        for n in range(1, count + 1)
    )
    return b"<CompleteMultipartUpload>" + listed + b"</CompleteMultipartUpload>"


def test_more_than_ten_thousand_parts(
    abuse_server: LiveServer, abuse_bucket: str, upload: str
) -> None:
    assert complete(abuse_server, abuse_bucket, upload, parts(10_001)) == (400, "MalformedXML")
    # Ten thousand is allowed by the schema; these parts were never uploaded.
    assert complete(abuse_server, abuse_bucket, upload, parts(10_000)) == (400, "InvalidPart")


def test_delete_objects_key_limit(
    abuse_server: LiveServer, abuse_s3: Any, abuse_bucket: str
) -> None:
    def keys(count: int) -> bytes:
        listed = b"".join(b"<Object><Key>gone-%d</Key></Object>" % n for n in range(count))
        return b"<Delete><Quiet>true</Quiet>" + listed + b"</Delete>"

    abuse_s3.put_object(Bucket=abuse_bucket, Key="gone-0", Body=b"x")
    assert delete(abuse_server, abuse_bucket, keys(1001))[:2] == (400, "MalformedXML")
    assert abuse_s3.head_object(Bucket=abuse_bucket, Key="gone-0")["ContentLength"] == 1
    assert delete(abuse_server, abuse_bucket, keys(1000))[0] == 200
    listed = abuse_s3.list_objects_v2(Bucket=abuse_bucket, Prefix="gone-")
    assert listed["KeyCount"] == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b"<Delete><Object><Key>unclosed</Key></Object>",
        b"<Wrong><Object><Key>k</Key></Object></Wrong>",
        b"<Delete><Object></Object></Delete>",
        b"<Delete><Quiet>maybe</Quiet><Object><Key>k</Key></Object></Delete>",
        b'<?xml version="1.0" encoding="x-unknown"?><Delete/>',
        b"\xff\xfe<\x00D\x00",
    ],
    ids=["empty", "text", "unclosed", "wrong-root", "no-key", "bad-quiet", "encoding", "utf16"],
)
def test_malformed_delete_objects(abuse_server: LiveServer, abuse_bucket: str, body: bytes) -> None:
    assert delete(abuse_server, abuse_bucket, body)[:2] == (400, "MalformedXML")
