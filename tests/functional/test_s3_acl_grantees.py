"""ACL documents as S3 writes them: every CanonicalUser grantee with its ID and
DisplayName, the bucket owner granted by ID through the bucket-owner-* canned
ACLs, and the ACL of each version on its own."""

from __future__ import annotations

from typing import Any

import pytest
from access_support import canonical_id
from botocore.credentials import Credentials
from conftest import OTHER_KEY, OTHER_SECRET, LiveServer
from defusedxml import ElementTree
from signed import ROOT, signed

XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
OTHER = Credentials(OTHER_KEY, OTHER_SECRET)


@pytest.fixture(scope="module")
def root_id(s3: Any) -> str:
    return canonical_id(s3)


@pytest.fixture(scope="module")
def other_id(other_s3: Any) -> str:
    return canonical_id(other_s3)


def acl_grants(server: LiveServer, path: str, credentials: Credentials = ROOT) -> list[Any]:
    response = signed("GET", f"{server.endpoint}{path}", credentials=credentials)
    assert response.status_code == 200, response.text
    root = ElementTree.fromstring(response.content)
    owner = root.find(f"{NS}Owner")
    assert owner is not None and owner.findtext(f"{NS}ID")
    assert owner.findtext(f"{NS}DisplayName")
    return root.findall(f"{NS}AccessControlList/{NS}Grant")


def canonical_grantees(grants: list[Any]) -> dict[str, tuple[str, str]]:
    """ID -> (DisplayName, Permission) of the CanonicalUser grants; each must carry its ID."""
    found: dict[str, tuple[str, str]] = {}
    for grant in grants:
        grantee = grant.find(f"{NS}Grantee")
        if grantee.get(XSI) != "CanonicalUser":
            continue
        grantee_id = grantee.findtext(f"{NS}ID")
        assert grantee_id, ElementTree.tostring(grant)
        found[grantee_id] = (
            grantee.findtext(f"{NS}DisplayName") or "",
            grant.findtext(f"{NS}Permission") or "",
        )
    return found


def shared_bucket(s3: Any, bucket: str, other_id: str, root_id: str) -> None:
    """Let the other account write into the root's bucket."""
    s3.put_bucket_acl(
        Bucket=bucket,
        GrantFullControl=f"id={root_id}",
        GrantWrite=f"id={other_id}",
    )


@pytest.mark.parametrize(
    ("canned", "permission"),
    [("bucket-owner-read", "READ"), ("bucket-owner-full-control", "FULL_CONTROL")],
)
def test_bucket_owner_canned_acls_grant_the_bucket_owner_by_id(
    server: LiveServer,
    s3: Any,
    other_s3: Any,
    bucket: str,
    root_id: str,
    other_id: str,
    canned: str,
    permission: str,
) -> None:
    shared_bucket(s3, bucket, other_id, root_id)
    other_s3.put_object(Bucket=bucket, Key="theirs", Body=b"x", ACL=canned)
    grants = acl_grants(server, f"/{bucket}/theirs?acl", OTHER)
    grantees = canonical_grantees(grants)
    assert len(grants) == 2
    assert grantees[other_id] == ("Other Tenant", "FULL_CONTROL")
    assert grantees[root_id][1] == permission
    assert grantees[root_id][0]  # the bucket owner's display name
    # The bucket owner reads it by that grant.
    assert s3.get_object(Bucket=bucket, Key="theirs")["Body"].read() == b"x"


def test_bucket_owner_canned_acl_from_the_bucket_owner_is_the_owner_alone(
    server: LiveServer, s3: Any, bucket: str, root_id: str
) -> None:
    s3.put_object(Bucket=bucket, Key="mine", Body=b"x", ACL="bucket-owner-full-control")
    grantees = canonical_grantees(acl_grants(server, f"/{bucket}/mine?acl"))
    assert list(grantees) == [root_id]


def test_every_grantee_carries_its_id_and_display_name(
    server: LiveServer, s3: Any, bucket: str, root_id: str, other_id: str
) -> None:
    s3.put_bucket_acl(
        Bucket=bucket,
        GrantFullControl=f"id={root_id}",
        GrantRead="emailAddress=other@example.com",
        GrantReadACP=f"id={other_id}",
    )
    grantees = canonical_grantees(acl_grants(server, f"/{bucket}?acl"))
    assert grantees[other_id][0] == "Other Tenant"
    assert grantees[root_id][1] == "FULL_CONTROL"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", GrantRead=f"id={other_id}")
    grantees = canonical_grantees(acl_grants(server, f"/{bucket}/k?acl"))
    assert grantees[other_id] == ("Other Tenant", "READ")


def test_each_version_has_its_own_acl(
    server: LiveServer, s3: Any, versioned: str, root_id: str, other_id: str
) -> None:
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"1", GrantRead=f"id={other_id}")
    second = s3.put_object(Bucket=versioned, Key="k", Body=b"2")
    v1, v2 = first["VersionId"], second["VersionId"]
    assert other_id in canonical_grantees(acl_grants(server, f"/{versioned}/k?acl&versionId={v1}"))
    assert list(canonical_grantees(acl_grants(server, f"/{versioned}/k?acl&versionId={v2}"))) == [
        root_id
    ]
    # Setting one version's ACL leaves the other's alone.
    response = signed(
        "PUT",
        f"{server.endpoint}/{versioned}/k?acl&versionId={v2}",
        headers={"x-amz-grant-full-control": f'id="{other_id}"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-amz-version-id"] == v2
    assert canonical_grantees(acl_grants(server, f"/{versioned}/k?acl&versionId={v2}")) == {
        other_id: ("Other Tenant", "FULL_CONTROL")
    }
    assert (
        canonical_grantees(acl_grants(server, f"/{versioned}/k?acl&versionId={v1}"))[other_id][1]
        == "READ"
    )
    got = s3.get_object_acl(Bucket=versioned, Key="k", VersionId=v1)
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-version-id"] == v1
