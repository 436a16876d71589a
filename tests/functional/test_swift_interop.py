"""One store, two APIs: what S3 writes Swift reads, and the other way round,
with the same bytes, metadata, content type and ETag."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import client
from swift_support import SwiftAccount


@pytest.fixture(scope="module")
def s3(account: SwiftAccount) -> Any:
    return client(account.server, account.access_key, account.secret)


def test_a_bucket_made_with_s3_is_a_container(account: SwiftAccount, s3: Any) -> None:
    name = f"s3made-{uuid.uuid4().hex[:8]}"
    data = b"written through S3"
    s3.create_bucket(Bucket=name)
    s3.put_object(
        Bucket=name,
        Key="dir/obj.txt",
        Body=data,
        ContentType="text/x-s3",
        Metadata={"color": "green"},
    )
    conn = account.connection()
    assert name in [c["name"] for c in conn.get_account()[1]]
    headers, body = conn.get_object(name, "dir/obj.txt")
    assert body == data
    assert headers["etag"] == hashlib.md5(data).hexdigest()
    assert headers["content-type"] == "text/x-s3"
    assert headers["x-object-meta-color"] == "green"
    listed = conn.get_container(name)[1]
    assert listed[0]["hash"] == hashlib.md5(data).hexdigest()
    assert listed[0]["bytes"] == len(data)


def test_a_container_made_with_swift_is_a_bucket(account: SwiftAccount, s3: Any) -> None:
    name = f"swiftmade-{uuid.uuid4().hex[:8]}"
    data = b"written through Swift"
    conn = account.connection()
    conn.put_container(name)
    etag = conn.put_object(
        name,
        "obj.bin",
        data,
        content_type="application/x-swift",
        headers={"X-Object-Meta-Shape": "round", "Content-Disposition": "attachment"},
    )
    got = s3.get_object(Bucket=name, Key="obj.bin")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{etag}"'
    assert got["ContentType"] == "application/x-swift"
    assert got["Metadata"] == {"shape": "round"}
    assert got["ContentDisposition"] == "attachment"
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket=name, Key="obj.bin")
    conn.delete_container(name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_a_container_whose_name_s3_cannot_hold_is_reached_by_address(
    account: SwiftAccount, s3: Any
) -> None:
    name = "My Files"
    conn = account.connection()
    conn.put_container(name)
    conn.put_object(name, "a", b"spaces")
    from botocore.handlers import validate_bucket_name

    s3.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    got = s3.get_object(Bucket=f"{account.tenant}:{name}", Key="a")
    assert got["Body"].read() == b"spaces"


def test_the_swift_cli_uploads_lists_and_downloads(
    account: SwiftAccount, s3: Any, tmp_path: Path
) -> None:
    swift = [str(Path(sys.executable).parent / "swift"), "-A", account.auth_url]
    swift += ["-U", f"{account.tenant}:{account.user}", "-K", account.secret]
    source = tmp_path / "notes.txt"
    source.write_bytes(b"from the swift CLI\n" * 1000)
    name = f"cli-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        return subprocess.run(
            [*swift, *args], capture_output=True, text=True, check=True, cwd=tmp_path
        ).stdout

    run("upload", name, "notes.txt", "--header", "X-Object-Meta-From:cli")
    assert run("list", name).split() == ["notes.txt"]
    run("download", name, "notes.txt", "-o", "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == source.read_bytes()
    got = s3.get_object(Bucket=name, Key="notes.txt")
    assert got["Body"].read() == source.read_bytes()
    assert got["Metadata"]["from"] == "cli"
    assert got["ContentType"] == "text/plain"
    run("delete", name)
    assert name not in run("list").split()
