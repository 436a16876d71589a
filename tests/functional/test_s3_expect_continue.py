"""`Expect: 100-continue`: a refused upload is answered before its body is sent.

Each test writes a request head on a raw socket, reads what the server
answers before any body byte has gone, and only then (if the server said
100 Continue) sends the body.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import OTHER_KEY, OTHER_SECRET, ROOT_KEY, ROOT_SECRET, LiveServer
from defusedxml import ElementTree

BODY = b"x" * 1000


def signed_head(
    server: LiveServer, path: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET
) -> bytes:
    url = f"{server.endpoint}{path}"
    headers = {"Expect": "100-continue", "Content-Length": str(len(BODY))}
    request = AWSRequest(method="PUT", url=url, data=BODY, headers=headers)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    lines = [f"PUT {path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def first_answer(server: LiveServer, head: bytes) -> tuple[int, bytes, socket.socket]:
    """Send `head` alone and read the first response the server gives."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(head)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data, sock


def read_rest(sock: socket.socket, data: bytes) -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


def refused(server: LiveServer, head: bytes, status: int, code: str) -> None:
    got, data, sock = first_answer(server, head)
    with sock:
        assert got == status, data
        body = read_rest(sock, data)
    assert ElementTree.fromstring(body).findtext("Code") == code


def test_accepted_upload_gets_100_continue(server: LiveServer, s3: Any, bucket: str) -> None:
    status, data, sock = first_answer(server, signed_head(server, f"/{bucket}/ok"))
    with sock:
        assert status == 100, data
        sock.sendall(BODY)
        rest = data.partition(b"\r\n\r\n")[2]
        while b"\r\n\r\n" not in rest:
            rest += sock.recv(65536)
        assert rest.startswith(b"HTTP/1.1 200"), rest
    assert s3.get_object(Bucket=bucket, Key="ok")["Body"].read() == BODY


def test_bad_signature_is_answered_before_the_body(server: LiveServer, bucket: str) -> None:
    head = signed_head(server, f"/{bucket}/k", secret="not-the-secret")
    refused(server, head, 403, "SignatureDoesNotMatch")


def test_unknown_key_is_answered_before_the_body(server: LiveServer, bucket: str) -> None:
    head = signed_head(server, f"/{bucket}/k", key="DKNOSUCHKEY000000000")
    refused(server, head, 403, "InvalidAccessKeyId")


def test_missing_bucket_is_answered_before_the_body(server: LiveServer) -> None:
    head = signed_head(server, f"/missing-{uuid.uuid4().hex[:12]}/k")
    refused(server, head, 404, "NoSuchBucket")


@pytest.mark.parametrize(
    "query", ["", "?partNumber=1&uploadId=nope", "?acl", "?retention", "?legal-hold"]
)
def test_permission_denied_is_answered_before_the_body(
    server: LiveServer, bucket: str, query: str
) -> None:
    head = signed_head(server, f"/{bucket}/k{query}", OTHER_KEY, OTHER_SECRET)
    refused(server, head, 403, "AccessDenied")


def test_anonymous_upload_is_answered_before_the_body(server: LiveServer, bucket: str) -> None:
    head = (
        f"PUT /{bucket}/k HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    refused(server, head, 403, "AccessDenied")
