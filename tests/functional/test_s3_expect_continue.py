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
    server: LiveServer,
    path: str,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
    method: str = "PUT",
) -> bytes:
    url = f"{server.endpoint}{path}"
    headers = {"Expect": "100-continue", "Content-Length": str(len(BODY))}
    request = AWSRequest(method=method, url=url, data=BODY, headers=headers)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
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


@pytest.mark.parametrize("query", ["?policy", "?cors", "?lifecycle", "?replication"])
def test_bucket_settings_are_refused_before_the_body(
    server: LiveServer, bucket: str, query: str
) -> None:
    head = signed_head(server, f"/{bucket}{query}", OTHER_KEY, OTHER_SECRET)
    refused(server, head, 403, "AccessDenied")


def test_anonymous_upload_is_answered_before_the_body(server: LiveServer, bucket: str) -> None:
    head = (
        f"PUT /{bucket}/k HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    refused(server, head, 403, "AccessDenied")


def unsigned_head(server: LiveServer, method: str, path: str, content_type: str = "") -> bytes:
    extra = f"Content-Type: {content_type}\r\n" if content_type else ""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n{extra}"
        f"Expect: 100-continue\r\nContent-Length: {len(BODY)}\r\n\r\n"
    ).encode()


def test_delete_objects_on_a_missing_bucket_is_answered_before_the_body(
    server: LiveServer,
) -> None:
    head = signed_head(server, f"/missing-{uuid.uuid4().hex[:12]}?delete", method="POST")
    refused(server, head, 404, "NoSuchBucket")


def test_complete_upload_is_refused_before_the_part_list(
    server: LiveServer, s3: Any, bucket: str
) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    path = f"/{bucket}/mp?uploadId={upload_id}"
    refused(server, signed_head(server, path, OTHER_KEY, OTHER_SECRET, "POST"), 403, "AccessDenied")
    refused(server, unsigned_head(server, "POST", path), 403, "AccessDenied")
    missing = signed_head(server, f"/{bucket}/mp?uploadId=nope", method="POST")
    refused(server, missing, 404, "NoSuchUpload")
    # The upload is untouched: its owner still completes it.
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"x"


def test_create_bucket_is_refused_before_its_configuration(server: LiveServer) -> None:
    name = f"anon-{uuid.uuid4().hex[:12]}"
    refused(server, unsigned_head(server, "PUT", f"/{name}"), 403, "AccessDenied")
    refused(server, signed_head(server, "/Not_A_Bucket"), 400, "InvalidBucketName")


def test_form_upload_to_a_missing_bucket_is_answered_before_the_form(
    server: LiveServer,
) -> None:
    path = f"/missing-{uuid.uuid4().hex[:12]}"
    head = unsigned_head(server, "POST", path, "multipart/form-data; boundary=xyz")
    refused(server, head, 404, "NoSuchBucket")


def test_anonymous_delete_objects_answers_each_key(s3: Any, anon: Any, bucket: str) -> None:
    # Permission is per key, as on S3: a 200 whose every key is AccessDenied.
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    answer = anon.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "kept"}]})
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("kept", "AccessDenied")]
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"x"
