"""Bucket-policy conditions and action names: object tags in the request,
...IfExists, the x-amz-grant-* headers, every multipart and tagging action,
and what HeadObject of a missing key answers a caller who may list."""

from __future__ import annotations

from typing import Any

import pytest
from access_support import canonical_id
from botocore.exceptions import ClientError
from test_s3_policy import allow, code, deny, put_policy

OTHER = {"AWS": "other"}


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_request_object_tag_on_put_object(s3: Any, other_s3: Any, bucket: str) -> None:
    condition = {"StringEquals": {"s3:RequestObjectTag/project": "blue"}}
    put_policy(s3, bucket, allow(bucket, "s3:PutObject", OTHER, Condition=condition))
    other_s3.put_object(Bucket=bucket, Key="ok", Body=b"x", Tagging="project=blue&x=1")
    for tagging in ("project=red", "other=blue", ""):
        with pytest.raises(ClientError) as refused:
            other_s3.put_object(Bucket=bucket, Key="no", Body=b"x", Tagging=tagging)
        assert code(refused) == "AccessDenied"


def test_request_object_tag_on_put_object_tagging(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    condition = {"StringEquals": {"s3:RequestObjectTag/project": "blue"}}
    put_policy(s3, bucket, allow(bucket, "s3:PutObjectTagging", OTHER, Condition=condition))
    other_s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "project", "Value": "blue"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "project", "Value": "blue"}
    ]
    with pytest.raises(ClientError) as refused:
        other_s3.put_object_tagging(
            Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "project", "Value": "red"}]}
        )
    assert code(refused) == "AccessDenied"


def test_request_object_tag_keys_for_all_and_any(s3: Any, other_s3: Any, bucket: str) -> None:
    only = {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["project", "owner"]}}
    needs = {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "project"}}
    put_policy(s3, bucket, allow(bucket, "s3:PutObject", OTHER, Condition={**only, **needs}))
    other_s3.put_object(Bucket=bucket, Key="a", Body=b"x", Tagging="project=1&owner=2")
    other_s3.put_object(Bucket=bucket, Key="b", Body=b"x", Tagging="project=1")
    for tagging in ("project=1&extra=3", "owner=2", ""):
        with pytest.raises(ClientError) as refused:
            other_s3.put_object(Bucket=bucket, Key="c", Body=b"x", Tagging=tagging)
        assert code(refused) == "AccessDenied", tagging


def test_deny_by_request_tag_keys(s3: Any, bucket: str) -> None:
    condition = {"ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "secret"}}
    put_policy(s3, bucket, deny(bucket, "s3:PutObject", "*", Condition=condition))
    s3.put_object(Bucket=bucket, Key="a", Body=b"x", Tagging="public=1")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="b", Body=b"x", Tagging="public=1&secret=2")
    assert code(refused) == "AccessDenied"


def test_if_exists_operators(s3: Any, other_s3: Any, bucket: str) -> None:
    # Allowed with no x-amz-acl (IfExists holds on a missing key), or a private one.
    condition = {"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}
    put_policy(s3, bucket, allow(bucket, "s3:PutObject", OTHER, Condition=condition))
    other_s3.put_object(Bucket=bucket, Key="none", Body=b"x")
    other_s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    with pytest.raises(ClientError) as refused:
        other_s3.put_object(Bucket=bucket, Key="public", Body=b"x", ACL="public-read")
    assert code(refused) == "AccessDenied"
    # A Deny with IfExists also holds on a missing key, as AWS evaluates it.
    denial = {"StringNotEqualsIfExists": {"s3:x-amz-acl": "private"}}
    put_policy(
        s3,
        bucket,
        allow(bucket, "s3:PutObject", OTHER),
        deny(bucket, "s3:PutObject", OTHER, Condition=denial),
    )
    other_s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    with pytest.raises(ClientError) as denied:
        other_s3.put_object(Bucket=bucket, Key="none", Body=b"x")
    assert code(denied) == "AccessDenied"


def test_grant_header_conditions(s3: Any, other_s3: Any, bucket: str) -> None:
    root = canonical_id(s3)
    condition = {"StringEquals": {"s3:x-amz-grant-full-control": f"id={root}"}}
    put_policy(s3, bucket, allow(bucket, "s3:PutObject", OTHER, Condition=condition))
    other_s3.put_object(Bucket=bucket, Key="ok", Body=b"x", GrantFullControl=f"id={root}")
    with pytest.raises(ClientError) as refused:
        other_s3.put_object(Bucket=bucket, Key="no", Body=b"x")
    assert code(refused) == "AccessDenied"
    for header in ("read", "write", "read-acp", "write-acp"):
        key = f"s3:x-amz-grant-{header}"
        put_policy(
            s3,
            bucket,
            allow(bucket, "s3:PutObject", OTHER),
            deny(bucket, "s3:PutObject", OTHER, Condition={"Null": {key: "false"}}),
        )
        other_s3.put_object(Bucket=bucket, Key="plain", Body=b"x")


MULTIPART_AND_TAGGING = [
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucketMultipartUploads",
    "s3:PutObjectTagging",
    "s3:GetObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:GetObjectVersionTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:PutBucketTagging",
    "s3:GetBucketTagging",
    "s3:ReplicateTags",
]


@pytest.mark.parametrize("action", MULTIPART_AND_TAGGING)
def test_every_multipart_and_tagging_action_is_accepted(s3: Any, bucket: str, action: str) -> None:
    bucket_level = action in ("s3:ListBucketMultipartUploads", "s3:PutBucketTagging")
    bucket_level = bucket_level or action == "s3:GetBucketTagging"
    put_policy(s3, bucket, allow(bucket, action, OTHER, resource="" if bucket_level else "/*"))


def test_multipart_actions_take_effect(s3: Any, other_s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    put_policy(
        s3,
        bucket,
        allow(bucket, ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], OTHER),
        allow(bucket, "s3:ListBucketMultipartUploads", OTHER, resource=""),
    )
    assert other_s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["UploadId"] == upload_id
    other_s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    other_s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)


