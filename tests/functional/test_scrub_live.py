"""`dolium scrub` beside a live server: a block damaged on disk is never served,
the scrub names the object versions it breaks, and uploading the same content
again repairs them."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import DOLIUM, LiveServer, client, running

from dolium.core.content.hashing import block_digests
from support.blocks import BLOCK, SMALL_BLOCKS, data_of


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with running(tmp_path / "data", SMALL_BLOCKS) as server:
        yield server


def block_file(server: LiveServer, digest: bytes) -> Path:
    name = digest.hex()
    return server.data / "blocks" / name[0:2] / name[2:4] / name


def flip_one_byte(path: Path, offset: int = 4321) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def scrub(server: LiveServer, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [DOLIUM, "scrub", "--json", "--data", str(server.data), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def read(s3: Any, bucket: str, key: str, version: str) -> bytes | None:
    """The whole object, or None when the server refuses it or cuts it short."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read()
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        return None
    except Exception:  # botocore raises on a body cut short
        return None
    return bytes(body)


def test_a_flipped_byte_is_refused_reported_and_repaired_by_reupload(live: LiveServer) -> None:
    s3 = client(live)
    s3.create_bucket(Bucket="scrubbed")
    s3.put_bucket_versioning(Bucket="scrubbed", VersioningConfiguration={"Status": "Enabled"})
    read_first = data_of(3 * BLOCK + 100, "read first")
    found_by_scrub = data_of(2 * BLOCK, "found by scrub")
    sound = data_of(2 * BLOCK, "sound")
    v_read = s3.put_object(Bucket="scrubbed", Key="read", Body=read_first)["VersionId"]
    v_scrub = s3.put_object(Bucket="scrubbed", Key="scrub", Body=found_by_scrub)["VersionId"]
    s3.put_object(Bucket="scrubbed", Key="sound", Body=sound)
    code, report = scrub(live)
    assert code == 0 and report["clean"] and report["ok"] == 8

    bad_read = block_digests(read_first, BLOCK)[1]
    bad_scrub = block_digests(found_by_scrub, BLOCK)[0]
    flip_one_byte(block_file(live, bad_read))
    flip_one_byte(block_file(live, bad_scrub))

    # Never served, however often asked; the block is set aside on the first read.
    for _ in range(2):
        assert read(s3, "scrubbed", "read", v_read) is None
    assert not block_file(live, bad_read).exists()
    assert list((live.data / "blocks" / "quarantine").glob(f"{bad_read.hex()}.*"))

    code, report = scrub(live)
    assert code == 1 and not report["clean"]
    assert (report["lost"], report["ok"]) == (2, 6)
    damaged = {
        (d["bucket"], d["key"], d["version_id"], d["block"]) for d in report["unrecoverable"]
    }
    assert damaged == {
        ("scrubbed", "read", v_read, bad_read.hex()),
        ("scrubbed", "scrub", v_scrub, bad_scrub.hex()),
    }
    assert json.loads((live.data / "scrub.json").read_text()) == report
    assert read(s3, "scrubbed", "scrub", v_scrub) is None

    # Uploading the same content again stores sound copies of both blocks.
    s3.put_object(Bucket="scrubbed", Key="read-again", Body=read_first)
    s3.put_object(Bucket="scrubbed", Key="scrub-again", Body=found_by_scrub)
    assert read(s3, "scrubbed", "read", v_read) == read_first
    assert read(s3, "scrubbed", "scrub", v_scrub) == found_by_scrub
    code, report = scrub(live, "--bucket", "scrubbed", "--rate", "50")
    assert code == 0 and report["clean"] and report["lost"] == 0


def test_scrub_speaks_one_line_for_a_missing_bucket(live: LiveServer) -> None:
    done = subprocess.run(
        [DOLIUM, "scrub", "--bucket", "nope", "--data", str(live.data)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "dolium: no bucket 'nope'"
    done = subprocess.run(
        [DOLIUM, "scrub", "--data", str(live.data)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "0 blocks checked" in done.stdout


def test_the_server_scrubs_on_its_interval(tmp_path: Path) -> None:
    env = {**SMALL_BLOCKS, "DOLIUM_SCRUB_INTERVAL": "1", "DOLIUM_SCRUB_RATE": "100"}
    with running(tmp_path / "data", env) as server:
        s3 = client(server)
        s3.create_bucket(Bucket="background")
        s3.put_object(Bucket="background", Key="k", Body=data_of(2 * BLOCK, "background"))
        deadline = time.monotonic() + 30
        report: dict[str, Any] = {}
        while time.monotonic() < deadline and report.get("ok") != 2:
            time.sleep(0.2)
            with contextlib.suppress(FileNotFoundError, ValueError):
                report = json.loads((server.data / "scrub.json").read_text())
        assert report["ok"] == 2 and report["clean"] and report["orphans_checked"]
