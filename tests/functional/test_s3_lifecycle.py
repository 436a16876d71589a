"""Bucket lifecycle over the wire: the configuration calls with boto3, the aws CLI
and raw HTTP, and the worker expiring objects in a live server."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import AwsCli, LiveServer, client, needs_aws, running
from signed import content_md5, error_fields, signed

RULES: list[dict[str, Any]] = [
    {
        "ID": "logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 2},
    },
    {
        "ID": "tmp-tagged",
        "Filter": {
            "And": {
                "Prefix": "tmp/",
                "Tags": [{"Key": "kind", "Value": "scratch"}],
                "ObjectSizeGreaterThan": 10,
                "ObjectSizeLessThan": 1000,
            }
        },
        "Status": "Disabled",
        "Expiration": {"Date": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)},
    },
    {
        "ID": "cleanup",
        "Filter": {},
        "Status": "Enabled",
        "Expiration": {"ExpiredObjectDeleteMarker": True},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    },
    {
        "ID": "tag",
        "Filter": {"Tag": {"Key": "k", "Value": "v"}},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    },
]


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    error = exc.value.response["Error"]
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return status, error["Code"], error.get("Message", "")


def put_rules(s3: Any, bucket: str, rules: list[dict[str, Any]]) -> None:
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def test_round_trip_with_boto3(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code_of(exc)[:2] == (404, "NoSuchLifecycleConfiguration")
    put_rules(s3, bucket, RULES)
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == RULES
    # A new configuration replaces the old one whole.
    put_rules(
        s3, bucket, [{"Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1}}]
    )
    (only,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert only["ID"]  # made up for a rule given none
    assert only["Filter"] == {"Prefix": ""}
    assert s3.delete_bucket_lifecycle(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code_of(exc)[:2] == (404, "NoSuchLifecycleConfiguration")


def test_legacy_rule_prefix_reads_back(s3: Any, bucket: str) -> None:
    rules = [{"ID": "old", "Prefix": "a/", "Status": "Enabled", "Expiration": {"Days": 2}}]
    put_rules(s3, bucket, rules)
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules


@pytest.mark.parametrize(
    ("rules", "status", "code", "message"),
    [
        (
            [{"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 0}}],
            400,
            "InvalidArgument",
            "'Days' for Expiration action must be a positive integer",
        ),
        (
            [
                {"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}},
                {"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 2}},
            ],
            400,
            "InvalidArgument",
            "Rule ID must be unique. Found same ID for more than one rule",
        ),
        (
            [
                {
                    "ID": "a",
                    "Filter": {},
                    "Status": "Enabled",
                    "Expiration": {"Date": datetime.datetime(2030, 1, 1, 12, tzinfo=datetime.UTC)},
                }
            ],
            400,
            "InvalidArgument",
            "'Date' must be at midnight GMT",
        ),
        (
            [
                {
                    "ID": "a",
                    "Filter": {"Tag": {"Key": "k", "Value": "v"}},
                    "Status": "Enabled",
                    "Expiration": {"ExpiredObjectDeleteMarker": True},
                }
            ],
            400,
            "InvalidRequest",
            "ExpiredObjectDeleteMarker cannot be specified with Tags.",
        ),
        (
            [
                {
                    "ID": "a",
                    "Filter": {},
                    "Status": "Enabled",
                    "Expiration": {
                        "Days": 1,
                        "Date": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC),
                    },
                }
            ],
            400,
            "MalformedXML",
            "",
        ),
        (
            [{"ID": "a", "Filter": {}, "Status": "Enabled"}],
            400,
            "InvalidRequest",
            "At least one action needs to be specified in a rule",
        ),
        (
            [
                {
                    "ID": "a",
                    "Filter": {},
                    "Status": "Enabled",
                    "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
                }
            ],
            501,
            "NotImplemented",
            "Transition",
        ),
    ],
)
def test_validation_errors(
    s3: Any, bucket: str, rules: list[dict[str, Any]], status: int, code: str, message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        put_rules(s3, bucket, rules)
    got_status, got_code, got_message = code_of(exc)
    assert (got_status, got_code) == (status, code)
    assert message in got_message
    with pytest.raises(ClientError):  # nothing was stored
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def lifecycle_url(server: LiveServer, bucket: str) -> str:
    return f"{server.endpoint}/{bucket}?lifecycle"


def test_raw_xml_checks(server: LiveServer, bucket: str) -> None:
    url = lifecycle_url(server, bucket)

    def put(body: bytes, md5: bool = True) -> Any:
        headers = {"content-md5": content_md5(body)} if md5 else {}
        return signed("PUT", url, body, headers)

    good = (
        b"<LifecycleConfiguration><Rule><ID>a</ID><Filter/><Status>Enabled</Status>"
        b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
    )
    error_fields(put(good, md5=False), 400, "InvalidRequest")
    for bad in (
        good.replace(b"<Days>1</Days>", b"<Days>one</Days>"),
        good.replace(b"<Status>Enabled</Status>", b""),
        good.replace(b"<Status>Enabled</Status>", b"<Status>On</Status>"),
        good.replace(
            b"<Filter/>",
            b"<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>",
        ),
        good.replace(b"<Filter/>", b""),
        good.replace(b"<ID>a</ID>", b"<ID>a</ID><Color>red</Color>"),
        b"<LifecycleConfiguration></LifecycleConfiguration>",
        b"<LifecycleConfiguration><Rule>",
    ):
        error_fields(put(bad), 400, "MalformedXML")
    fields = error_fields(
        put(good.replace(b"<Days>1</Days>", b"<Days>-3</Days>")), 400, "InvalidArgument"
    )
    assert (fields["ArgumentName"], fields["ArgumentValue"]) == ("Days", "-3")
    # An unknown storage class does not validate against the schema.
    transition = good.replace(
        b"</Expiration>",
        b"</Expiration><Transition><Days>30</Days><StorageClass>COLD</StorageClass></Transition>",
    )
    error_fields(put(transition), 400, "MalformedXML")
    assert put(good).status_code == 200
    got = signed("GET", url)
    assert got.status_code == 200 and b"<Days>1</Days>" in got.content


def test_other_tenant_is_denied(s3: Any, other_s3: Any, bucket: str) -> None:
    rules = [{"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}]
    with pytest.raises(ClientError) as exc:
        put_rules(other_s3, bucket, rules)
    assert code_of(exc)[:2] == (403, "AccessDenied")
    put_rules(s3, bucket, rules)
    for call in (other_s3.get_bucket_lifecycle_configuration, other_s3.delete_bucket_lifecycle):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket)
        assert code_of(exc)[:2] == (403, "AccessDenied")


def test_no_such_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=f"missing-{uuid.uuid4().hex[:8]}")
    assert code_of(exc)[:2] == (404, "NoSuchBucket")


@pytest.mark.client
@needs_aws
def test_aws_cli_lifecycle(aws: AwsCli, bucket: str, tmp_path: Path) -> None:
    def s3api(*args: str, check: bool = True) -> Any:
        return aws("s3api", *args, "--bucket", bucket, check=check)

    missing = s3api("get-bucket-lifecycle-configuration", check=False)
    assert missing.returncode != 0 and "NoSuchLifecycleConfiguration" in missing.stderr
    config = {
        "Rules": [
            {
                "ID": "expire-logs",
                "Filter": {"Prefix": "logs/"},
                "Status": "Enabled",
                "Expiration": {"Days": 10},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
            }
        ]
    }
    path = tmp_path / "lifecycle.json"
    path.write_text(json.dumps(config))
    s3api("put-bucket-lifecycle-configuration", "--lifecycle-configuration", f"file://{path}")
    assert json.loads(s3api("get-bucket-lifecycle-configuration").stdout) == config
    bad = {"Rules": [{**config["Rules"][0], "Expiration": {"Days": 0}}]}
    refused = s3api(
        "put-bucket-lifecycle-configuration",
        "--lifecycle-configuration",
        json.dumps(bad),
        check=False,
    )
    assert refused.returncode != 0 and "InvalidArgument" in refused.stderr
    s3api("delete-bucket-lifecycle")
    assert s3api("get-bucket-lifecycle-configuration", check=False).returncode != 0


# --------------------------------------------------------------------------- the worker


@pytest.fixture
def aged_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose lifecycle worker runs often and sees every object as 3 days older."""
    env = {"DOLIUM_LIFECYCLE_INTERVAL": "0.2", "DOLIUM_CLOCK_OFFSET": "3d"}
    with running(tmp_path / "data", env) as live:
        yield live


