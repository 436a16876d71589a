"""S3 server access logging: configured per bucket, delivered as log objects in
AWS's format to the target bucket, signatures never in them."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import OTHER_KEY, OTHER_SECRET, LiveServer, client, own_server

server_of_logs = own_server("bucket-logs", {"DOLIUM_BUCKET_LOG_INTERVAL": "1"})


@pytest.fixture(scope="module")
def logged(server_of_logs: LiveServer) -> LiveServer:
    """The server, with a second tenant whose requests to others' buckets are refused."""
    server_of_logs.admin("tenant", "create", "other")
    server_of_logs.admin(
        "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
    )
    return server_of_logs


def new_bucket(s3: Any, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


def enable(s3: Any, source: str, target: str, prefix: str = "logs/", **key_format: Any) -> None:
    enabled: dict[str, Any] = {"TargetBucket": target, "TargetPrefix": prefix}
    if key_format:
        enabled["TargetObjectKeyFormat"] = key_format
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": enabled})


def log_lines(s3: Any, target: str, prefix: str, wanted: int) -> tuple[list[str], list[str]]:
    """(keys, lines) of the log objects under `prefix`, once `wanted` lines arrived."""
    deadline = time.monotonic() + 20
    while True:
        listed = s3.list_objects_v2(Bucket=target, Prefix=prefix).get("Contents", [])
        keys = [o["Key"] for o in listed]
        lines = [
            line
            for key in keys
            for line in s3.get_object(Bucket=target, Key=key)["Body"].read().decode().splitlines()
        ]
        if len(lines) >= wanted or time.monotonic() > deadline:
            return keys, lines
        time.sleep(0.3)


def test_requests_are_delivered_in_the_aws_format(logged: LiveServer) -> None:
    s3 = client(logged, signature_version="s3v4")
    source, target = new_bucket(s3, "src"), new_bucket(s3, "logs")
    enable(s3, source, target)
    status = s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]
    assert (status["TargetBucket"], status["TargetPrefix"]) == (target, "logs/")

    s3.put_object(Bucket=source, Key="a b.txt", Body=b"12345")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": source, "Key": "a b.txt"}, ExpiresIn=60
    )
    assert httpx.get(url).status_code == 200
    with pytest.raises(ClientError):
        s3.head_object(Bucket=source, Key="missing")
    other = client(logged, OTHER_KEY, OTHER_SECRET)
    with pytest.raises(ClientError):
        other.get_object(Bucket=source, Key="a b.txt")

    keys, lines = log_lines(s3, target, "logs/", 5)
    assert keys and all(k.startswith("logs/") for k in keys)
    text = "\n".join(lines)
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text
    assert url.split("X-Amz-Signature=")[1].split("&")[0] not in text
    by_operation = {line.split(" ")[7]: line for line in lines}
    put = by_operation["REST.PUT.OBJECT"]
    fields = put.split(" ")
    assert fields[1] == source and fields[8] == "a%20b.txt"
    assert '"PUT /' in put and " 200 - " in put
    assert "SigV4" in put and "AuthHeader" in put
    (get,) = [line for line in lines if "REST.GET.OBJECT" in line and " 200 " in line]
    assert " 200 - 5 5 " in get and "QueryString" in get
    head = by_operation["REST.HEAD.OBJECT"]
    assert " 404 NoSuchKey " in head or " 404 NotFound " in head
    denied = [line for line in lines if " 403 AccessDenied " in line]
    assert denied, lines  # refused requests are logged too


def test_partitioned_keys_and_turning_off(logged: LiveServer) -> None:
    s3 = client(logged)
    source, target = new_bucket(s3, "psrc"), new_bucket(s3, "plogs")
    enable(s3, source, target, "p/", PartitionedPrefix={"PartitionDateSource": "EventTime"})
    fmt = s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetObjectKeyFormat"]
    assert fmt == {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}
    s3.put_object(Bucket=source, Key="k", Body=b"x")
    keys, _ = log_lines(s3, target, "p/", 1)
    day = time.strftime("%Y/%m/%d", time.gmtime())
    assert keys and f"/us-east-1/{source}/{day}/" in keys[0]
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def test_a_target_must_exist_and_let_the_service_write(logged: LiveServer) -> None:
    s3 = client(logged)
    other = client(logged, OTHER_KEY, OTHER_SECRET)
    source = new_bucket(s3, "tsrc")
    with pytest.raises(ClientError) as caught:
        enable(s3, source, f"nowhere-{uuid.uuid4().hex[:8]}")
    assert caught.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
    foreign = new_bucket(other, "foreign")
    with pytest.raises(ClientError) as caught:
        enable(s3, source, foreign)
    assert caught.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
    assert caught.value.response["Error"]["TargetBucket"] == foreign
    # The target's owner lets the log-delivery group write: accepted.
    other.put_bucket_acl(Bucket=foreign, ACL="log-delivery-write")
    enable(s3, source, foreign)
    s3.put_object(Bucket=source, Key="k", Body=b"x")
    keys, lines = log_lines(other, foreign, "logs/", 1)
    assert lines and keys
