"""Object Lock over HTTP with boto3 and raw signed requests: bucket configuration,
retention, legal holds, and versions that refuse to go."""

from __future__ import annotations

import contextlib
import datetime
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import AwsCli, LiveServer, needs_aws
from signed import content_md5, error_fields, signed

UTC = datetime.UTC


def ahead(days: float = 1) -> datetime.datetime:
    return (datetime.datetime.now(UTC) + datetime.timedelta(days=days)).replace(microsecond=0)


def code_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    error = info.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"].get("Message", ""),
    )


def empty_locked(s3: Any, name: str) -> None:
    """Remove what can be removed; COMPLIANCE versions stay, and so does the bucket."""
    try:
        s3.delete_bucket_policy(Bucket=name)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                with contextlib.suppress(ClientError):  # a delete marker has none
                    s3.put_object_legal_hold(
                        Bucket=name,
                        Key=entry["Key"],
                        VersionId=entry["VersionId"],
                        LegalHold={"Status": "OFF"},
                    )
                s3.delete_object(
                    Bucket=name,
                    Key=entry["Key"],
                    VersionId=entry["VersionId"],
                    BypassGovernanceRetention=True,
                )
        s3.delete_bucket(Bucket=name)
    except ClientError:
        pass  # cleanup must not hide the test's own failure


@pytest.fixture
def locked(s3: Any) -> Iterator[str]:
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    empty_locked(s3, name)


# --------------------------------------------------------------------------- bucket


def test_a_lock_bucket_is_versioned_and_cannot_be_suspended(s3: Any, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as info:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert code_of(info)[:2] == (409, "InvalidBucketState")
    s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Enabled"})


def test_enabling_on_an_existing_bucket(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_object_lock_configuration(Bucket=bucket)
    status, code, message = code_of(info)
    assert (status, code) == (404, "ObjectLockConfigurationNotFoundError")
    assert message == "Object Lock configuration does not exist for this bucket"
    config = {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as info:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    assert code_of(info)[:2] == (409, "InvalidBucketState")
    assert "Versioning must be 'Enabled'" in code_of(info)[2]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    got = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert got == config


@pytest.mark.parametrize(
    "config",
    [
        {"ObjectLockEnabled": "Disabled"},
        {"Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
        {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE"}}},
        {
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}},
        },
        {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "x", "Days": 1}}},
    ],
)
def test_malformed_configurations(s3: Any, locked: str, config: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=config)
    assert code_of(info)[:2] == (400, "MalformedXML")


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"Days": 0}, "Default retention period must be a positive integer value."),
        ({"Years": -1}, "Default retention period must be a positive integer value."),
        ({"Days": 36501}, "Default retention period too large."),
        ({"Years": 101}, "Default retention period too large."),
    ],
)
def test_an_invalid_period_is_invalid_retention_period(
    s3: Any, locked: str, period: dict[str, int], message: str
) -> None:
    config = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", **period}},
    }
    with pytest.raises(ClientError) as info:
        s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=config)
    assert code_of(info) == (400, "InvalidRetentionPeriod", message)


def test_default_retention_applies_to_new_versions(s3: Any, locked: str) -> None:
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    config = {"ObjectLockEnabled": "Enabled", "Rule": rule}
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=config)
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == config
    version = s3.put_object(Bucket=locked, Key="k", Body=b"data")["VersionId"]
    head = s3.head_object(Bucket=locked, Key="k", VersionId=version)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    expected = head["LastModified"] + datetime.timedelta(days=1)
    assert abs((head["ObjectLockRetainUntilDate"] - expected).total_seconds()) < 2
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version)
    assert code_of(info) == (
        403,
        "AccessDenied",
        "Access Denied because object protected by object lock.",
    )
    # Removing the default leaves existing versions as they were.
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    )
    plain = s3.put_object(Bucket=locked, Key="k", Body=b"more")["VersionId"]
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="k", VersionId=plain)
    assert s3.head_object(Bucket=locked, Key="k", VersionId=version)["ObjectLockMode"]


# --------------------------------------------------------------------------- retention


def test_a_compliance_version_refuses_deletion_and_shortening(s3: Any, locked: str) -> None:
    until = ahead(2)
    version = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"worm",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    got = s3.get_object(Bucket=locked, Key="k")
    assert got["ObjectLockMode"] == "COMPLIANCE"
    assert got["ObjectLockRetainUntilDate"] == until
    for bypass in (False, True):
        with pytest.raises(ClientError) as info:
            s3.delete_object(
                Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=bypass
            )
        assert code_of(info)[:2] == (403, "AccessDenied")
    for retention in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": ahead(1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": ahead(3)},
    ):
        with pytest.raises(ClientError) as info:
            s3.put_object_retention(
                Bucket=locked, Key="k", Retention=retention, BypassGovernanceRetention=True
            )
        assert code_of(info)[:2] == (403, "AccessDenied")
    longer = ahead(5)
    s3.put_object_retention(
        Bucket=locked, Key="k", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer}
    )
    retention = s3.get_object_retention(Bucket=locked, Key="k", VersionId=version)["Retention"]
    assert retention == {"Mode": "COMPLIANCE", "RetainUntilDate": longer}
    # New versions and delete markers go on top; the locked version stays.
    s3.put_object(Bucket=locked, Key="k", Body=b"newer")
    marker = s3.delete_object(Bucket=locked, Key="k")
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="k", VersionId=version)["Body"].read() == b"worm"


