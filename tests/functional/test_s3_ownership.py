"""Object ownership chosen at CreateBucket (x-amz-object-ownership), and who owns
what another tenant writes under each setting, as on S3."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from access_support import canonical_id
from botocore.exceptions import ClientError
from conftest import empty_bucket


@contextlib.contextmanager
def owned(s3: Any, other_s3: Any, ownership: str | None) -> Iterator[str]:
    """A bucket of the root tenant, created with `ownership`, whose ACL lets the other
    tenant write (and the owner keep full control)."""
    name = f"own-{uuid.uuid4().hex[:12]}"
    extra = {"ObjectOwnership": ownership} if ownership else {}
    s3.create_bucket(Bucket=name, **extra)
    try:
        if ownership != "BucketOwnerEnforced":
            s3.put_bucket_acl(
                Bucket=name,
                GrantWrite=f'id="{canonical_id(other_s3)}"',
                GrantFullControl=f'id="{canonical_id(s3)}"',
            )
        yield name
    finally:
        empty_bucket(s3, name)


@pytest.mark.parametrize(
    "ownership", ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]
)
def test_create_bucket_stores_the_ownership(s3: Any, other_s3: Any, ownership: str) -> None:
    with owned(s3, other_s3, ownership) as name:
        rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
        assert rules == [{"ObjectOwnership": ownership}]


def test_create_bucket_without_it_has_none(s3: Any, other_s3: Any) -> None:
    with owned(s3, other_s3, None) as name, pytest.raises(ClientError) as info:
        s3.get_bucket_ownership_controls(Bucket=name)
    assert info.value.response["Error"]["Code"] == "OwnershipControlsNotFoundError"


def test_create_bucket_refuses_what_does_not_fit(s3: Any) -> None:
    name = f"own-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=name, ObjectOwnership="Nobody")
    assert info.value.response["Error"]["Code"] == "InvalidArgument"
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerEnforced", ACL="public-read")
    assert info.value.response["Error"]["Code"] == "InvalidBucketAclWithObjectOwnership"
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=name)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bucket_owner_preferred_takes_what_is_handed_over(s3: Any, other_s3: Any) -> None:
    root, other = canonical_id(s3), canonical_id(other_s3)
    with owned(s3, other_s3, "BucketOwnerPreferred") as name:
        other_s3.put_object(Bucket=name, Key="kept", Body=b"k")
        other_s3.put_object(Bucket=name, Key="handed", Body=b"h", ACL="bucket-owner-full-control")
        assert s3.get_object_acl(Bucket=name, Key="kept")["Owner"]["ID"] == other
        acl = s3.get_object_acl(Bucket=name, Key="handed")
        assert acl["Owner"]["ID"] == root
        assert [(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
            (root, "FULL_CONTROL")
        ]
        # The writer kept the first; the second is the bucket owner's now.
        assert other_s3.get_object(Bucket=name, Key="kept")["Body"].read() == b"k"
        with pytest.raises(ClientError) as info:
            other_s3.get_object(Bucket=name, Key="handed")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
        # A multipart upload and a copy are handed over the same way.
        upload = other_s3.create_multipart_upload(
            Bucket=name, Key="mp", ACL="bucket-owner-full-control"
        )["UploadId"]
        part = other_s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"m")
        other_s3.complete_multipart_upload(
            Bucket=name,
            Key="mp",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert s3.get_object_acl(Bucket=name, Key="mp")["Owner"]["ID"] == root
        other_s3.copy_object(
            Bucket=name,
            Key="copied",
            CopySource={"Bucket": name, "Key": "kept"},
            ACL="bucket-owner-full-control",
        )
        assert s3.get_object_acl(Bucket=name, Key="copied")["Owner"]["ID"] == root


def test_object_writer_keeps_what_it_writes(s3: Any, other_s3: Any) -> None:
    other = canonical_id(other_s3)
    with owned(s3, other_s3, "ObjectWriter") as name:
        other_s3.put_object(Bucket=name, Key="handed", Body=b"h", ACL="bucket-owner-full-control")
        assert s3.get_object_acl(Bucket=name, Key="handed")["Owner"]["ID"] == other
        assert other_s3.get_object(Bucket=name, Key="handed")["Body"].read() == b"h"


def test_bucket_owner_enforced_owns_everything(s3: Any, other_s3: Any) -> None:
    root, other = canonical_id(s3), canonical_id(other_s3)
    with owned(s3, other_s3, "BucketOwnerEnforced") as name:
        # ACLs are off: a bucket policy lets the other tenant write, and only write.
        policy = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            f'"Principal":{{"CanonicalUser":"{other}"}},"Action":"s3:PutObject",'
            f'"Resource":"arn:aws:s3:::{name}/*"}}]}}'
        )
        s3.put_bucket_policy(Bucket=name, Policy=policy)
        other_s3.put_object(Bucket=name, Key="theirs", Body=b"t")
        assert s3.get_object_acl(Bucket=name, Key="theirs")["Owner"]["ID"] == root
        # The writer does not own it, so it may not read it back.
        with pytest.raises(ClientError) as info:
            other_s3.get_object(Bucket=name, Key="theirs")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
        # Turning ACLs back on does not give the object back.
        s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
        )
        assert s3.get_object_acl(Bucket=name, Key="theirs")["Owner"]["ID"] == root
