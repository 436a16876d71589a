"""Quotas set through the admin API, kept by every kind of write, also when racing."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from admin_support import admin_call, run_admin
from botocore.exceptions import ClientError
from conftest import LiveServer, client, fresh_bucket
from swift_support import new_account


@pytest.fixture
def quota_bucket(s3: Any) -> Iterator[str]:
    with fresh_bucket(s3, "quota") as name:
        yield name


def set_bucket_quota(server: LiveServer, bucket: str, **limits: int | None) -> dict[str, Any]:
    response = admin_call(server, "PUT", f"/buckets/{bucket}/quota", limits)
    assert response.status_code == 200, response.text
    quota: dict[str, Any] = response.json()["quota"]
    return quota


def code_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    error = caught.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


def test_a_bucket_quota_in_bytes(server: LiveServer, s3: Any, quota_bucket: str) -> None:
    assert set_bucket_quota(server, quota_bucket, bytes=1000) == {"bytes": 1000, "objects": None}
    s3.put_object(Bucket=quota_bucket, Key="a", Body=b"x" * 600)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=quota_bucket, Key="b", Body=b"x" * 401)
    status, code, message = code_of(caught)
    assert (status, code) == (403, "QuotaExceeded")
    assert "1000 bytes" in message and quota_bucket in message
    s3.put_object(Bucket=quota_bucket, Key="b", Body=b"x" * 400)  # exactly full
    head = s3.head_bucket(Bucket=quota_bucket)["ResponseMetadata"]["HTTPHeaders"]
    assert head["x-dolium-quota-bytes"] == "1000"
    assert (head["x-dolium-bytes-used"], head["x-dolium-object-count"]) == ("1000", "2")
    # Deleting frees room.
    s3.delete_object(Bucket=quota_bucket, Key="a")
    s3.put_object(Bucket=quota_bucket, Key="c", Body=b"x" * 600)
    # A copy is a write too.
    with pytest.raises(ClientError) as caught:
        s3.copy_object(
            Bucket=quota_bucket, Key="d", CopySource={"Bucket": quota_bucket, "Key": "c"}
        )
    assert code_of(caught)[1] == "QuotaExceeded"
    set_bucket_quota(server, quota_bucket, bytes=None, objects=None)
    assert (
        "x-dolium-quota-bytes"
        not in s3.head_bucket(Bucket=quota_bucket)["ResponseMetadata"]["HTTPHeaders"]
    )
    s3.copy_object(Bucket=quota_bucket, Key="d", CopySource={"Bucket": quota_bucket, "Key": "c"})


def test_a_bucket_quota_in_objects(server: LiveServer, s3: Any, quota_bucket: str) -> None:
    set_bucket_quota(server, quota_bucket, objects=2)
    s3.put_object(Bucket=quota_bucket, Key="a", Body=b"1")
    s3.put_object(Bucket=quota_bucket, Key="b", Body=b"2")
    s3.put_object(Bucket=quota_bucket, Key="a", Body=b"3")  # an overwrite adds no object
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=quota_bucket, Key="c", Body=b"4")
    assert "2 objects" in code_of(caught)[2]


def test_an_upload_that_cannot_fit_is_refused_before_its_body(
    server: LiveServer, s3: Any, quota_bucket: str
) -> None:
    set_bucket_quota(server, quota_bucket, bytes=1 << 20)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": quota_bucket, "Key": "huge"}, ExpiresIn=60
    )
    parts = urlsplit(url)
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {4 * 10**9}\r\n\r\n"
    )
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head.encode())
        chunks = []  # no byte of the 4 GB is sent; the server answers and closes
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks).decode("latin-1")
    assert answer.startswith("HTTP/1.1 403"), answer
    assert "QuotaExceeded" in answer


def test_completing_a_multipart_upload_keeps_the_quota(
    server: LiveServer, s3: Any, quota_bucket: str
) -> None:
    set_bucket_quota(server, quota_bucket, bytes=6 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket=quota_bucket, Key="mp")["UploadId"]
    parts = []
    for number in (1, 2):
        made = s3.upload_part(
            Bucket=quota_bucket, Key="mp", UploadId=upload, PartNumber=number,
            Body=b"p" * (5 * 1024 * 1024),
        )  # fmt: skip
        parts.append({"PartNumber": number, "ETag": made["ETag"]})
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=quota_bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert code_of(caught)[1] == "QuotaExceeded"
    # The upload is still there to complete with fewer parts, or to abort.
    s3.complete_multipart_upload(
        Bucket=quota_bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts[:1]}
    )


def test_racing_writers_never_pass_a_quota(server: LiveServer, s3: Any, quota_bucket: str) -> None:
    set_bucket_quota(server, quota_bucket, bytes=10 * 1024)
    # Fresh clients per thread: the requests reach both worker processes.
    clients = [client(server) for _ in range(8)]

    def put(i: int) -> bool:
        try:
            clients[i % 8].put_object(Bucket=quota_bucket, Key=f"k{i}", Body=b"r" * 1024)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "QuotaExceeded"
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        won = sum(pool.map(put, range(40)))
    assert won == 10
    listed = s3.list_objects_v2(Bucket=quota_bucket)["KeyCount"]
    assert listed == 10


def test_a_tenant_quota_spans_its_buckets_and_apis(server: LiveServer) -> None:
    account = new_account(server)
    tenant = account.tenant
    response = admin_call(server, "PUT", f"/tenants/{tenant}/quota", {"bytes": 1500})
    assert response.json() == {"bytes": 1500, "objects": None}
    assert admin_call(server, "GET", f"/tenants/{tenant}").json()["quota"]["bytes"] == 1500
    s3 = client(server, account.access_key, account.secret)
    one, two = f"q1-{uuid.uuid4().hex[:8]}", f"q2-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=one)
    s3.create_bucket(Bucket=two)
    s3.put_object(Bucket=one, Key="a", Body=b"x" * 1000)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=two, Key="a", Body=b"x" * 501)
    assert code_of(caught)[1] == "QuotaExceeded"
    assert "account quota" in code_of(caught)[2]
    # Swift writes keep it too, with Swift's answer.
    admin_call(server, "PUT", f"/buckets/{two}/quota", {"objects": 100})
    with account.http() as http:
        assert http.head(two).headers["x-dolium-quota-objects"] == "100"
        refused = http.put(f"{two}/swift-object", content=b"y" * 501)
        assert (refused.status_code, refused.text) == (413, "Upload exceeds quota.")
        assert http.put(f"{two}/swift-object", content=b"y" * 500).status_code == 201
        # The quota is the operator's: the owner neither sees nor changes it.
        head = http.head("")
        assert not [h for h in head.headers if "dolium" in h.lower() or ":" in h]
        assert http.post("", headers={"X-Account-Meta-Colour": "blue"}).status_code == 204
    assert admin_call(server, "GET", f"/tenants/{tenant}").json()["quota"]["bytes"] == 1500


def test_quotas_from_the_command_line(server: LiveServer, s3: Any, quota_bucket: str) -> None:
    def run(*args: str) -> str:
        return run_admin(server, "quota", *args, check=True).stdout.strip()

    assert run("bucket", quota_bucket, "--bytes", "2KiB") == (
        f"bucket {quota_bucket}: quota 2048 bytes"
    )
    assert run("bucket", quota_bucket) == f"bucket {quota_bucket}: quota 2048 bytes"
    assert run("bucket", quota_bucket, "--unlimited") == f"bucket {quota_bucket}: quota unlimited"
    assert run("tenant", "other", "--objects", "1000") == "tenant other: quota 1000 objects"
    assert run("tenant", "other", "--unlimited") == "tenant other: quota unlimited"


def test_a_quota_is_not_negative(server: LiveServer, quota_bucket: str) -> None:
    response = admin_call(server, "PUT", f"/buckets/{quota_bucket}/quota", {"bytes": -1})
    assert response.status_code == 400
