"""Bucket policies against the live server: the calls, and what they allow and deny."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import AwsCli, LiveServer, needs_aws


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(
    bucket: str, action: Any, principal: Any = "*", resource: str = "/*", **extra: Any
) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": f"arn:aws:s3:::{bucket}{resource}",
        **extra,
    }


def deny(
    bucket: str, action: Any, principal: Any = "*", resource: str = "/*", **extra: Any
) -> dict[str, Any]:
    return {**allow(bucket, action, principal, resource, **extra), "Effect": "Deny"}


def put_policy(s3: Any, bucket: str, *statements: dict[str, Any]) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(*statements))


def block_public(s3: Any, bucket: str, **settings: bool) -> None:
    """Set the bucket's public access block: the settings named here, all others false."""
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    config = {name: settings.get(name, False) for name in names}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_round_trip(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(exc) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy_status(Bucket=bucket)
    assert code(exc) == "NoSuchBucketPolicy"
    text = policy(allow(bucket, "s3:GetObject"))
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(exc) == "NoSuchBucketPolicy"


def test_policy_status_not_public(s3: Any, bucket: str) -> None:
    put_policy(s3, bucket, allow(bucket, "s3:GetObject", {"AWS": "other"}))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        (
            policy(allow("elsewhere", "s3:GetObject")),
            "Policy has invalid resource",
        ),
        (
            policy({**allow("{b}", "s3:GetObject"), "Action": "s3:NoSuchAction"}),
            "Policy has invalid action",
        ),
        (policy(allow("{b}", "s3:GetObject", {"AWS": "no-such-tenant"})), "Invalid principal"),
    ],
)
def test_malformed_policies(s3: Any, bucket: str, text: str, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy=text.replace("{b}", bucket))
    assert code(exc) == "MalformedPolicy"
    assert message in exc.value.response["Error"]["Message"]


def test_anonymous_read_through_policy(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="public/a.txt", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="private/b.txt", Body=b"secret")
    for key in ("public/a.txt", "private/b.txt", "public/missing"):
        with pytest.raises(ClientError) as exc:
            anon.get_object(Bucket=bucket, Key=key)
        assert code(exc) == "AccessDenied"  # a missing key is not revealed either
    put_policy(s3, bucket, allow(bucket, "s3:GetObject", resource="/public/*"))
    assert anon.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"hello"
    assert anon.head_object(Bucket=bucket, Key="public/a.txt")["ContentLength"] == 5
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="private/b.txt")
    assert code(exc) == "AccessDenied"
    # May read, may not list: a missing key is still AccessDenied, not NoSuchKey.
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="public/missing")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anon.list_objects_v2(Bucket=bucket)
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anon.put_object(Bucket=bucket, Key="public/new", Body=b"x")
    assert code(exc) == "AccessDenied"


def test_list_permission_reveals_missing_keys(s3: Any, anon: Any, bucket: str) -> None:
    put_policy(
        s3, bucket, allow(bucket, "s3:GetObject"), allow(bucket, "s3:ListBucket", resource="")
    )
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="missing")
    assert code(exc) == "NoSuchKey"
    assert anon.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_other_tenant_by_name_and_prefix_condition(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="home/other/x", Body=b"1")
    s3.put_object(Bucket=bucket, Key="home/root/y", Body=b"2")
    with pytest.raises(ClientError) as exc:
        other_s3.list_objects_v2(Bucket=bucket, Prefix="home/other/")
    assert code(exc) == "AccessDenied"
    put_policy(
        s3,
        bucket,
        allow(
            bucket,
            "s3:ListBucket",
            {"AWS": "arn:aws:iam::other:root"},
            resource="",
            Condition={"StringLike": {"s3:prefix": "home/other/*"}},
        ),
        allow(bucket, "s3:*Object", {"AWS": "other"}, resource="/home/other/*"),
    )
    listed = other_s3.list_objects_v2(Bucket=bucket, Prefix="home/other/")
    assert [o["Key"] for o in listed["Contents"]] == ["home/other/x"]
    with pytest.raises(ClientError) as exc:
        other_s3.list_objects_v2(Bucket=bucket, Prefix="home/")
    assert code(exc) == "AccessDenied"
    other_s3.put_object(Bucket=bucket, Key="home/other/new", Body=b"mine")
    assert s3.get_object(Bucket=bucket, Key="home/other/new")["Body"].read() == b"mine"
    with pytest.raises(ClientError) as exc:
        other_s3.put_object(Bucket=bucket, Key="home/root/z", Body=b"no")
    assert code(exc) == "AccessDenied"
    other_s3.delete_object(Bucket=bucket, Key="home/other/new")
    # The other tenant may not manage the bucket itself.
    for call in (
        lambda: other_s3.get_bucket_policy(Bucket=bucket),
        lambda: other_s3.delete_bucket(Bucket=bucket),
        lambda: other_s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "AccessDenied"


def test_explicit_deny_beats_allow_and_ownership(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="locked/a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="open/b", Body=b"2")
    put_policy(
        s3,
        bucket,
        allow(bucket, "s3:*"),
        deny(bucket, ["s3:GetObject", "s3:DeleteObject"], resource="/locked/*"),
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="locked/a")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=bucket, Key="locked/a")
    assert code(exc) == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="open/b")["Body"].read() == b"2"
    # The owner can always take the policy back.
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="locked/a")["Body"].read() == b"1"