def test_tagging_actions_take_effect(s3: Any, other_s3: Any, versioned: str) -> None:
    version = s3.put_object(Bucket=versioned, Key="k", Body=b"x")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"y")
    tags = {"TagSet": [{"Key": "a", "Value": "1"}]}
    put_policy(
        s3,
        versioned,
        allow(
            versioned,
            ["s3:PutObjectVersionTagging", "s3:GetObjectVersionTagging"],
            OTHER,
        ),
    )
    other_s3.put_object_tagging(Bucket=versioned, Key="k", VersionId=version, Tagging=tags)
    got = other_s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=version)
    assert got["TagSet"] == tags["TagSet"]
    with pytest.raises(ClientError) as refused:
        other_s3.get_object_tagging(Bucket=versioned, Key="k")
    assert code(refused) == "AccessDenied"


def test_head_of_a_missing_key_is_404_with_list_bucket(s3: Any, other_s3: Any, bucket: str) -> None:
    put_policy(s3, bucket, allow(bucket, "s3:GetObject", OTHER))
    with pytest.raises(ClientError) as hidden:
        other_s3.head_object(Bucket=bucket, Key="missing")
    assert status(hidden) == 403
    put_policy(
        s3,
        bucket,
        allow(bucket, "s3:GetObject", OTHER),
        allow(bucket, "s3:ListBucket", OTHER, resource=""),
    )
    with pytest.raises(ClientError) as missing:
        other_s3.head_object(Bucket=bucket, Key="missing")
    assert status(missing) == 404


def test_existing_object_tag_allows_by_the_objects_own_tags(
    s3: Any, other_s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"o", Tagging="class=public")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"c", Tagging="class=secret")
    s3.put_object(Bucket=bucket, Key="bare", Body=b"b")
    condition = {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}
    actions = ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectAcl"]
    put_policy(s3, bucket, allow(bucket, actions, OTHER, Condition=condition))
    assert other_s3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    other_s3.head_object(Bucket=bucket, Key="open")
    assert other_s3.get_object_tagging(Bucket=bucket, Key="open")["TagSet"]
    other_s3.get_object_acl(Bucket=bucket, Key="open")
    for key in ("closed", "bare", "missing"):
        with pytest.raises(ClientError) as refused:
            other_s3.get_object(Bucket=bucket, Key=key)
        assert code(refused) == "AccessDenied", key
        with pytest.raises(ClientError) as refused_tags:
            other_s3.get_object_tagging(Bucket=bucket, Key=key)
        assert code(refused_tags) == "AccessDenied", key


def test_existing_object_tag_deny_binds_the_owner_too(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"o", Tagging="class=public")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"c", Tagging="class=secret")
    condition = {"StringEquals": {"s3:ExistingObjectTag/class": "secret"}}
    put_policy(s3, bucket, deny(bucket, "s3:GetObject", "*", Condition=condition))
    assert s3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key="closed")
    assert code(refused) == "AccessDenied"
    # Negated: deny what is not tagged public (a missing tag included).
    negated = {"StringNotEquals": {"s3:ExistingObjectTag/class": "public"}}
    put_policy(s3, bucket, deny(bucket, "s3:GetObject", "*", Condition=negated))
    assert s3.get_object(Bucket=bucket, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as refused_negated:
        s3.get_object(Bucket=bucket, Key="closed")
    assert code(refused_negated) == "AccessDenied"
    # Retagging changes the answer: the tags are read at each request.
    s3.put_object_tagging(
        Bucket=bucket, Key="closed", Tagging={"TagSet": [{"Key": "class", "Value": "public"}]}
    )
    assert s3.get_object(Bucket=bucket, Key="closed")["Body"].read() == b"c"
