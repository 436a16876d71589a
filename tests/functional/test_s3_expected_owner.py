"""x-amz-expected-bucket-owner: the account (tenant) a caller expects to own
the bucket; any other answers 403 AccessDenied, before the operation runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer
from signed import error_fields, signed

OWNER = "root"  # the tenant of the root key, which makes the test buckets

Call = Callable[[Any, str, dict[str, str]], Any]

# Operations that take ExpectedBucketOwner, each given the bucket and the extra argument.
OPERATIONS: dict[str, Call] = {
    "HeadBucket": lambda s3, b, x: s3.head_bucket(Bucket=b, **x),
    "ListObjects": lambda s3, b, x: s3.list_objects(Bucket=b, **x),
    "ListObjectsV2": lambda s3, b, x: s3.list_objects_v2(Bucket=b, **x),
    "ListObjectVersions": lambda s3, b, x: s3.list_object_versions(Bucket=b, **x),
    "ListMultipartUploads": lambda s3, b, x: s3.list_multipart_uploads(Bucket=b, **x),
    "GetBucketVersioning": lambda s3, b, x: s3.get_bucket_versioning(Bucket=b, **x),
    "GetBucketAcl": lambda s3, b, x: s3.get_bucket_acl(Bucket=b, **x),
    "GetBucketLocation": lambda s3, b, x: s3.get_bucket_location(Bucket=b, **x),
    "PutBucketTagging": lambda s3, b, x: s3.put_bucket_tagging(
        Bucket=b, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}, **x
    ),
    "PutBucketVersioning": lambda s3, b, x: s3.put_bucket_versioning(
        Bucket=b, VersioningConfiguration={"Status": "Suspended"}, **x
    ),
    "PutObject": lambda s3, b, x: s3.put_object(Bucket=b, Key="new", Body=b"x", **x),
    "GetObject": lambda s3, b, x: s3.get_object(Bucket=b, Key="obj", **x),
    "HeadObject": lambda s3, b, x: s3.head_object(Bucket=b, Key="obj", **x),
    "GetObjectAcl": lambda s3, b, x: s3.get_object_acl(Bucket=b, Key="obj", **x),
    "GetObjectTagging": lambda s3, b, x: s3.get_object_tagging(Bucket=b, Key="obj", **x),
    "PutObjectTagging": lambda s3, b, x: s3.put_object_tagging(
        Bucket=b, Key="obj", Tagging={"TagSet": []}, **x
    ),
    "CopyObject": lambda s3, b, x: s3.copy_object(
        Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "obj"}, **x
    ),
    "CreateMultipartUpload": lambda s3, b, x: s3.create_multipart_upload(Bucket=b, Key="mp", **x),
    "DeleteObjects": lambda s3, b, x: s3.delete_objects(
        Bucket=b, Delete={"Objects": [{"Key": "gone"}]}, **x
    ),
    "DeleteObject": lambda s3, b, x: s3.delete_object(Bucket=b, Key="gone", **x),
    "DeleteBucketTagging": lambda s3, b, x: s3.delete_bucket_tagging(Bucket=b, **x),
}


@pytest.fixture
def with_object(s3: Any, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"data")
    return bucket


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_the_owner_passes_another_is_refused(s3: Any, with_object: str, operation: str) -> None:
    call = OPERATIONS[operation]
    with pytest.raises(ClientError) as refused:
        call(s3, with_object, {"ExpectedBucketOwner": "other"})
    response = refused.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if operation not in ("HeadBucket", "HeadObject"):
        assert response["Error"]["Code"] == "AccessDenied"
    call(s3, with_object, {"ExpectedBucketOwner": OWNER})


def test_the_check_runs_before_the_body_is_read(server: LiveServer, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}/k"
    response = signed("PUT", url, b"x", {"x-amz-expected-bucket-owner": "123456789012"})
    error_fields(response, 403, "AccessDenied")


def test_a_missing_bucket_is_still_no_such_bucket(server: LiveServer) -> None:
    url = f"{server.endpoint}/no-such-bucket-here-42/k"
    response = signed("GET", url, headers={"x-amz-expected-bucket-owner": OWNER})
    error_fields(response, 404, "NoSuchBucket")


def test_copy_source_expected_owner(s3: Any, with_object: str) -> None:
    source = {"Bucket": with_object, "Key": "obj"}
    with pytest.raises(ClientError) as refused:
        s3.copy_object(
            Bucket=with_object, Key="c", CopySource=source, ExpectedSourceBucketOwner="other"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    s3.copy_object(Bucket=with_object, Key="c", CopySource=source, ExpectedSourceBucketOwner=OWNER)


def test_another_account_writing_with_the_right_owner_is_judged_as_usual(
    s3: Any, other_s3: Any, with_object: str
) -> None:
    # The header only refuses: it grants nothing.
    with pytest.raises(ClientError) as refused:
        other_s3.get_object(Bucket=with_object, Key="obj", ExpectedBucketOwner=OWNER)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
