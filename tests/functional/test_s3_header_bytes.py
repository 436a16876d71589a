"""Header values byte for byte: non-ASCII user metadata and Content-Encoding as sent.

SDKs refuse non-ASCII metadata (botocore does), so these requests are signed
with botocore's SigV4 signer and sent with httpx as raw bytes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from signed import ROOT


def send_raw(method: str, url: str, headers: dict[str, str], body: bytes = b"") -> httpx.Response:
    """Sign `headers` as text and send each value as its UTF-8 bytes."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    S3SigV4Auth(ROOT, "s3", "us-east-1").add_auth(request)
    wire = [(k.encode(), v.encode("utf-8")) for k, v in request.headers.items()]
    return httpx.request(method, url, content=body, headers=wire)


def raw_header(response: httpx.Response, name: bytes) -> bytes | None:
    for key, value in response.headers.raw:
        if key.lower() == name:
            return value
    return None


VALUES = [
    "caf\u00e9",
    "\u4e2d\u6587 \u2615",
    "na\u00efve \U0001f600",
    "\u00e9t\u00e9 d'\u00e9t\u00e9",
]


@pytest.mark.parametrize("value", VALUES)
def test_non_ascii_metadata_round_trips_as_utf8(
    server: Any, s3: Any, bucket: str, value: str
) -> None:
    url = f"{server.endpoint}/{bucket}/meta"
    put = send_raw("PUT", url, {"x-amz-meta-note": value}, b"data")
    assert put.status_code == 200, put.text
    for method in ("GET", "HEAD"):
        got = send_raw(method, url, {})
        assert got.status_code == 200
        assert raw_header(got, b"x-amz-meta-note") == value.encode("utf-8")
    # A copy keeps it; a multipart upload takes it like PutObject.
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "meta"})
    copied = send_raw("HEAD", f"{server.endpoint}/{bucket}/copy", {})
    assert raw_header(copied, b"x-amz-meta-note") == value.encode("utf-8")
    created = send_raw("POST", f"{server.endpoint}/{bucket}/mp?uploads", {"x-amz-meta-note": value})
    assert created.status_code == 200, created.text
    upload_id = created.text.split("<UploadId>")[1].split("</UploadId>")[0]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    done = send_raw("HEAD", f"{server.endpoint}/{bucket}/mp", {})
    assert raw_header(done, b"x-amz-meta-note") == value.encode("utf-8")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("aws-chunked, gzip", b"gzip"),
        ("aws-chunked,gzip", b"gzip"),
        ("gzip, aws-chunked", b"gzip"),
        ("deflate, gzip", b"deflate, gzip"),
        ("aws-chunked, deflate, gzip", b"deflate, gzip"),
        ("deflate, aws-chunked, gzip", b"deflate, gzip"),
        ("br", b"br"),
        ("aws-chunked", None),
    ],
)
def test_content_encoding_is_stored_without_aws_chunked(
    server: Any, s3: Any, bucket: str, sent: str, stored: bytes | None
) -> None:
    url = f"{server.endpoint}/{bucket}/enc"
    put = send_raw("PUT", url, {"Content-Encoding": sent}, b"data")
    assert put.status_code == 200, put.text
    assert raw_header(send_raw("HEAD", url, {}), b"content-encoding") == stored
    # httpx would decode a gzip body: GET through boto3, which does not.
    got = s3.get_object(Bucket=bucket, Key="enc")
    assert got.get("ContentEncoding") == (stored.decode() if stored else None)
    assert got["Body"].read() == b"data"
    created = send_raw("POST", f"{server.endpoint}/{bucket}/mp?uploads", {"Content-Encoding": sent})
    upload_id = created.text.split("<UploadId>")[1].split("</UploadId>")[0]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    done = send_raw("HEAD", f"{server.endpoint}/{bucket}/mp", {})
    assert raw_header(done, b"content-encoding") == stored


def test_streaming_upload_with_gzip_stores_gzip(s3: Any, bucket: str) -> None:
    # boto3 sends a streaming (aws-chunked) body with a checksum trailer.
    s3.put_object(
        Bucket=bucket, Key="z", Body=b"zz", ContentEncoding="gzip", ChecksumAlgorithm="CRC32"
    )
    assert s3.head_object(Bucket=bucket, Key="z")["ContentEncoding"] == "gzip"


def test_rfc2047_metadata_from_boto3_comes_back_as_sent(s3: Any, bucket: str) -> None:
    # botocore refuses non-ASCII metadata before sending it; an SDK user
    # sends an RFC 2047 encoded word instead, and must get that word back
    # unchanged (S3 decodes it to store and encodes it again to return it).
    word = "=?UTF-8?B?w6l0w6k=?="  # "été"
    s3.put_object(Bucket=bucket, Key="word", Body=b"x", Metadata={"note": word})
    assert s3.head_object(Bucket=bucket, Key="word")["Metadata"] == {"note": word}
    assert s3.get_object(Bucket=bucket, Key="word")["Metadata"] == {"note": word}


def test_non_ascii_metadata_is_never_re_encoded(server: Any, bucket: str) -> None:
    # S3 takes raw UTF-8 bytes for latin-1 characters and returns them as an
    # encoded word of their double encoding ("é" -> "=?UTF-8?B?w4PCqQ==?=");
    # Dolium returns the bytes, so the client reads back what it wrote.
    url = f"{server.endpoint}/{bucket}/raw"
    assert send_raw("PUT", url, {"x-amz-meta-note": "\u00e9"}, b"x").status_code == 200
    got = raw_header(send_raw("HEAD", url, {}), b"x-amz-meta-note")
    assert got == "\u00e9".encode()
    assert got is not None and not got.startswith(b"=?")
