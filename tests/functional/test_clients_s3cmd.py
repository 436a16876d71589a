"""s3cmd against the live server, with a generated config (path style, SigV4, http)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer
from trees import MIB, make_tree, read_tree, remote_tree, run_tool, sha256

S3CMD = Path(sys.executable).parent / "s3cmd"
if not S3CMD.exists() and shutil.which("s3cmd"):
    S3CMD = Path(str(shutil.which("s3cmd")))

pytestmark = [
    pytest.mark.client,
    pytest.mark.skipif(not S3CMD.exists(), reason="s3cmd not installed (pip install s3cmd)"),
]

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def s3cmd(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("s3cmd-home")
    config = home / "s3cfg"
    config.write_text(
        "[default]\n"
        f"access_key = {ROOT_KEY}\n"
        f"secret_key = {ROOT_SECRET}\n"
        f"host_base = {server.host}:{server.port}\n"
        f"host_bucket = {server.host}:{server.port}\n"
        "bucket_location = us-east-1\n"
        "use_https = False\n"
        "signature_v2 = False\n"
        "progress_meter = False\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3CMD"))}
    env["HOME"] = str(home)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_tool([str(S3CMD), "-c", str(config), *args], env, check=check)

    return run


def test_bucket_put_get_list_delete(s3cmd: Run, s3: Any, tmp_path: Path, big_file: Path) -> None:
    name = f"s3cmd-{uuid.uuid4().hex[:10]}"
    s3cmd("mb", f"s3://{name}")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]

    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from s3cmd\n")
    s3cmd("put", str(small), f"s3://{name}/dir/small.txt")
    s3cmd("put", "--multipart-chunk-size-mb=5", str(big_file), f"s3://{name}/big.bin")

    head = s3.head_object(Bucket=name, Key="big.bin")
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-4")  # four 5 MiB parts
    small_head = s3.head_object(Bucket=name, Key="dir/small.txt")
    assert small_head["ETag"] == f'"{hashlib.md5(small.read_bytes()).hexdigest()}"'

    listing = s3cmd("ls", f"s3://{name}").stdout.splitlines()
    assert any(line.split()[-2:] == [str(20 * MIB), f"s3://{name}/big.bin"] for line in listing)
    assert any(line.split() == ["DIR", f"s3://{name}/dir/"] for line in listing), listing
    everything = s3cmd("la").stdout
    assert f"s3://{name}/big.bin" in everything
    assert f"s3://{name}/dir/small.txt" not in everything  # la is not recursive
    assert f"s3://{name}/dir/small.txt" in s3cmd("ls", "-r", f"s3://{name}").stdout

    down = tmp_path / "down"
    down.mkdir()
    s3cmd("get", f"s3://{name}/dir/small.txt", str(down / "small.txt"))
    s3cmd("get", f"s3://{name}/big.bin", str(down / "big.bin"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()
    assert sha256(down / "big.bin") == sha256(big_file)

    refused = s3cmd("rb", f"s3://{name}", check=False)
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    s3cmd("del", f"s3://{name}/dir/small.txt")
    s3cmd("del", f"s3://{name}/big.bin")
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    s3cmd("rb", f"s3://{name}")
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_sync_both_ways(s3cmd: Run, s3: Any, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "local"
    files = make_tree(local)
    s3cmd("sync", f"{local}/", f"s3://{bucket}/tree/")
    assert remote_tree(s3, bucket, "tree/") == files

    again = s3cmd("sync", f"{local}/", f"s3://{bucket}/tree/").stdout
    assert "upload:" not in again

    (local / "top.txt").write_bytes(b"changed, and longer than before\n")
    (local / "a" / "one.bin").unlink()
    (local / "new.txt").write_bytes(b"new\n")
    s3cmd("sync", "--delete-removed", f"{local}/", f"s3://{bucket}/tree/")
    assert remote_tree(s3, bucket, "tree/") == read_tree(local)

    down = tmp_path / "down"
    down.mkdir()
    s3cmd("sync", f"s3://{bucket}/tree/", f"{down}/")
    assert read_tree(down) == read_tree(local)
    s3cmd("del", "--recursive", "--force", f"s3://{bucket}/tree/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_signature_v2(s3cmd: Run, s3: Any, bucket: str, tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"signed with v2\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * MIB))
    v2 = ("--signature-v2", "--debug")
    put = s3cmd(*v2, "put", str(small), f"s3://{bucket}/v2/small.txt")
    # s3cmd falls back from one signature version to the other on errors: check which it used.
    assert "Using signature v2" in put.stderr and "Using signature v4" not in put.stderr
    s3cmd("--signature-v2", "put", "--multipart-chunk-size-mb=5", str(big), f"s3://{bucket}/v2/big")
    assert s3.head_object(Bucket=bucket, Key="v2/big")["ETag"].strip('"').endswith("-2")
    listing = s3cmd("--signature-v2", "ls", f"s3://{bucket}/v2/").stdout
    assert f"s3://{bucket}/v2/small.txt" in listing and f"s3://{bucket}/v2/big" in listing
    down = tmp_path / "down.bin"
    s3cmd("--signature-v2", "get", f"s3://{bucket}/v2/big", str(down))
    assert sha256(down) == sha256(big)
    s3cmd("--signature-v2", "del", "--recursive", "--force", f"s3://{bucket}/v2/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