def test_source_ip_secure_transport_and_referer(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")

    def on_get(effect: Callable[..., dict[str, Any]], **condition: Any) -> None:
        put_policy(s3, bucket, effect(bucket, "s3:GetObject", Condition=condition))

    on_get(allow, IpAddress={"aws:SourceIp": "10.0.0.0/8"})
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    on_get(allow, IpAddress={"aws:SourceIp": "127.0.0.0/8"})
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    # Plain HTTP here: a deny of insecure transport applies, to the owner too.
    on_get(deny, Bool={"aws:SecureTransport": "false"})
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    on_get(allow, StringLike={"aws:Referer": "https://example.com/*"})
    url = f"{s3.meta.endpoint_url}/{bucket}/k"
    assert httpx.get(url).status_code == 403
    ok = httpx.get(url, headers={"Referer": "https://example.com/page"})
    assert ok.status_code == 200
    assert ok.content == b"v"


def test_acl_condition_on_put(s3: Any, other_s3: Any, bucket: str) -> None:
    put_policy(
        s3,
        bucket,
        allow(
            bucket,
            "s3:PutObject",
            {"AWS": "other"},
            Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
        ),
    )
    with pytest.raises(ClientError) as exc:
        other_s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert code(exc) == "AccessDenied"
    other_s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_block_public_policy_and_restrict(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    public = policy(allow(bucket, "s3:GetObject"))
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    block_public(s3, bucket, RestrictPublicBuckets=True)
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    block_public(s3, bucket, BlockPublicPolicy=True)
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert code(exc) == "AccessDenied"
    put_policy(s3, bucket, allow(bucket, "s3:GetObject", {"AWS": "other"}))


def test_anonymous_cannot_list_buckets_or_create(anon: Any) -> None:
    for call in (anon.list_buckets, lambda: anon.create_bucket(Bucket="anon-made-this")):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "AccessDenied"


def test_missing_bucket_is_404_for_anonymous(anon: Any) -> None:
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket="no-such-bucket-anywhere", Key="k")
    assert code(exc) == "NoSuchBucket"


@pytest.mark.client
@needs_aws
def test_awscli_put_bucket_policy(
    aws: AwsCli, s3: Any, server: LiveServer, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="site/index.html", Body=b"<html/>")
    doc = tmp_path / "policy.json"
    doc.write_text(policy(allow(bucket, "s3:GetObject", resource="/site/*")))
    aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", f"file://{doc}")
    shown = aws("s3api", "get-bucket-policy", "--bucket", bucket)
    assert json.loads(json.loads(shown.stdout)["Policy"]) == json.loads(doc.read_text())
    assert httpx.get(f"{server.endpoint}/{bucket}/site/index.html").content == b"<html/>"
    failed = aws(
        "s3api", "put-bucket-policy", "--bucket", bucket, "--policy", "{broken", check=False
    )
    assert failed.returncode != 0
    assert "MalformedPolicy" in failed.stderr
