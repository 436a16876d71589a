"""Bucket policies against the live server: the calls, and what they allow and deny."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer
from trees import run_tool

AWS = Path(sys.executable).parent / "aws"


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


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def anon(server: LiveServer) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        config=BotoConfig(
            signature_version=UNSIGNED,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


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
    s3.put_bucket_policy(
        Bucket=bucket, Policy=policy(allow(bucket, "s3:GetObject", {"AWS": "other"}))
    )
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
    s3.put_bucket_policy(
        Bucket=bucket, Policy=policy(allow(bucket, "s3:GetObject", resource="/public/*"))
    )
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(allow(bucket, "s3:GetObject"), allow(bucket, "s3:ListBucket", resource="")),
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(
                bucket,
                "s3:ListBucket",
                {"AWS": "arn:aws:iam::other:root"},
                resource="",
                Condition={"StringLike": {"s3:prefix": "home/other/*"}},
            ),
            allow(bucket, "s3:*Object", {"AWS": "other"}, resource="/home/other/*"),
        ),
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(bucket, "s3:*"),
            deny(bucket, ["s3:GetObject", "s3:DeleteObject"], resource="/locked/*"),
        ),
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
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(bucket, "s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
        ),
    )
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(bucket, "s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})
        ),
    )
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    # Plain HTTP here: a deny of insecure transport applies, to the owner too.
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            deny(bucket, "s3:GetObject", Condition={"Bool": {"aws:SecureTransport": "false"}})
        ),
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(
                bucket,
                "s3:GetObject",
                Condition={"StringLike": {"aws:Referer": "https://example.com/*"}},
            )
        ),
    )
    url = f"{s3.meta.endpoint_url}/{bucket}/k"
    assert httpx.get(url).status_code == 403
    ok = httpx.get(url, headers={"Referer": "https://example.com/page"})
    assert ok.status_code == 200
    assert ok.content == b"v"


def test_acl_condition_on_put(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            allow(
                bucket,
                "s3:PutObject",
                {"AWS": "other"},
                Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            )
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
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
    )
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert code(exc) == "AccessDenied"
    s3.put_bucket_policy(
        Bucket=bucket, Policy=policy(allow(bucket, "s3:GetObject", {"AWS": "other"}))
    )


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
@pytest.mark.skipif(not AWS.exists(), reason="aws CLI not installed (pip install awscli)")
def test_awscli_put_bucket_policy(s3: Any, server: LiveServer, bucket: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_KEY,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    s3.put_object(Bucket=bucket, Key="site/index.html", Body=b"<html/>")
    doc = tmp_path / "policy.json"
    doc.write_text(policy(allow(bucket, "s3:GetObject", resource="/site/*")))
    base = [str(AWS), "--endpoint-url", server.endpoint, "s3api"]
    run_tool([*base, "put-bucket-policy", "--bucket", bucket, "--policy", f"file://{doc}"], env)
    shown = run_tool([*base, "get-bucket-policy", "--bucket", bucket], env)
    assert json.loads(json.loads(shown.stdout)["Policy"]) == json.loads(doc.read_text())
    assert httpx.get(f"{server.endpoint}/{bucket}/site/index.html").content == b"<html/>"
    failed = run_tool(
        [*base, "put-bucket-policy", "--bucket", bucket, "--policy", "{broken"], env, check=False
    )
    assert failed.returncode != 0
    assert "MalformedPolicy" in failed.stderr