def test_governance_bypass_needs_header_and_permission(s3: Any, locked: str) -> None:
    def put() -> str:
        return str(
            s3.put_object(
                Bucket=locked,
                Key="g",
                Body=b"g",
                ObjectLockMode="GOVERNANCE",
                ObjectLockRetainUntilDate=ahead(),
            )["VersionId"]
        )

    version = put()
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=locked, Key="g", VersionId=version)
    assert code_of(info)[:2] == (403, "AccessDenied")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:BypassGovernanceRetention",
                "Resource": f"arn:aws:s3:::{locked}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=locked, Policy=json.dumps(deny))
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=locked, Key="g", VersionId=version, BypassGovernanceRetention=True)
    assert code_of(info)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as info:
        s3.put_object_retention(
            Bucket=locked,
            Key="g",
            Retention={},
            BypassGovernanceRetention=True,
        )
    assert code_of(info)[:2] == (403, "AccessDenied")
    s3.delete_bucket_policy(Bucket=locked)
    # With the permission, an empty Retention removes it, and a bypassed delete works.
    s3.put_object_retention(Bucket=locked, Key="g", Retention={}, BypassGovernanceRetention=True)
    with pytest.raises(ClientError) as info:
        s3.get_object_retention(Bucket=locked, Key="g")
    assert code_of(info)[:2] == (404, "NoSuchObjectLockConfiguration")
    other = put()
    s3.delete_object(Bucket=locked, Key="g", VersionId=other, BypassGovernanceRetention=True)
    s3.delete_object(Bucket=locked, Key="g", VersionId=version)
    assert "Versions" not in s3.list_object_versions(Bucket=locked, Prefix="g")


