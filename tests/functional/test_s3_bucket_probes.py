"""Bucket settings clients probe: ownership controls, public access block, request
payment, logging and acceleration, with boto3, raw HTTP and the aws CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import OTHER_KEY, OTHER_SECRET, AwsCli, LiveServer, needs_aws
from signed import content_md5, error_fields, signed


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    error = exc.value.response["Error"]
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return status, error["Code"], error.get("Message", "")


def refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return code_of(exc)


# --------------------------------------------------------------------------- ownership


def test_ownership_controls(s3: Any, bucket: str) -> None:
    status, code, message = refused(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))
    assert (status, code, message) == (
        404,
        "OwnershipControlsNotFoundError",
        "The bucket ownership controls were not found",
    )
    for value in ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"):
        controls = {"Rules": [{"ObjectOwnership": value}]}
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=controls)
        got = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        assert got == controls
    deleted = s3.delete_bucket_ownership_controls(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert refused(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        b"<OwnershipControls><Rule><ObjectOwnership>Nobody</ObjectOwnership></Rule>"
        b"</OwnershipControls>",
        b"<OwnershipControls/>",
        b"<OwnershipControls><Rule/></OwnershipControls>",
        b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
        b"<Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
    ],
)
def test_invalid_ownership_controls(server: LiveServer, s3: Any, bucket: str, body: bytes) -> None:
    url = f"{server.endpoint}/{bucket}?ownershipControls"
    error_fields(signed("PUT", url, body, {"Content-MD5": content_md5(body)}), 400, "MalformedXML")
    assert refused(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))[0] == 404


# --------------------------------------------------------------------------- public access block


def test_public_access_block(s3: Any, bucket: str) -> None:
    status, code, message = refused(lambda: s3.get_public_access_block(Bucket=bucket))
    assert (status, code, message) == (
        404,
        "NoSuchPublicAccessBlockConfiguration",
        "The public access block configuration was not found",
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "BlockPublicPolicy": True},
    )
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": False,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False,
    }
    every = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=every)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == every
    # The owner keeps full use of the bucket.
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    deleted = s3.delete_public_access_block(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert refused(lambda: s3.get_public_access_block(Bucket=bucket))[0] == 404


def test_public_access_block_raw(server: LiveServer, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}?publicAccessBlock"
    body = (
        b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls>"
        b"</PublicAccessBlockConfiguration>"
    )
    fields = error_fields(signed("PUT", url, body), 400, "InvalidRequest")
    assert fields["Message"].startswith("Missing required header for this request: Content-MD5")
    bad = body.replace(b"true", b"yes")
    error_fields(signed("PUT", url, bad, {"Content-MD5": content_md5(bad)}), 400, "MalformedXML")
    assert signed("PUT", url, body, {"Content-MD5": content_md5(body)}).status_code == 200
    response = signed("GET", url)
    assert response.status_code == 200
    assert response.text.endswith(
        '<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>"
        "<BlockPublicPolicy>false</BlockPublicPolicy>"
        "<RestrictPublicBuckets>false</RestrictPublicBuckets>"
        "</PublicAccessBlockConfiguration>"
    )


# --------------------------------------------------------------------------- fixed answers


def test_request_payment(s3: Any, bucket: str) -> None:
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(
        Bucket=bucket, RequestPaymentConfiguration={"Payer": "BucketOwner"}
    )
    status, code, _ = refused(
        lambda: s3.put_bucket_request_payment(
            Bucket=bucket, RequestPaymentConfiguration={"Payer": "Requester"}
        )
    )
    assert (status, code) == (501, "NotImplemented")
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"


def test_logging_is_off_until_asked_and_acceleration_is_off(
    server: LiveServer, s3: Any, bucket: str
) -> None:
    logging = s3.get_bucket_logging(Bucket=bucket)
    assert "LoggingEnabled" not in logging
    raw = signed("GET", f"{server.endpoint}/{bucket}?logging")
    assert raw.text.endswith(
        '<BucketLoggingStatus xmlns="http://doc.s3.amazonaws.com/2006-03-01"/>'
    )
    accelerate = s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert "Status" not in accelerate
    status, code, _ = refused(
        lambda: s3.put_bucket_accelerate_configuration(
            Bucket=bucket, AccelerateConfiguration={"Status": "Enabled"}
        )
    )
    assert (status, code) == (501, "NotImplemented")
    # Server access logging is served (test_s3_access_logs.py): turned on, it shows.
    s3.put_bucket_logging(
        Bucket=bucket,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": bucket, "TargetPrefix": "l/"}},
    )
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetPrefix"] == "l/"
    # Turning them off is what they are: accepted, and nothing changes.
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    s3.put_bucket_accelerate_configuration(
        Bucket=bucket, AccelerateConfiguration={"Status": "Suspended"}
    )
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    status, code, _ = refused(
        lambda: s3.put_bucket_accelerate_configuration(
            Bucket=bucket, AccelerateConfiguration={"Status": "Fast"}
        )
    )
    assert (status, code) == (400, "MalformedXML")


# Every bucket sub-resource that a PUT writes, with a body no parser accepts.
PUT_FLAGS = [
    "acl",
    "accelerate",
    "cors",
    "encryption",
    "lifecycle",
    "logging",
    "notification",
    "object-lock",
    "ownershipControls",
    "publicAccessBlock",
    "requestPayment",
    "tagging",
    "versioning",
    "website",
]


@pytest.mark.parametrize("flag", PUT_FLAGS)
def test_permission_is_checked_before_the_body(server: LiveServer, bucket: str, flag: str) -> None:
    """A caller who may not write a setting learns AccessDenied, not what is wrong
    with the document; the owner learns what is wrong with it."""
    body = b"<NotThis>"
    other = Credentials(OTHER_KEY, OTHER_SECRET)
    outsider = signed("PUT", f"{server.endpoint}/{bucket}?{flag}", body, credentials=other)
    error_fields(outsider, 403, "AccessDenied")
    owner = signed("PUT", f"{server.endpoint}/{bucket}?{flag}", body)
    assert owner.status_code == 400, owner.text


def test_other_methods_never_touch_the_bucket(s3: Any, server: LiveServer, bucket: str) -> None:
    # DELETE or HEAD on a sub-resource must not fall through to DeleteBucket / HeadBucket.
    for flag in ("requestPayment", "logging", "accelerate"):
        response = signed("DELETE", f"{server.endpoint}/{bucket}?{flag}")
        fields = error_fields(response, 405, "MethodNotAllowed")
        assert (fields["Method"], fields["ResourceType"]) == ("DELETE", "BUCKET")
    s3.head_bucket(Bucket=bucket)


def test_owner_only_and_missing_bucket(s3: Any, other_s3: Any, bucket: str) -> None:
    calls: list[Callable[[Any, str], Any]] = [
        lambda c, b: c.get_bucket_ownership_controls(Bucket=b),
        lambda c, b: c.put_bucket_ownership_controls(
            Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
        ),
        lambda c, b: c.delete_bucket_ownership_controls(Bucket=b),
        lambda c, b: c.get_public_access_block(Bucket=b),
        lambda c, b: c.put_public_access_block(
            Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
        ),
        lambda c, b: c.delete_public_access_block(Bucket=b),
        lambda c, b: c.get_bucket_request_payment(Bucket=b),
        lambda c, b: c.get_bucket_logging(Bucket=b),
        lambda c, b: c.get_bucket_accelerate_configuration(Bucket=b),
    ]
    for call in calls:
        assert refused(call, other_s3, bucket)[:2] == (403, "AccessDenied")
        assert refused(call, s3, "no-such-bucket-probes")[:2] == (404, "NoSuchBucket")
    assert refused(lambda: s3.get_public_access_block(Bucket=bucket))[0] == 404
    assert refused(lambda: s3.get_bucket_ownership_controls(Bucket=bucket))[0] == 404


def test_no_bucket_replicates(s3: Any, other_s3: Any, server: LiveServer, bucket: str) -> None:
    fields = error_fields(
        signed("GET", f"{server.endpoint}/{bucket}?replication"),
        404,
        "ReplicationConfigurationNotFoundError",
    )
    assert fields["Message"] == "The replication configuration was not found"
    assert fields["BucketName"] == bucket
    s3.delete_bucket_replication(Bucket=bucket)  # nothing to remove: 204
    rule = {
        "ID": "r",
        "Status": "Enabled",
        "Priority": 1,
        "Filter": {},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": "arn:aws:s3:::elsewhere"},
    }
    config = {"Role": "arn:aws:iam::000000000000:role/r", "Rules": [rule]}
    for caller, answer in ((s3, (501, "NotImplemented")), (other_s3, (403, "AccessDenied"))):
        put = caller.put_bucket_replication
        assert refused(put, Bucket=bucket, ReplicationConfiguration=config)[:2] == answer
    for call in (s3.get_bucket_replication, s3.delete_bucket_replication):
        assert refused(call, Bucket="no-such-bucket-probes")[:2] == (404, "NoSuchBucket")
    for call in (other_s3.get_bucket_replication, other_s3.delete_bucket_replication):
        assert refused(call, Bucket=bucket)[:2] == (403, "AccessDenied")
    # An object has no replication setting: never mistaken for a GetObject.
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    error_fields(signed("GET", f"{server.endpoint}/{bucket}/k?replication"), 501, "NotImplemented")


# --------------------------------------------------------------------------- aws CLI


@pytest.mark.client
@needs_aws
def test_aws_cli_probes(aws: AwsCli, bucket: str) -> None:
    def s3api(*args: str, check: bool = True) -> Any:
        return aws("s3api", *args, "--bucket", bucket, check=check)

    missing = s3api("get-public-access-block", check=False)
    assert missing.returncode != 0
    assert "NoSuchPublicAccessBlockConfiguration" in missing.stderr
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    s3api("put-public-access-block", "--public-access-block-configuration", json.dumps(block))
    got = json.loads(s3api("get-public-access-block").stdout)
    assert got == {"PublicAccessBlockConfiguration": block}

    controls = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    s3api("put-bucket-ownership-controls", "--ownership-controls", json.dumps(controls))
    got = json.loads(s3api("get-bucket-ownership-controls").stdout)
    assert got == {"OwnershipControls": controls}
    assert json.loads(s3api("get-bucket-request-payment").stdout) == {"Payer": "BucketOwner"}
    s3api("delete-bucket-ownership-controls")
    s3api("delete-public-access-block")
    assert s3api("get-bucket-ownership-controls", check=False).returncode != 0
