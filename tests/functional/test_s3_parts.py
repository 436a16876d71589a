"""Multipart objects read by part number, and copied into single-part objects."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer

MIB = 1024 * 1024


def signed(method: str, url: str, body: bytes = b"") -> httpx.Response:
    request = AWSRequest(method=method, url=url, data=body)
    S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    return httpx.request(method, url, content=body, headers=dict(request.headers.items()))


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


@pytest.fixture
def multipart_object(s3: Any, bucket: str) -> list[bytes]:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 1), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=data
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": done}
    )
    return parts


def test_get_and_head_each_part(s3: Any, bucket: str, multipart_object: list[bytes]) -> None:
    total = sum(len(p) for p in multipart_object)
    etag = s3.head_object(Bucket=bucket, Key="mp")["ETag"]
    offset = 0
    for number, data in enumerate(multipart_object, 1):
        got = s3.get_object(Bucket=bucket, Key="mp", PartNumber=number)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["PartsCount"] == 3
        assert got["ContentLength"] == len(data)
        assert got["ContentRange"] == f"bytes {offset}-{offset + len(data) - 1}/{total}"
        assert got["ETag"] == etag  # the object's, not the part's
        assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()
        head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=number)
        assert head["ContentLength"] == len(data)
        assert head["PartsCount"] == 3
        offset += len(data)
    # Without partNumber the whole object, and no parts count (as S3 answers).
    whole = s3.get_object(Bucket=bucket, Key="mp")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "PartsCount" not in whole
    assert whole["Body"].read() == b"".join(multipart_object)


def test_part_out_of_range(s3: Any, bucket: str, multipart_object: list[bytes]) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=4)
    assert error(exc) == (416, "InvalidPartNumber")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=0)
    assert error(exc) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="mp", PartNumber=1, Range="bytes=0-9")
    assert error(exc) == (400, "InvalidRequest")


def test_plain_object_has_one_part(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 0-9/10"
    assert "PartsCount" not in got
    assert got["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=2)
    assert error(exc) == (416, "InvalidPartNumber")


def test_put_with_part_number_needs_upload_id(server: LiveServer, s3: Any, bucket: str) -> None:
    response = signed("PUT", f"{server.endpoint}/{bucket}/k?partNumber=1", b"data")
    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.content
    assert b"<ArgumentName>partNumber</ArgumentName>" in response.content
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    response = signed("PUT", f"{server.endpoint}/{bucket}/k?uploadId={upload}", b"data")
    assert response.status_code == 405
    assert b"<ResourceType>UPLOAD</ResourceType>" in response.content
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_copy_of_multipart_object_is_single_part(
    s3: Any, bucket: str, multipart_object: list[bytes]
) -> None:
    data = b"".join(multipart_object)
    result = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mp"})
    md5 = f'"{hashlib.md5(data).hexdigest()}"'
    assert result["CopyObjectResult"]["ETag"] == md5
    head = s3.head_object(Bucket=bucket, Key="copy", PartNumber=1)
    assert head["ETag"] == md5
    assert head["ContentLength"] == len(data)
    assert "PartsCount" not in head
    # The source keeps its multipart ETag and its parts.
    assert s3.head_object(Bucket=bucket, Key="mp")["ETag"].endswith('-3"')


def test_copy_turns_composite_checksum_into_full_object(s3: Any, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="crc", ChecksumAlgorithm="SHA256")
    done = []
    for number, data in enumerate(parts, 1):
        answer = s3.upload_part(
            Bucket=bucket,
            Key="crc",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
        done.append(
            {
                "PartNumber": number,
                "ETag": answer["ETag"],
                "ChecksumSHA256": answer["ChecksumSHA256"],
            }
        )
    s3.complete_multipart_upload(
        Bucket=bucket, Key="crc", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    source = s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert source["ChecksumSHA256"].endswith("-2")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "crc"})
    copied = s3.head_object(Bucket=bucket, Key="copy", ChecksumMode="ENABLED")
    whole = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert copied["ChecksumSHA256"] == whole
    assert copied["ChecksumType"] == "FULL_OBJECT"
