"""A full disk and a read-only disk under the block store.

The block directory (data/blocks, where the fs blob store puts its files
by default) is a small tmpfs mounted here, so it can be filled and
remounted read-only without touching the meta database beside it. Needs
root (mount); skipped otherwise.

A full store answers 507 InsufficientStorage (not an AWS code: S3 never
fills up; MinIO answers 507 too); any other storage failure 500
InternalError. Either way: a one-line log entry, no traceback, no object
and no temporary file left behind, and the store works again once the
cause is gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fault_support import bucket_with, failure, temp_files

from support.blocks import BLOCK, SMALL_BLOCKS, data_of
from support.live import LiveServer, client, running

TMPFS_SIZE = 4 * 1024 * 1024


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A server whose blocks live on a 4 MiB tmpfs."""
    data = tmp_path / "data"
    blocks = data / "blocks"
    blocks.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = mount("-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", str(blocks))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        with running(data, SMALL_BLOCKS) as server:
            yield server, blocks
    finally:
        if subprocess.run(["umount", str(blocks)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(blocks)], check=False)


def fill(path: Path) -> None:
    """Write zeros to `path` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


def log_lines(server: LiveServer, text: str) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if text in line]


def test_full_disk(small_disk: tuple[LiveServer, Path]) -> None:
    server, blocks = small_disk
    old = data_of(3 * BLOCK, "old")
    s3 = bucket_with(server, "full", "obj", old)
    filler = blocks / "filler"
    fill(filler)

    new = data_of(6 * BLOCK, "new")
    status, code = failure(lambda: s3.put_object(Bucket="full", Key="obj", Body=new))
    assert (status, code) == (507, "InsufficientStorage")
    status, code = failure(lambda: s3.put_object(Bucket="full", Key="fresh", Body=new))
    assert (status, code) == (507, "InsufficientStorage")
    upload = s3.create_multipart_upload(Bucket="full", Key="parts")["UploadId"]
    status, code = failure(
        lambda: s3.upload_part(Bucket="full", Key="parts", UploadId=upload, PartNumber=1, Body=new)
    )
    assert (status, code) == (507, "InsufficientStorage")

    # No partial object, nothing half-written, the old version intact.
    assert s3.get_object(Bucket="full", Key="obj")["Body"].read() == old
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"]] == ["obj"]
    assert s3.list_parts(Bucket="full", Key="parts", UploadId=upload).get("Parts", []) == []
    assert temp_files(blocks) == []
    assert log_lines(server, "No space left on device")
    assert "Traceback" not in server.log.read_text()

    filler.unlink()
    s3.put_object(Bucket="full", Key="obj", Body=new)
    assert s3.get_object(Bucket="full", Key="obj")["Body"].read() == new
    s3.upload_part(Bucket="full", Key="parts", UploadId=upload, PartNumber=1, Body=new)


@pytest.fixture
def small_data(tmp_path: Path) -> Iterator[Path]:
    """A data directory, metadata database and all, on an 8 MiB tmpfs."""
    data = tmp_path / "data"
    data.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = mount("-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(data))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield data
    finally:
        if subprocess.run(["umount", str(data)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(data)], check=False)


def test_full_metadata_disk(small_data: Path) -> None:
    """Objects small enough to live in the database, written until its disk is full."""
    inline = {**SMALL_BLOCKS, "DOLIUM_INLINE_THRESHOLD": "4096"}
    with running(small_data, inline) as server:
        s3 = bucket_with(server, "meta", "first", b"first")
        filler = small_data / "filler"
        fill(filler)
        stored: dict[str, bytes] = {}
        for n in range(5000):
            key, body = f"k{n:05d}", data_of(3000, f"inline{n}")
            try:
                s3.put_object(Bucket="meta", Key=key, Body=body)
            except ClientError as exc:
                error = exc.response
                status = error["ResponseMetadata"]["HTTPStatusCode"]
                assert (status, error["Error"]["Code"]) == (507, "InsufficientStorage")
                break
            stored[key] = body
        else:
            raise AssertionError("the database never ran out of space")
        assert "Traceback" not in server.log.read_text()
        filler.unlink()
        s3.put_object(Bucket="meta", Key="after", Body=b"after")
    # Every acknowledged write is there after a restart, and nothing else.
    with running(small_data, inline) as server:
        s3 = client(server)
        for key, body in stored.items():
            assert s3.get_object(Bucket="meta", Key=key)["Body"].read() == body, key
        listed = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="meta")
                  for o in page.get("Contents", [])}  # fmt: skip
        assert listed == {"first", "after", *stored}


def test_read_only_disk(small_disk: tuple[LiveServer, Path]) -> None:
    server, blocks = small_disk
    kept = data_of(3 * BLOCK, "kept")
    s3 = bucket_with(server, "readonly", "kept", kept)
    remounted = mount("-o", "remount,ro", str(blocks))
    assert remounted.returncode == 0, remounted.stderr
    try:
        for key, seed in (("kept", "other"), ("new", "new")):
            body = data_of(3 * BLOCK, seed)
            status, code = failure(
                lambda key=key, body=body: s3.put_object(Bucket="readonly", Key=key, Body=body)
            )
            assert (status, code) == (500, "InternalError"), key
        # Rewriting the same bytes needs no new file, only a touch: refused too.
        status, _ = failure(lambda: s3.put_object(Bucket="readonly", Key="again", Body=kept))
        assert status == 500

        assert s3.get_object(Bucket="readonly", Key="kept")["Body"].read() == kept
        ranged = s3.get_object(Bucket="readonly", Key="kept", Range=f"bytes={BLOCK}-")
        assert ranged["Body"].read() == kept[BLOCK:]
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="readonly")["Contents"]] == ["kept"]
        assert log_lines(server, "Read-only file system")
        assert "Traceback" not in server.log.read_text()
    finally:
        mount("-o", "remount,rw", str(blocks))
    s3.put_object(Bucket="readonly", Key="new", Body=data_of(3 * BLOCK, "new"))
    assert s3.get_object(Bucket="readonly", Key="new")["Body"].read() == data_of(3 * BLOCK, "new")


async def test_no_space_is_storage_full_even_without_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same mapping, where no tmpfs can be mounted: ENOSPC from a write."""
    import errno

    from dolium.backends import blob_fs
    from dolium.errors import StorageFull
    from dolium.frontends.s3.errors import to_s3_error

    store = await blob_fs.FsBlobStore.open(str(tmp_path / "blocks"))

    def no_space(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(blob_fs, "_write_all", no_space)
    with pytest.raises(StorageFull) as info:
        await store.put(b"\x12\x34" * 16, b"data")
    assert temp_files(tmp_path / "blocks") == []
    wire = to_s3_error(info.value)
    assert (wire.status, wire.code) == (507, "InsufficientStorage")
    assert "blocks" not in wire.message  # no path reaches the client
