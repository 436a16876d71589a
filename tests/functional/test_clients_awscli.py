"""The aws CLI (v1, botocore) against the live server: s3 and s3api commands."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from awscrt import checksums
from botocore.exceptions import ClientError
from conftest import AwsCli, needs_aws
from trees import MIB, make_tree, read_tree, remote_tree, sha256

pytestmark = [pytest.mark.client, needs_aws]


def test_bucket_lifecycle_and_copies(aws: AwsCli, s3: Any, tmp_path: Path, big_file: Path) -> None:
    name = f"awscli-{uuid.uuid4().hex[:10]}"
    aws("s3", "mb", f"s3://{name}")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from the aws cli\n")
    aws("s3", "cp", "--no-progress", str(small), f"s3://{name}/dir/small.txt")
    aws("s3", "cp", "--no-progress", str(big_file), f"s3://{name}/big.bin")

    # 20 MiB over the CLI's 8 MiB threshold: three parts, so a multipart ETag.
    head = json.loads(aws("s3api", "head-object", "--bucket", name, "--key", "big.bin").stdout)
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-3")
    assert "PartsCount" not in head  # S3 reports it only when asked for a part
    part = tmp_path / "part2"
    args = ("--bucket", name, "--key", "big.bin", "--part-number", "2")
    got = json.loads(aws("s3api", "get-object", *args, str(part)).stdout)
    assert got["PartsCount"] == 3
    assert got["ContentRange"] == f"bytes {8 * MIB}-{16 * MIB - 1}/{20 * MIB}"
    assert part.read_bytes() == big_file.read_bytes()[8 * MIB : 16 * MIB]
    small_head = s3.head_object(Bucket=name, Key="dir/small.txt")
    assert small_head["ETag"] == f'"{hashlib.md5(small.read_bytes()).hexdigest()}"'
    assert small_head["ContentType"] == "text/plain"  # guessed by the CLI from the name

    listing = aws("s3", "ls", f"s3://{name}").stdout.splitlines()
    assert any(line.split()[-2:] == [str(20 * MIB), "big.bin"] for line in listing), listing
    assert any(line.split() == ["PRE", "dir/"] for line in listing), listing
    recursive = aws("s3", "ls", "--recursive", f"s3://{name}").stdout
    assert "dir/small.txt" in recursive

    down = tmp_path / "down"
    aws("s3", "cp", "--no-progress", f"s3://{name}/dir/small.txt", str(down / "small.txt"))
    aws("s3", "cp", "--no-progress", f"s3://{name}/big.bin", str(down / "big.bin"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()
    assert sha256(down / "big.bin") == sha256(big_file)

    # A bucket with objects cannot be removed; after rm --recursive it can.
    refused = aws("s3", "rb", f"s3://{name}", check=False)
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    aws("s3", "rm", "--recursive", "--only-show-errors", f"s3://{name}")
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    aws("s3", "rb", f"s3://{name}")
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_server_side_copy_of_multipart_object(
    aws: AwsCli, s3: Any, bucket: str, tmp_path: Path, big_file: Path
) -> None:
    aws("s3", "cp", "--no-progress", str(big_file), f"s3://{bucket}/src.bin")
    # Over 8 MiB the CLI copies with UploadPartCopy and byte ranges.
    aws("s3", "cp", "--no-progress", f"s3://{bucket}/src.bin", f"s3://{bucket}/copy.bin")
    copied = s3.get_object(Bucket=bucket, Key="copy.bin")["Body"].read()
    assert hashlib.sha256(copied).hexdigest() == sha256(big_file)
    aws("s3", "mv", "--no-progress", f"s3://{bucket}/copy.bin", f"s3://{bucket}/moved.bin")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["moved.bin", "src.bin"]


def test_sync_both_ways(aws: AwsCli, s3: Any, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "local"
    files = make_tree(local)
    aws("s3", "sync", "--no-progress", str(local), f"s3://{bucket}/tree")
    assert remote_tree(s3, bucket, "tree/") == files

    # Nothing changed: a second sync transfers nothing.
    again = aws("s3", "sync", "--no-progress", str(local), f"s3://{bucket}/tree")
    assert again.stdout.strip() == ""

    (local / "top.txt").write_bytes(b"changed, and longer than before\n")
    (local / "a" / "one.bin").unlink()
    (local / "new.txt").write_bytes(b"new\n")
    aws("s3", "sync", "--no-progress", "--delete", str(local), f"s3://{bucket}/tree")
    assert remote_tree(s3, bucket, "tree/") == read_tree(local)

    down = tmp_path / "down"
    aws("s3", "sync", "--no-progress", f"s3://{bucket}/tree", str(down))
    assert read_tree(down) == read_tree(local)
    again = aws("s3", "sync", "--no-progress", f"s3://{bucket}/tree", str(down))
    assert again.stdout.strip() == ""


def test_stdin_upload_streams_multipart(aws: AwsCli, s3: Any, bucket: str, big_file: Path) -> None:
    # From stdin the size is unknown: the CLI streams 8 MiB parts as they fill.
    aws("s3", "cp", "-", f"s3://{bucket}/stdin.bin", stdin=big_file.read_bytes())
    head = s3.head_object(Bucket=bucket, Key="stdin.bin")
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-3")
    stored = s3.get_object(Bucket=bucket, Key="stdin.bin")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha256(big_file)


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("CRC64NVME", "FULL_OBJECT"), ("SHA256", "COMPOSITE")]
)
def test_multipart_upload_with_checksum_algorithm(
    aws: AwsCli, s3: Any, bucket: str, big_file: Path, algorithm: str, kind: str
) -> None:
    # CRC64NVME has only whole-object checksums, so an upload asking for it
    # without a checksum type gets FULL_OBJECT; SHA256 gets COMPOSITE.
    key = f"big-{algorithm}"
    target = f"s3://{bucket}/{key}"
    aws("s3", "cp", "--no-progress", "--checksum-algorithm", algorithm, str(big_file), target)
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumType"] == kind
    value = head[f"Checksum{algorithm}"]
    if kind == "FULL_OBJECT":
        crc = checksums.crc64nvme(big_file.read_bytes()).to_bytes(8, "big")
        assert value == base64.b64encode(crc).decode()
    else:
        assert value.endswith("-3")
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(got).hexdigest() == sha256(big_file)


def test_presign_s3v4(aws: AwsCli, s3: Any, bucket: str, tmp_path: Path) -> None:
    data = b"presigned body \x00\xff"
    s3.put_object(Bucket=bucket, Key="p/obj name.bin", Body=data)
    config = tmp_path / "config"
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    url = aws(
        "s3",
        "presign",
        f"s3://{bucket}/p/obj name.bin",
        "--region",
        "us-east-1",
        "--expires-in",
        "300",
        config=config,
    ).stdout.strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.read() == data


def test_presign_default_is_sigv2(aws: AwsCli, s3: Any, bucket: str) -> None:
    # Without the s3v4 setting the v1 CLI presigns with Signature Version 2.
    s3.put_object(Bucket=bucket, Key="v2 obj", Body=b"x")
    url = aws("s3", "presign", f"s3://{bucket}/v2 obj", "--region", "us-east-1").stdout.strip()
    assert "AWSAccessKeyId=" in url and "X-Amz-" not in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.read() == b"x"
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url.replace("v2%20obj", "v2%20other"), timeout=30)
    assert exc.value.code == 403
    body = exc.value.read().decode()
    exc.value.close()
    assert "<Code>SignatureDoesNotMatch</Code>" in body