def wait_until(check: Any, seconds: float = 30.0) -> bool:
    """Poll `check` until it holds (the worker runs in the background), or give up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_worker_applies_rules_in_a_live_server(aged_server: LiveServer) -> None:
    s3 = client(aged_server)
    name = f"life-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    put_rules(
        s3,
        name,
        [
            {
                "ID": "tmp",
                "Filter": {"Prefix": "tmp/"},
                "Status": "Enabled",
                "Expiration": {"Days": 1},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            },
            {
                "ID": "keep-a-week",
                "Filter": {"Prefix": "keep/"},
                "Status": "Enabled",
                "Expiration": {"Days": 7},
            },
        ],
    )
    s3.put_object(Bucket=name, Key="tmp/a", Body=b"x")
    s3.put_object(Bucket=name, Key="keep/b", Body=b"y")
    upload = s3.create_multipart_upload(Bucket=name, Key="tmp/big")["UploadId"]

    def expired() -> bool:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
        uploads = s3.list_multipart_uploads(Bucket=name).get("Uploads", [])
        return keys == ["keep/b"] and not uploads

    assert wait_until(expired), aged_server.log.read_text()[-2000:]
    versions = s3.list_object_versions(Bucket=name)
    markers = [(m["Key"], m["IsLatest"]) for m in versions.get("DeleteMarkers", [])]
    assert markers == [("tmp/a", True)]  # versioned: expiry adds a delete marker
    assert {v["Key"] for v in versions["Versions"]} == {"tmp/a", "keep/b"}
    with pytest.raises(ClientError):
        s3.abort_multipart_upload(Bucket=name, Key="tmp/big", UploadId=upload)


def test_a_short_lifecycle_day_runs_rules_end_to_end_in_seconds(tmp_path: Path) -> None:
    # A "day" of 2 seconds: Days 1 expires an object 2 to 4 s after it was
    # written, Days 30 keeps it for a minute; no clock is shifted.
    env = {"DOLIUM_LIFECYCLE_INTERVAL": "0.2", "DOLIUM_LIFECYCLE_DAY": "2"}
    with running(tmp_path / "data", env) as live:
        s3 = client(live)
        s3.create_bucket(Bucket="dayly")
        put_rules(
            s3,
            "dayly",
            [
                {"ID": "a", "Filter": {"Prefix": "a/"}, "Status": "Enabled",
                 "Expiration": {"Days": 1}},
                {"ID": "b", "Filter": {"Prefix": "b/"}, "Status": "Enabled",
                 "Expiration": {"Days": 30}},
            ],
        )  # fmt: skip
        s3.put_object(Bucket="dayly", Key="a/soon", Body=b"x")
        s3.put_object(Bucket="dayly", Key="b/later", Body=b"y")

        def keys() -> list[str]:
            listed = s3.list_objects_v2(Bucket="dayly").get("Contents", [])
            return [o["Key"] for o in listed]

        assert keys() == ["a/soon", "b/later"]
        assert wait_until(lambda: keys() == ["b/later"], seconds=20)
    bad = subprocess.run(
        [str(Path(sys.executable).parent / "dolium"), "serve", "--data", str(tmp_path / "x")],
        env={**os.environ, "DOLIUM_LIFECYCLE_DAY": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "lifecycle_day" in bad.stderr
