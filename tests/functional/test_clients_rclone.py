"""rclone against the live server, through a remote defined by environment variables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer
from trees import MIB, make_tree, read_tree, remote_tree, run_tool, sha256

RCLONE = shutil.which("rclone")

pytestmark = [
    pytest.mark.client,
    pytest.mark.skipif(RCLONE is None, reason="rclone not on PATH (`make test-deps` installs it)"),
]

Run = Callable[..., subprocess.CompletedProcess[str]]
MULTIPART = ("--s3-upload-cutoff=5M", "--s3-chunk-size=5M")


@pytest.fixture(scope="module")
def rclone(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("rclone-home")
    config = home / "rclone.conf"
    config.write_text("")
    # AWS_* variables of the machine (a CA bundle, a profile) would reach rclone's SDK.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(
        HOME=str(home),
        RCLONE_CONFIG=str(config),
        RCLONE_CONFIG_DOLIUM_TYPE="s3",
        RCLONE_CONFIG_DOLIUM_PROVIDER="Other",
        RCLONE_CONFIG_DOLIUM_ENDPOINT=server.endpoint,
        RCLONE_CONFIG_DOLIUM_ACCESS_KEY_ID=ROOT_KEY,
        RCLONE_CONFIG_DOLIUM_SECRET_ACCESS_KEY=ROOT_SECRET,
        RCLONE_CONFIG_DOLIUM_REGION="us-east-1",
    )

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert RCLONE is not None
        return run_tool([RCLONE, *args], env, check=check)

    return run


def test_tree_roundtrip_check_sync_purge(rclone: Run, s3: Any, tmp_path: Path) -> None:
    name = f"rclone-{uuid.uuid4().hex[:10]}"
    remote = f"dolium:{name}"
    rclone("mkdir", remote)
    s3.head_bucket(Bucket=name)

    local = tmp_path / "local"
    files = make_tree(local)
    big = local / "big" / "twenty.bin"
    big.parent.mkdir()
    big.write_bytes(os.urandom(20 * MIB))
    files["big/twenty.bin"] = big.read_bytes()

    rclone("copy", *MULTIPART, str(local), f"{remote}/t")
    head = s3.head_object(Bucket=name, Key="t/big/twenty.bin")
    assert head["ContentLength"] == 20 * MIB
    assert head["ETag"].strip('"').endswith("-4")  # four 5 MiB parts
    assert remote_tree(s3, name, "t/") == files

    listed = json.loads(rclone("lsjson", "-R", "--files-only", f"{remote}/t").stdout)
    assert {e["Path"]: e["Size"] for e in listed} == {k: len(v) for k, v in files.items()}

    # check compares MD5s: the ETag for single uploads, rclone's own metadata
    # for multipart ones; --download compares the bytes themselves.
    rclone("check", str(local), f"{remote}/t")
    rclone("check", "--download", str(local), f"{remote}/t")

    down = tmp_path / "down"
    rclone("copy", str(f"{remote}/t"), str(down))
    assert sha256(down / "big" / "twenty.bin") == sha256(big)
    assert read_tree(down) == read_tree(local)

    (local / "top.txt").write_bytes(b"changed, and longer than before\n")
    (local / "a" / "one.bin").unlink()
    (local / "new.txt").write_bytes(b"new\n")
    rclone("sync", *MULTIPART, str(local), f"{remote}/t")
    assert remote_tree(s3, name, "t/") == read_tree(local)
    rclone("check", str(local), f"{remote}/t")

    # A tampered remote copy is caught by check.
    s3.put_object(Bucket=name, Key="t/top.txt", Body=b"changed, and longer than befor!\n")
    assert rclone("check", str(local), f"{remote}/t", check=False).returncode != 0

    rclone("purge", remote)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_modtime_update_and_server_side_copy(
    rclone: Run, s3: Any, bucket: str, tmp_path: Path
) -> None:
    local = tmp_path / "one"
    local.mkdir()
    (local / "f.txt").write_bytes(b"same content\n")
    rclone("copy", str(local), f"dolium:{bucket}/d")
    # Only the modification time changes: rclone updates it with a metadata-replacing copy.
    os.utime(local / "f.txt", (1_600_000_000, 1_600_000_000))
    rclone("sync", str(local), f"dolium:{bucket}/d")
    head = s3.head_object(Bucket=bucket, Key="d/f.txt")
    assert float(head["Metadata"]["mtime"]) == 1_600_000_000
    rclone("copyto", f"dolium:{bucket}/d/f.txt", f"dolium:{bucket}/e/g.txt")
    assert s3.get_object(Bucket=bucket, Key="e/g.txt")["Body"].read() == b"same content\n"
    listed = json.loads(rclone("lsjson", f"dolium:{bucket}/e").stdout)
    assert [(e["Name"], e["ModTime"][:19]) for e in listed] == [("g.txt", "2020-09-13T12:26:40")]
