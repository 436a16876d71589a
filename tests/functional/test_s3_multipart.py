"""Multipart uploads with boto3."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def upload_parts(
    s3: Any, bucket: str, key: str, parts: list[bytes]
) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for number, data in enumerate(parts, 1):
        etag = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    return upload_id, done


def test_complete(s3: Any, bucket: str) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 7), os.urandom(1234)]
    upload_id, done = upload_parts(s3, bucket, "mp", parts)
    result = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert result["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-3"'
    body = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
    assert body == b"".join(parts)
    head = s3.head_object(Bucket=bucket, Key="mp")
    assert head["ContentLength"] == sum(len(p) for p in parts)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert code(exc) == "NoSuchUpload"


def test_entity_too_small(s3: Any, bucket: str) -> None:
    upload_id, done = upload_parts(s3, bucket, "small", [b"a" * 100, b"b" * 100])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=upload_id, MultipartUpload={"Parts": done}
        )
    assert code(exc) == "EntityTooSmall"


def test_invalid_part_and_order(s3: Any, bucket: str) -> None:
    upload_id, done = upload_parts(s3, bucket, "bad", [os.urandom(5 * MIB), b"end"])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="bad",
            UploadId=upload_id,
            MultipartUpload={"Parts": [done[1], done[0]]},
        )
    assert code(exc) == "InvalidPartOrder"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="bad",
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]
            },
        )
    assert code(exc) == "InvalidPart"


def test_part_number_bounds(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    for number in (0, 10001):
        with pytest.raises(ClientError) as exc:
            s3.upload_part(
                Bucket=bucket, Key="pn", UploadId=upload_id, PartNumber=number, Body=b"x"
            )
        assert code(exc) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="pn", UploadId=upload_id)


def test_abort_and_no_such_upload(s3: Any, bucket: str) -> None:
    upload_id, _ = upload_parts(s3, bucket, "ab", [b"x"])
    s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=upload_id)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="ab", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert code(exc) == "NoSuchUpload"
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId="nonexistent")
    assert code(exc) == "NoSuchUpload"


def test_list_parts_and_uploads_paginate(s3: Any, bucket: str) -> None:
    upload_id, _ = upload_parts(s3, bucket, "lp", [b"1", b"2", b"3"])
    page = s3.list_parts(Bucket=bucket, Key="lp", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["IsTruncated"]
    rest = s3.list_parts(
        Bucket=bucket, Key="lp", UploadId=upload_id, PartNumberMarker=page["NextPartNumberMarker"]
    )
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=f"u{i}")["UploadId"] for i in range(3)]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page["IsTruncated"]
    assert [u["Key"] for u in page["Uploads"]] == ["lp", "u0"]
    rest = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"]
    )
    assert [u["Key"] for u in rest["Uploads"]] == ["u1", "u2"]
    for i, uid in enumerate(ids):
        s3.abort_multipart_upload(Bucket=bucket, Key=f"u{i}", UploadId=uid)


def test_upload_part_copy(s3: Any, bucket: str) -> None:
    source = os.urandom(7 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    )
    p2 = s3.upload_part_copy(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes={5 * MIB}-{7 * MIB - 1}",
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="assembled",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
            ]
        },
    )
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source


def test_multipart_checksum(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    parts = [os.urandom(5 * MIB), os.urandom(100)]
    done = []
    for number, data in enumerate(parts, 1):
        r = s3.upload_part(
            Bucket=bucket,
            Key="ck",
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="SHA256",
        )
        done.append(
            {"PartNumber": number, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]}
        )
    result = s3.complete_multipart_upload(
        Bucket=bucket, Key="ck", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert result["ChecksumSHA256"].endswith("-2")
    head = s3.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == result["ChecksumSHA256"]