def test_legal_hold_on_and_off(s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="h", Body=b"h")["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.get_object_legal_hold(Bucket=locked, Key="h")
    assert code_of(info) == (
        404,
        "NoSuchObjectLockConfiguration",
        "The specified object does not have a ObjectLock configuration",
    )
    s3.put_object_legal_hold(Bucket=locked, Key="h", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as info:
        s3.delete_object(Bucket=locked, Key="h", VersionId=version, BypassGovernanceRetention=True)
    assert code_of(info)[:2] == (403, "AccessDenied")
    s3.put_object_retention(
        Bucket=locked, Key="h", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": ahead()}
    )
    s3.put_object_legal_hold(Bucket=locked, Key="h", VersionId=version, LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "OFF"}
    # Lifted is not never placed: HEAD now says OFF, as S3 does.
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "OFF"
    s3.delete_object(Bucket=locked, Key="h", VersionId=version, BypassGovernanceRetention=True)


def test_a_retention_alone_is_no_legal_hold(s3: Any, locked: str) -> None:
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": ahead()}
    s3.put_object(Bucket=locked, Key="r", Body=b"r")
    s3.put_object_retention(Bucket=locked, Key="r", Retention=retention)
    with pytest.raises(ClientError) as info:
        s3.get_object_legal_hold(Bucket=locked, Key="r")
    assert code_of(info)[:2] == (404, "NoSuchObjectLockConfiguration")
    assert "ObjectLockLegalHoldStatus" not in s3.head_object(Bucket=locked, Key="r")
    # And a legal hold alone is no retention.
    s3.put_object(Bucket=locked, Key="l", Body=b"l", ObjectLockLegalHoldStatus="OFF")
    assert s3.get_object_legal_hold(Bucket=locked, Key="l")["LegalHold"] == {"Status": "OFF"}
    with pytest.raises(ClientError) as info:
        s3.get_object_retention(Bucket=locked, Key="l")
    assert code_of(info)[:2] == (404, "NoSuchObjectLockConfiguration")


def test_delete_objects_reports_locked_versions(s3: Any, locked: str) -> None:
    held = s3.put_object(Bucket=locked, Key="a", Body=b"a", ObjectLockLegalHoldStatus="ON")
    free = s3.put_object(Bucket=locked, Key="b", Body=b"b")
    answer = s3.delete_objects(
        Bucket=locked,
        Delete={
            "Objects": [
                {"Key": "a", "VersionId": held["VersionId"]},
                {"Key": "b", "VersionId": free["VersionId"]},
            ]
        },
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["b"]
    [error] = answer["Errors"]
    assert (error["Key"], error["Code"]) == ("a", "AccessDenied")
    assert error["Message"] == "Access Denied because object protected by object lock."


# --------------------------------------------------------------------------- errors


def test_lock_parameters_on_a_bucket_without_object_lock(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_object(
            Bucket=bucket,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=ahead(),
        )
    assert code_of(info) == (400, "InvalidRequest", "Bucket is missing ObjectLockConfiguration")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"})
    assert code_of(info) == (400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
    with pytest.raises(ClientError) as info:
        s3.get_object_retention(Bucket=bucket, Key="k")
    assert code_of(info)[:2] == (400, "InvalidRequest")


def test_a_bypass_outside_object_lock_is_ignored(s3: Any, bucket: str) -> None:
    """Cleanup tools send x-amz-bypass-governance-retention on every delete; S3 ignores
    it where there is no Object Lock."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_object(Bucket=bucket, Key="j", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k", BypassGovernanceRetention=True)
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "j"}, {"Key": "gone"}]},
        BypassGovernanceRetention=True,
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["gone", "j"]
    assert "Errors" not in answer
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_dates_must_be_ahead(s3: Any, locked: str) -> None:
    past = datetime.datetime.now(UTC) - datetime.timedelta(days=1)
    with pytest.raises(ClientError) as info:
        s3.put_object(
            Bucket=locked,
            Key="k",
            Body=b"x",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=past,
        )
    assert code_of(info) == (400, "InvalidArgument", "The retain until date must be in the future!")
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_object_retention(
            Bucket=locked, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": past}
        )
    assert code_of(info)[:2] == (400, "InvalidArgument")


def test_raw_header_errors(server: LiveServer, s3: Any, locked: str) -> None:
    url = f"{server.endpoint}/{locked}/raw"
    until = ahead().strftime("%Y-%m-%dT%H:%M:%SZ")
    body = b"raw"
    md5 = {"content-md5": content_md5(body)}
    cases = [
        ({"x-amz-object-lock-mode": "GOVERNANCE"}, "InvalidArgument", "must both be supplied"),
        (
            {"x-amz-object-lock-mode": "governance", "x-amz-object-lock-retain-until-date": until},
            "InvalidArgument",
            "Unknown wormMode directive.",
        ),
        (
            {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "x"},
            "InvalidArgument",
            "ISO 8601",
        ),
        ({"x-amz-object-lock-legal-hold": "on"}, "InvalidArgument", "'ON' or 'OFF'"),
    ]
    for headers, code, message in cases:
        fields = error_fields(signed("PUT", url, body, {**headers, **md5}), 400, code)
        assert message in fields["Message"]
    # Lock parameters need an integrity header besides the SigV4 payload hash.
    hold = {"x-amz-object-lock-legal-hold": "ON"}
    fields = error_fields(signed("PUT", url, body, hold), 400, "InvalidRequest")
    assert fields["Message"] == (
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
        "with Object Lock parameters"
    )
    assert signed("PUT", url, body, {**hold, **md5}).status_code == 200
    assert s3.head_object(Bucket=locked, Key="raw")["ObjectLockLegalHoldStatus"] == "ON"
    # The configuration writes need Content-MD5 or a checksum too.
    config = (
        b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        b"</ObjectLockConfiguration>"
    )
    error_fields(
        signed("PUT", f"{server.endpoint}/{locked}?object-lock", config), 400, "InvalidRequest"
    )


def test_a_delete_marker_has_no_lock(s3: Any, locked: str) -> None:
    s3.put_object(Bucket=locked, Key="m", Body=b"m")
    marker = s3.delete_object(Bucket=locked, Key="m")["VersionId"]
    with pytest.raises(ClientError) as info:
        s3.get_object_retention(Bucket=locked, Key="m", VersionId=marker)
    assert code_of(info)[:2] == (405, "MethodNotAllowed")
    s3.delete_object(Bucket=locked, Key="m", VersionId=marker)


# --------------------------------------------------------------------------- aws CLI


@pytest.mark.client
@needs_aws
def test_aws_cli_retention_and_legal_hold(aws: AwsCli, s3: Any, locked: str) -> None:
    def s3api(*args: str, check: bool = True) -> Any:
        result = aws("s3api", *args, "--bucket", locked, check=check)
        return json.loads(result.stdout) if check and result.stdout.strip() else result

    version = s3.put_object(Bucket=locked, Key="cli", Body=b"cli")["VersionId"]
    until = ahead(3).strftime("%Y-%m-%dT%H:%M:%SZ")
    s3api(
        "put-object-retention",
        "--key",
        "cli",
        "--retention",
        json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until}),
    )
    got = s3api("get-object-retention", "--key", "cli", "--version-id", version)
    assert got["Retention"]["Mode"] == "GOVERNANCE"
    stored = datetime.datetime.fromisoformat(got["Retention"]["RetainUntilDate"])
    assert stored == datetime.datetime.fromisoformat(until)
    s3api("put-object-legal-hold", "--key", "cli", "--legal-hold", "Status=ON")
    assert s3api("get-object-legal-hold", "--key", "cli") == {"LegalHold": {"Status": "ON"}}
    refused = s3api(
        "delete-object",
        "--key",
        "cli",
        "--version-id",
        version,
        "--bypass-governance-retention",
        check=False,
    )
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    s3api("put-object-legal-hold", "--key", "cli", "--legal-hold", "Status=OFF")
    assert s3api("get-object-legal-hold", "--key", "cli") == {"LegalHold": {"Status": "OFF"}}
    s3api("delete-object", "--key", "cli", "--version-id", version, "--bypass-governance-retention")
