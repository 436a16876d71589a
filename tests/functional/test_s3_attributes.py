"""GetObjectAttributes over the wire with boto3: each attribute, the parts of a
multipart object page by page with their checksums, versions, delete markers
and errors."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer
from signed import error_fields, signed

MIB = 1024 * 1024
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def attributes(s3: Any, bucket: str, key: str, names: list[str], **kwargs: Any) -> Any:
    answer = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=names, **kwargs)
    answer.pop("ResponseMetadata")
    return answer


def test_a_plain_object(s3: Any, bucket: str) -> None:
    data = b"hello attributes"
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32")
    answer = attributes(s3, bucket, "k", ALL)
    modified = answer.pop("LastModified")
    assert modified == s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    assert answer == {
        "ETag": put["ETag"].strip('"'),
        "Checksum": {"ChecksumCRC32": crc32(data), "ChecksumType": "FULL_OBJECT"},
        "StorageClass": "STANDARD",
        "ObjectSize": len(data),
    }
    # Only what is asked for.
    assert attributes(s3, bucket, "k", ["ObjectSize"]).keys() == {"LastModified", "ObjectSize"}


def _multipart(s3: Any, bucket: str, key: str, sizes: list[int]) -> list[bytes]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32")
    datas = [bytes([n]) * size for n, size in enumerate(sizes, 1)]
    parts = []
    for number, data in enumerate(datas, 1):
        part = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
            ChecksumAlgorithm="CRC32",
        )
        parts.append(
            {"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}
        )
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    return datas


def test_the_parts_of_a_multipart_object_page_by_page(
    s3: Any, server: LiveServer, bucket: str
) -> None:
    datas = _multipart(s3, bucket, "mp", [5 * MIB, 5 * MIB, 1234])
    answer = attributes(s3, bucket, "mp", ALL, MaxParts=2)
    assert answer["ETag"].endswith("-3")
    assert answer["Checksum"]["ChecksumType"] == "COMPOSITE"
    assert answer["Checksum"]["ChecksumCRC32"].endswith("-3")
    assert answer["ObjectSize"] == 10 * MIB + 1234
    parts = answer["ObjectParts"]
    assert parts["TotalPartsCount"] == 3
    assert (parts["PartNumberMarker"], parts["NextPartNumberMarker"]) == (0, 2)
    assert (parts["MaxParts"], parts["IsTruncated"]) == (2, True)
    assert parts["Parts"] == [
        {"PartNumber": 1, "Size": 5 * MIB, "ChecksumCRC32": crc32(datas[0])},
        {"PartNumber": 2, "Size": 5 * MIB, "ChecksumCRC32": crc32(datas[1])},
    ]
    rest = attributes(s3, bucket, "mp", ["ObjectParts"], MaxParts=2, PartNumberMarker=2)
    parts = rest["ObjectParts"]
    assert (parts["NextPartNumberMarker"], parts["IsTruncated"]) == (3, False)
    assert parts["Parts"] == [{"PartNumber": 3, "Size": 1234, "ChecksumCRC32": crc32(datas[2])}]
    # Changing the tags keeps the parts' checksums.
    s3.put_object_tagging(Bucket=bucket, Key="mp", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    again = attributes(s3, bucket, "mp", ["ObjectParts"], PartNumberMarker=2)
    assert again["ObjectParts"]["Parts"] == parts["Parts"]
    # Parts without checksums are counted, not shown, as on S3.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="plain-mp")["UploadId"]
    url = f"{server.endpoint}/{bucket}/plain-mp?partNumber=1&uploadId={upload}"
    etag = signed("PUT", url, b"p").headers["etag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="plain-mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    plain = attributes(s3, bucket, "plain-mp", ["ObjectParts", "Checksum"])
    assert "Checksum" not in plain
    assert plain["ObjectParts"]["TotalPartsCount"] == 1
    assert "Parts" not in plain["ObjectParts"]
    # A single-part object has no parts to show.
    s3.put_object(Bucket=bucket, Key="one", Body=b"x")
    assert "ObjectParts" not in attributes(s3, bucket, "one", ["ObjectParts"])


def test_versions_and_delete_markers(s3: Any, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")
    s3.put_object(Bucket=versioned, Key="k", Body=b"second")
    answer = s3.get_object_attributes(
        Bucket=versioned, Key="k", VersionId=first["VersionId"], ObjectAttributes=["ObjectSize"]
    )
    assert (answer["ObjectSize"], answer["VersionId"]) == (3, first["VersionId"])
    marker = s3.delete_object(Bucket=versioned, Key="k")
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=["ETag"])
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(
            Bucket=versioned, Key="k", VersionId=marker["VersionId"], ObjectAttributes=["ETag"]
        )
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405


def test_errors(s3: Any, server: LiveServer, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_object_attributes(Bucket=bucket, Key="absent", ObjectAttributes=["ETag"])
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = f"{server.endpoint}/{bucket}/k?attributes"
    error_fields(signed("GET", url), 400, "InvalidArgument")
    error_fields(
        signed("GET", url, headers={"x-amz-object-attributes": "Size"}), 400, "InvalidArgument"
    )
    bad = {"x-amz-object-attributes": "ETag", "x-amz-max-parts": "many"}
    error_fields(signed("GET", url, headers=bad), 400, "InvalidArgument")
    # The header may also be repeated rather than listed.
    answer = signed("GET", url, headers={"x-amz-object-attributes": "ETag,ObjectSize"})
    assert answer.status_code == 200
    assert hashlib.md5(b"x").hexdigest() in answer.text and "<ObjectSize>1<" in answer.text
