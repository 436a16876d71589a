"""ACLs against the live server: the ACL calls, ACLs given on writes, and what they allow."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from access_support import canonical_id
from botocore.exceptions import ClientError
from conftest import AwsCli, LiveServer, empty_bucket, fresh_bucket, needs_aws

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
OTHER_EMAIL = "other@example.com"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def grants(acl: dict[str, Any]) -> set[tuple[str, str]]:
    """(grantee id or URI, permission) of a GetBucketAcl / GetObjectAcl answer."""
    return {
        (g["Grantee"].get("ID") or g["Grantee"].get("URI", ""), g["Permission"])
        for g in acl["Grants"]
    }


@pytest.fixture(scope="module")
def root_id(s3: Any) -> str:
    return canonical_id(s3)


@pytest.fixture(scope="module")
def other_id(other_s3: Any) -> str:
    return canonical_id(other_s3)


@pytest.fixture
def other_bucket(other_s3: Any) -> Iterator[str]:
    with fresh_bucket(other_s3) as name:
        yield name


# --------------------------------------------------------------------------- defaults


def test_default_acls_are_the_owners_full_control(s3: Any, bucket: str, root_id: str) -> None:
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"]["ID"] == root_id
    assert acl["Owner"]["DisplayName"]
    assert grants(acl) == {(root_id, "FULL_CONTROL")}
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert acl["Owner"]["ID"] == root_id
    assert grants(acl) == {(root_id, "FULL_CONTROL")}


def test_stranger_is_denied_by_default(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    calls = [
        lambda: other_s3.get_object(Bucket=bucket, Key="k"),
        lambda: other_s3.get_object(Bucket=bucket, Key="missing"),
        lambda: other_s3.put_object(Bucket=bucket, Key="new", Body=b"y"),
        lambda: other_s3.list_objects_v2(Bucket=bucket),
        lambda: other_s3.delete_object(Bucket=bucket, Key="k"),
        lambda: other_s3.get_bucket_acl(Bucket=bucket),
        lambda: other_s3.get_object_acl(Bucket=bucket, Key="k"),
        lambda: other_s3.get_object_acl(Bucket=bucket, Key="missing"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert (status(exc), code(exc)) == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_missing_key_acl_is_404_for_the_owner(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object_acl(Bucket=bucket, Key="missing")
    assert code(exc) == "NoSuchKey"


# --------------------------------------------------------------------------- public ACLs


def test_public_read_bucket_lets_anyone_list(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        anon.list_objects_v2(Bucket=bucket)
    assert code(exc) == "AccessDenied"
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert (ALL_USERS, "READ") in grants(s3.get_bucket_acl(Bucket=bucket))
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    # Listing is the bucket's READ; reading an object is the object's own.
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    with pytest.raises(ClientError) as exc:
        anon.list_objects_v2(Bucket=bucket)
    assert code(exc) == "AccessDenied"


def test_public_read_object(s3: Any, anon: Any, server: LiveServer, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open", Body=b"public", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="closed", Body=b"private")
    assert anon.get_object(Bucket=bucket, Key="open")["Body"].read() == b"public"
    assert httpx.get(f"{server.endpoint}/{bucket}/open").content == b"public"
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="closed")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="absent")
    assert (status(exc), code(exc)) == (403, "AccessDenied")
    # READ on an object is not READ_ACP, nor any write.
    with pytest.raises(ClientError) as exc:
        anon.get_object_acl(Bucket=bucket, Key="open")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anon.put_object(Bucket=bucket, Key="open", Body=b"overwrite")
    assert code(exc) == "AccessDenied"


def test_public_read_write_bucket_takes_anonymous_writes(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    anon.put_object(Bucket=bucket, Key="drop", Body=b"from anyone")
    # The bucket owner may always read what lands in its bucket.
    assert s3.get_object(Bucket=bucket, Key="drop")["Body"].read() == b"from anyone"


# --------------------------------------------------------------------------- grants


def test_grant_read_by_canonical_id(s3: Any, other_s3: Any, bucket: str, other_id: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"shared")
    s3.put_object(Bucket=bucket, Key="not-shared", Body=b"no")
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'id="{other_id}"')
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    assert grants(acl) == {(other_id, "READ")}  # grant headers list every grant
    named = [g["Grantee"] for g in acl["Grants"]]
    assert named[0]["DisplayName"] == "Other Tenant"
    assert other_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"shared"
    with pytest.raises(ClientError) as exc:
        other_s3.get_object(Bucket=bucket, Key="not-shared")
    assert code(exc) == "AccessDenied"
    # The owner keeps its rights on the object and its ACL.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"shared"
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    with pytest.raises(ClientError) as exc:
        other_s3.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"


def test_grant_read_by_email(s3: Any, other_s3: Any, bucket: str, other_id: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"mailed", GrantRead=f'emailAddress="{OTHER_EMAIL}"')
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    # Stored as the canonical user the address names, as S3 does.
    assert grants(acl) == {(other_id, "READ")}
    assert acl["Grants"][0]["Grantee"]["Type"] == "CanonicalUser"
    assert other_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"mailed"


def test_unknown_grantees_are_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", GrantRead='emailAddress="nobody@example.com"')
    assert code(exc) == "UnresolvableGrantByEmailAddress"
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", GrantRead='id="no-such-canonical-id"')
    assert code(exc) == "InvalidArgument"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ACL="no-such-canned-acl")
    assert code(exc) == "InvalidArgument"


def test_bucket_write_grant(
    s3: Any, other_s3: Any, bucket: str, root_id: str, other_id: str
) -> None:
    s3.put_bucket_acl(
        Bucket=bucket, GrantWrite=f'id="{other_id}"', GrantFullControl=f'id="{root_id}"'
    )
    other_s3.put_object(Bucket=bucket, Key="theirs", Body=b"written by other")
    # The writer owns what it writes; the bucket owner may still read it.
    acl = other_s3.get_object_acl(Bucket=bucket, Key="theirs")
    assert acl["Owner"]["ID"] == other_id
    assert s3.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"written by other"
    assert s3.get_object_acl(Bucket=bucket, Key="theirs")["Owner"]["ID"] == other_id
    # WRITE is not READ: the other tenant still may not list.
    with pytest.raises(ClientError) as exc:
        other_s3.list_objects_v2(Bucket=bucket)
    assert code(exc) == "AccessDenied"
    # Its own object may be made readable to the bucket owner by canned ACL.
    other_s3.put_object(Bucket=bucket, Key="handed", Body=b"h", ACL="bucket-owner-full-control")
    acl = s3.get_object_acl(Bucket=bucket, Key="handed")
    assert grants(acl) == {(other_id, "FULL_CONTROL"), (root_id, "FULL_CONTROL")}


def test_stranger_cannot_change_acls(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        other_s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert (status(exc), code(exc)) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        other_s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert (status(exc), code(exc)) == (403, "AccessDenied")


def test_write_acp_grant_lets_a_tenant_set_the_acl(
    s3: Any, other_s3: Any, anon: Any, bucket: str, other_id: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantWriteACP=f'id="{other_id}"')
    other_s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


# --------------------------------------------------------------------------- XML bodies


def test_acl_body_round_trip(s3: Any, bucket: str, root_id: str, other_id: str) -> None:
    policy = {
        "Owner": {"ID": root_id},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": root_id}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "READ_ACP"},
            {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
            {
                "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": OTHER_EMAIL},
                "Permission": "WRITE",
            },
        ],
    }
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert grants(s3.get_bucket_acl(Bucket=bucket)) == {
        (root_id, "FULL_CONTROL"),
        (other_id, "READ_ACP"),
        (ALL_USERS, "READ"),
        (other_id, "WRITE"),
    }


def test_acl_body_may_not_change_the_owner(
    s3: Any, bucket: str, root_id: str, other_id: str
) -> None:
    policy = {
        "Owner": {"ID": other_id},
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": other_id}, "Permission": "FULL_CONTROL"}
        ],
    }
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    assert (status(exc), code(exc)) == (403, "AccessDenied")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    assert code(exc) == "AccessDenied"
    assert grants(s3.get_bucket_acl(Bucket=bucket)) == {(root_id, "FULL_CONTROL")}


def test_malformed_and_missing_acls(s3: Any, bucket: str, root_id: str) -> None:
    bad = {
        "Owner": {"ID": root_id},
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": root_id}, "Permission": "ALL"}],
    }
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy=bad)
    assert code(exc) == "MalformedACLError"
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket)
    assert code(exc) == "MissingSecurityHeader"
    good = {**bad, "Grants": [{**bad["Grants"][0], "Permission": "FULL_CONTROL"}]}
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read", AccessControlPolicy=good)
    assert code(exc) == "UnexpectedContent"
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read", GrantRead=f'id="{root_id}"')
    assert code(exc) == "InvalidRequest"


# --------------------------------------------------------------------------- ACLs on writes


def test_copy_does_not_copy_the_acl(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", ACL="public-read")
    s3.copy_object(Bucket=bucket, Key="plain", CopySource={"Bucket": bucket, "Key": "src"})
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="plain")
    assert code(exc) == "AccessDenied"
    s3.copy_object(
        Bucket=bucket, Key="open", CopySource={"Bucket": bucket, "Key": "src"}, ACL="public-read"
    )
    assert anon.get_object(Bucket=bucket, Key="open")["Body"].read() == b"data"


def test_multipart_upload_acl(s3: Any, anon: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ACL="public-read")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"parts"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert anon.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"parts"


def test_create_bucket_with_acl(s3: Any, anon: Any) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert (ALL_USERS, "READ") in grants(s3.get_bucket_acl(Bucket=name))
        assert anon.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        empty_bucket(s3, name)


def test_bad_acl_on_create_bucket_creates_nothing(s3: Any) -> None:
    name = f"test-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name, GrantRead='emailAddress="nobody@example.com"')
    assert code(exc) == "UnresolvableGrantByEmailAddress"
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert status(exc) == 404


def test_version_acls(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=first, ACL="public-read")
    body = anon.get_object(Bucket=bucket, Key="k", VersionId=first)["Body"].read()
    assert body == b"v1"
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"
    acl = s3.get_object_acl(Bucket=bucket, Key="k", VersionId=first)
    assert (ALL_USERS, "READ") in grants(acl)


# --------------------------------------------------------------------------- bucket settings


def test_block_public_acls_refuses_public_acls(s3: Any, bucket: str) -> None:
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert (status(exc), code(exc)) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert (status(exc), code(exc)) == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert status(exc) == 404  # nothing was written
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private")
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="authenticated-read")
    assert code(exc) == "AccessDenied"


def test_ignore_public_acls_hides_public_grants(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="k")
    assert code(exc) == "AccessDenied"


def test_bucket_owner_enforced_disables_acls(s3: Any, anon: Any, bucket: str, root_id: str) -> None:
    s3.put_object(Bucket=bucket, Key="old", Body=b"x", ACL="public-read")
    s3.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    for call in (
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read"),
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="private"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="old", ACL="public-read"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert (status(exc), code(exc)) == (400, "AccessControlListNotSupported")
        assert exc.value.response["Error"]["Message"] == "The bucket does not allow ACLs"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x")
    s3.put_bucket_acl(Bucket=bucket, GrantFullControl=f'id="{root_id}"')
    # Stored ACLs no longer count, and read as the bucket owner's full control.
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=bucket, Key="old")
    assert code(exc) == "AccessDenied"
    assert grants(s3.get_object_acl(Bucket=bucket, Key="old")) == {(root_id, "FULL_CONTROL")}
    assert grants(s3.get_bucket_acl(Bucket=bucket)) == {(root_id, "FULL_CONTROL")}


def test_policy_deny_overrides_an_acl_grant(s3: Any, anon: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert anon.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    try:
        with pytest.raises(ClientError) as exc:
            anon.get_object(Bucket=bucket, Key="k")
        assert code(exc) == "AccessDenied"
    finally:
        s3.delete_bucket_policy(Bucket=bucket)


# --------------------------------------------------------------------------- other clients


@pytest.mark.client
@needs_aws
def test_awscli_put_object_acl(aws: AwsCli, s3: Any, server: LiveServer, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cli", Body=b"via the aws CLI")
    url = f"{server.endpoint}/{bucket}/cli"
    assert httpx.get(url).status_code == 403
    aws("s3api", "put-object-acl", "--bucket", bucket, "--key", "cli", "--acl", "public-read")
    assert httpx.get(url).content == b"via the aws CLI"
    shown = aws("s3api", "get-object-acl", "--bucket", bucket, "--key", "cli")
    uris = [g["Grantee"].get("URI") for g in json.loads(shown.stdout)["Grants"]]
    assert ALL_USERS in uris
