"""Buckets over the wire with boto3."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer
from signed import error_fields, signed


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_create_list_head_delete(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert listed["Owner"]["DisplayName"] == "root"
    assert len(listed["Owner"]["ID"]) == 64
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert status(exc) == 404


def test_location_constraint_is_kept(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    s3.delete_bucket(Bucket=name)


def test_already_owned_and_already_exists(s3: Any, other_s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=bucket)
    assert code(exc) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as exc:
        other_s3.create_bucket(Bucket=bucket)
    assert code(exc) == "BucketAlreadyExists"
    assert status(exc) == 409


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "UPPER",
        "a..b",
        "a.-b",
        "a-.b",
        "192.168.1.1",
        "-start",
        "end-",
        "xn--abc",
        "x" * 64,
        "a_b",
    ],
)
def test_invalid_bucket_names(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code(exc) == "InvalidBucketName"


def test_delete_non_empty_bucket(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert code(exc) == "BucketNotEmpty"
    assert status(exc) == 409


def test_missing_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket="no-such-bucket-here")
    assert code(exc) == "NoSuchBucket"


def test_other_tenant_cannot_see_or_touch(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    assert bucket not in [b["Name"] for b in other_s3.list_buckets()["Buckets"]]
    for call in (
        lambda: other_s3.list_objects_v2(Bucket=bucket),
        lambda: other_s3.get_object(Bucket=bucket, Key="secret"),
        lambda: other_s3.put_object(Bucket=bucket, Key="x", Body=b"x"),
        lambda: other_s3.delete_object(Bucket=bucket, Key="secret"),
        lambda: other_s3.delete_bucket(Bucket=bucket),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"s"


def test_list_buckets_pages_when_asked(s3: Any, server: LiveServer) -> None:
    tag = f"lbp-{uuid.uuid4().hex[:10]}"
    names = [f"{tag}-{letter}" for letter in "abc"]
    for name in names:
        s3.create_bucket(Bucket=name)
    try:
        # Unpaged, as before: every bucket, no token.
        everything = s3.list_buckets()
        assert set(names) <= {b["Name"] for b in everything["Buckets"]}
        assert "ContinuationToken" not in everything
        first = s3.list_buckets(Prefix=tag, MaxBuckets=2)
        assert [b["Name"] for b in first["Buckets"]] == names[:2]
        assert first["Prefix"] == tag
        assert all(b["BucketRegion"] == "us-east-1" for b in first["Buckets"])
        rest = s3.list_buckets(
            Prefix=tag, MaxBuckets=2, ContinuationToken=first["ContinuationToken"]
        )
        assert [b["Name"] for b in rest["Buckets"]] == names[2:]
        assert "ContinuationToken" not in rest
        assert (
            s3.list_buckets(Prefix=tag, BucketRegion="us-east-1")["Buckets"][0]["Name"] == names[0]
        )
        assert s3.list_buckets(Prefix=tag, BucketRegion="eu-west-3").get("Buckets", []) == []
        for query in ("max-buckets=0", "max-buckets=10001", "max-buckets=x"):
            error_fields(signed("GET", f"{server.endpoint}/?{query}"), 400, "InvalidArgument")
        bad = signed("GET", f"{server.endpoint}/?continuation-token=%25%25")
        error_fields(bad, 400, "InvalidArgument")
    finally:
        for name in names:
            s3.delete_bucket(Bucket=name)
