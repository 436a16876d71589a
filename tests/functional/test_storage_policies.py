"""Storage policies: a bucket's data goes through the block store its policy names.

One server with two policies on two directories: `standard` (the data
directory's own block store) and `cold` (a block store declared in the
config with a root of its own). A bucket is moved to `cold` with the CLI;
objects written from then on land in the cold directory, read back, copy
between the policies, and the collector frees the blocks of both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, client, running

from dolium.core.content.hashing import block_digests
from support.blocks import BLOCK, SMALL_BLOCKS, data_of

DOLIUM = Path(sys.executable).parent / "dolium"


def config_file(tmp: Path) -> Path:
    path = tmp / "dolium.toml"
    path.write_text(
        f"""
[blob.archive]
use = "fs"
options = {{ root = "{tmp / "archive"}" }}

[policy.cold]
blob = "archive"
"""
    )
    return path


def dolium(server: LiveServer, config: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    result = subprocess.run(
        [str(DOLIUM), *args, "--config", str(config), "--data", str(server.data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def paths(root: Path, *data: bytes) -> list[Path]:
    """Where the blocks of each of `data` are stored under `root`."""
    out = []
    for one in data:
        for digest in block_digests(one, BLOCK):
            name = digest.hex()
            out.append(root / name[0:2] / name[2:4] / name)
    return out


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    config = config_file(tmp_path)
    env = {
        **SMALL_BLOCKS,
        "DOLIUM_CONFIG": str(config),
        "DOLIUM_GC_GRACE": "1",
        "DOLIUM_GC_INTERVAL": "1",
    }
    with running(tmp_path / "data", env) as live:
        yield live, config


def new_bucket(s3: Any) -> str:
    name = f"pol-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def test_objects_land_in_their_policys_directory_and_are_collected_there(
    setup: tuple[LiveServer, Path], tmp_path: Path
) -> None:
    live, config = setup
    standard_root, cold_root = live.data / "blocks", tmp_path / "archive"
    s3 = client(live)
    hot, cold = new_bucket(s3), new_bucket(s3)
    before = data_of(3 * BLOCK + 1, "before")
    s3.put_object(Bucket=cold, Key="before", Body=before)
    assert dolium(live, config, "bucket", "policy", cold).strip().endswith("standard")
    assert dolium(live, config, "bucket", "policy", cold, "cold").strip().endswith("cold")

    hot_data, cold_data = data_of(3 * BLOCK + 2, "hot"), data_of(4 * BLOCK + 3, "cold")
    s3.put_object(Bucket=hot, Key="k", Body=hot_data)
    s3.put_object(Bucket=cold, Key="k", Body=cold_data)
    upload = s3.create_multipart_upload(Bucket=cold, Key="multi")["UploadId"]
    part_data = data_of(2 * BLOCK, "part")
    etag = s3.upload_part(Bucket=cold, Key="multi", UploadId=upload, PartNumber=1, Body=part_data)
    s3.complete_multipart_upload(
        Bucket=cold,
        Key="multi",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag["ETag"]}]},
    )

    assert all(p.exists() for p in paths(standard_root, hot_data, before))
    assert not any(p.exists() for p in paths(cold_root, hot_data, before))
    assert all(p.exists() for p in paths(cold_root, cold_data, part_data))
    assert not any(p.exists() for p in paths(standard_root, cold_data))
    assert not any(p.exists() for p in paths(standard_root, part_data))

    # Each reads back from its own store, the old object from where it was written.
    assert s3.get_object(Bucket=hot, Key="k")["Body"].read() == hot_data
    assert s3.get_object(Bucket=cold, Key="k")["Body"].read() == cold_data
    assert s3.get_object(Bucket=cold, Key="before")["Body"].read() == before
    assert s3.get_object(Bucket=cold, Key="multi")["Body"].read() == part_data

    # A copy into a bucket of the other policy stores its data there.
    s3.copy_object(Bucket=hot, Key="copied", CopySource={"Bucket": cold, "Key": "k"})
    assert all(p.exists() for p in paths(standard_root, cold_data))
    assert s3.get_object(Bucket=hot, Key="copied")["Body"].read() == cold_data
    assert "0 missing, 0 corrupt" in dolium(live, config, "check")

    for bucket, key in ((hot, "k"), (cold, "k"), (cold, "before"), (hot, "copied")):
        s3.delete_object(Bucket=bucket, Key=key)
    gone = paths(standard_root, hot_data, before) + paths(cold_root, cold_data)
    gone += paths(standard_root, cold_data)
    wait_for(lambda: not any(p.exists() for p in gone), "the collector to free both stores")
    assert all(p.exists() for p in paths(cold_root, part_data))
    assert s3.get_object(Bucket=cold, Key="multi")["Body"].read() == part_data
