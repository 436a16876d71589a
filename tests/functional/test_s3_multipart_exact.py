"""Multipart details as S3 documents them: a part uploaded again replaces the
first, a copy range outside the source, uploads of other accounts in the
bucket owner's bucket, and who owns and initiated each upload."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from access_support import canonical_id
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def shared_bucket(s3: Any, other_s3: Any, bucket: str) -> None:
    """Let the other account write into the root's bucket."""
    s3.put_bucket_acl(
        Bucket=bucket,
        GrantFullControl=f"id={canonical_id(s3)}",
        GrantWrite=f"id={canonical_id(other_s3)}",
    )


def test_a_part_uploaded_twice_keeps_the_last(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"a")
    second = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"b")
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, second["ETag"], 1)]
    # The first upload's ETag no longer names the part.
    with pytest.raises(ClientError) as stale:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first["ETag"]}]},
        )
    assert stale.value.response["Error"]["Code"] == "InvalidPart"
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": second["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"b"


def test_concurrent_uploads_of_one_part_keep_the_one_that_finished_last(
    s3: Any, bucket: str
) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etags: dict[bytes, str] = {}

    def upload(body: bytes) -> None:
        etags[body[:1]] = s3.upload_part(
            Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=body
        )["ETag"]

    threads = [threading.Thread(target=upload, args=(c * (2 * MIB),)) for c in (b"a", b"b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert len(listed) == 1 and listed[0]["ETag"] in etags.values()
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": listed[0]["ETag"]}]},
    )
    body = s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert listed[0]["ETag"] == etags[body[:1]]


@pytest.mark.parametrize("copy_range", ["bytes=0-10", "bytes=5-20", "bytes=10-10", "bytes=12-15"])
def test_upload_part_copy_range_outside_the_source_is_invalid_range(
    s3: Any, bucket: str, copy_range: str
) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as refused:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange=copy_range,
        )
    response = refused.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidRange"
    assert response["Error"]["ActualObjectSize"] == "10"
    done = s3.upload_part_copy(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange="bytes=0-9",
    )
    assert done["CopyPartResult"]["ETag"]


@pytest.mark.parametrize("copy_range", ["bytes=8-7", "bytes=0-", "bytes=-5", "0-5", "bytes=a-b"])
def test_upload_part_copy_malformed_range_is_invalid_argument(
    s3: Any, bucket: str, copy_range: str
) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as refused:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceRange=copy_range,
        )
    assert refused.value.response["Error"]["Code"] == "InvalidArgument"


def test_the_bucket_owner_lists_and_aborts_uploads_of_others(
    s3: Any, other_s3: Any, bucket: str
) -> None:
    shared_bucket(s3, other_s3, bucket)
    upload_id = other_s3.create_multipart_upload(Bucket=bucket, Key="theirs")["UploadId"]
    mine = s3.create_multipart_upload(Bucket=bucket, Key="mine")["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    by_key = {u["Key"]: u for u in listed}
    root, other = canonical_id(s3), canonical_id(other_s3)
    assert by_key["theirs"]["Owner"]["ID"] == other
    assert by_key["theirs"]["Initiator"]["ID"] == other
    assert by_key["theirs"]["Owner"]["DisplayName"] == "Other Tenant"
    assert by_key["mine"]["Owner"]["ID"] == root
    assert by_key["mine"]["Initiator"]["ID"] == root
    parts = s3.list_parts(Bucket=bucket, Key="theirs", UploadId=upload_id)
    assert parts["Owner"]["ID"] == other
    assert parts["Initiator"]["ID"] == other
    s3.abort_multipart_upload(Bucket=bucket, Key="theirs", UploadId=upload_id)
    remaining = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in remaining] == [mine]
