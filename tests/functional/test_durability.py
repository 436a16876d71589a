"""Failures against a live server: corrupt and missing blocks on disk,
interrupted uploads, garbage collection, and restarts (clean and killed).

Each test runs its own server on its own data directory, so damage done
here never reaches the other functional tests.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer, client, start_server, stop_server

from dolium.core.content.hashing import block_digests
from support.blocks import BLOCK, SMALL_BLOCKS, data_of

MIB = 1024 * 1024


def block_path(server: LiveServer, digest: bytes) -> Path:
    name = digest.hex()
    return server.data / "blocks" / name[0:2] / name[2:4] / name


def block_paths(server: LiveServer, data: bytes) -> list[Path]:
    return [block_path(server, d) for d in block_digests(data, BLOCK)]


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data", SMALL_BLOCKS)
    yield server
    stop_server(server)


def new_bucket(s3: Any) -> str:
    name = f"dur-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def presigned(server: LiveServer, method: str, bucket: str, key: str) -> urllib.parse.SplitResult:
    """A SigV4 query-signed URL: its payload is UNSIGNED-PAYLOAD."""
    s3 = client(server, signature_version="s3v4")
    url = s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    return urllib.parse.urlsplit(url)


def raw_get(server: LiveServer, bucket: str, key: str) -> tuple[int, bytes, int, bool]:
    """(status, body received, declared length, whether the body was cut short)."""
    url = presigned(server, "get_object", bucket, key)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", f"{url.path}?{url.query}")
        resp = conn.getresponse()
        declared = int(resp.getheader("content-length") or -1)
        try:
            return resp.status, resp.read(), declared, False
        except http.client.IncompleteRead as exc:
            return resp.status, exc.partial, declared, True
    finally:
        conn.close()


# -- corruption --------------------------------------------------------------------


def corrupt(path: Path, offset: int = 1000) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 8] = bytes(b ^ 0xFF for b in raw[offset : offset + 8])
    path.write_bytes(bytes(raw))


def test_corrupt_first_block_is_a_500_before_any_body(live: LiveServer) -> None:
    s3 = client(live)
    bucket = new_bucket(s3)
    data = data_of(4 * BLOCK + 10, "first")
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    first = block_paths(live, data)[0]
    assert first.exists()
    corrupt(first)

    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="obj")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert info.value.response["Error"]["Code"] == "InternalError"

    status, received, _, _ = raw_get(live, bucket, "obj")
    assert status == 500
    assert received.startswith(b"<?xml")
    assert b"<Code>InternalError</Code>" in received
    assert data[:64] not in received

    # The server keeps serving: a sound object still reads back.
    s3.put_object(Bucket=bucket, Key="sound", Body=data_of(2 * BLOCK, "sound"))
    got = s3.get_object(Bucket=bucket, Key="sound")["Body"].read()
    assert got == data_of(2 * BLOCK, "sound")


def test_corrupt_later_block_cuts_the_body_short(live: LiveServer) -> None:
    s3 = client(live)
    bucket = new_bucket(s3)
    data = data_of(4 * BLOCK + 10, "later")
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    corrupt(block_paths(live, data)[2])

    # boto3: the headers promise the whole object; the body never delivers it.
    resp = s3.get_object(Bucket=bucket, Key="obj")
    assert resp["ContentLength"] == len(data)
    try:
        got = resp["Body"].read()
    except Exception:  # botocore/urllib3 raise on a connection cut mid-body
        got = None
    assert got is None or len(got) < len(data)

    # On the wire: a 200 whose body stops before the bad block, never past it.
    status, received, declared, cut = raw_get(live, bucket, "obj")
    assert (status, declared) == (200, len(data))
    assert cut
    assert len(received) <= 2 * BLOCK
    assert received == data[: len(received)]

    # A range that starts inside the bad block fails before any body.
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="obj", Range=f"bytes={2 * BLOCK + 5}-{3 * BLOCK}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # A range that avoids it is served.
    ranged = s3.get_object(Bucket=bucket, Key="obj", Range=f"bytes=0-{2 * BLOCK - 1}")
    assert ranged["Body"].read() == data[: 2 * BLOCK]


def test_missing_block_file(live: LiveServer) -> None:
    s3 = client(live)
    bucket = new_bucket(s3)
    data = data_of(3 * BLOCK, "missing")
    s3.put_object(Bucket=bucket, Key="obj", Body=data)
    block_paths(live, data)[0].unlink()
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="obj")
    assert info.value.response["Error"]["Code"] == "InternalError"


# -- interrupted upload -----------------------------------------------------------


def test_interrupted_upload_leaves_the_previous_version(live: LiveServer) -> None:
    s3 = client(live)
    bucket = new_bucket(s3)
    old = data_of(3 * BLOCK + 77, "old")
    etag = s3.put_object(Bucket=bucket, Key="obj", Body=old)["ETag"]

    declared, sent = 10 * MIB, 3 * MIB
    new = data_of(sent, "new")
    url = presigned(live, "put_object", bucket, "obj")
    sock = socket.create_connection((live.host, live.port), timeout=30)
    try:
        head = (
            f"PUT {url.path}?{url.query} HTTP/1.1\r\n"
            f"Host: {live.host}:{live.port}\r\n"
            f"Content-Length: {declared}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        sock.sendall(head.encode() + new)
        # Let the server take in most of what was sent (its blocks reach the
        # disk) before the connection drops in the middle of the body.
        received = block_paths(live, new)[: sent // BLOCK - 2]
        wait_for(lambda: all(p.exists() for p in received), "the server to store the blocks")
    finally:
        sock.close()

    for _ in range(5):  # the server notices the disconnect in its own time
        assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == old
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        assert [(o["Key"], o["ETag"], o["Size"]) for o in listed] == [("obj", etag, len(old))]
        time.sleep(0.2)
    assert live.process.poll() is None


# -- garbage collection ------------------------------------------------------------


def test_collection_frees_unreferenced_blocks_only(tmp_path: Path) -> None:
    live = start_server(
        tmp_path / "data", {**SMALL_BLOCKS, "DOLIUM_GC_GRACE": "1", "DOLIUM_GC_INTERVAL": "1"}
    )
    try:
        s3 = client(live)
        bucket = new_bucket(s3)
        shared = data_of(3 * BLOCK + 5, "shared")
        unique = data_of(3 * BLOCK + 6, "unique")
        s3.put_object(Bucket=bucket, Key="shared-a", Body=shared)
        s3.put_object(Bucket=bucket, Key="shared-b", Body=shared)
        s3.put_object(Bucket=bucket, Key="unique", Body=unique)
        unique_blocks, shared_blocks = block_paths(live, unique), block_paths(live, shared)
        assert all(p.exists() for p in unique_blocks + shared_blocks)

        # Blocks that only an older version or an unfinished upload refers to.
        versioned = new_bucket(s3)
        s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
        older = data_of(2 * BLOCK + 1, "older")
        first = s3.put_object(Bucket=versioned, Key="k", Body=older)["VersionId"]
        s3.put_object(Bucket=versioned, Key="k", Body=b"newer")
        s3.delete_object(Bucket=versioned, Key="k")
        part = data_of(3 * BLOCK + 2, "part")
        upload = s3.create_multipart_upload(Bucket=bucket, Key="pending")["UploadId"]
        part_etag = s3.upload_part(
            Bucket=bucket, Key="pending", UploadId=upload, PartNumber=1, Body=part
        )["ETag"]

        s3.delete_object(Bucket=bucket, Key="unique")
        s3.delete_object(Bucket=bucket, Key="shared-a")
        wait_for(
            lambda: not any(p.exists() for p in unique_blocks),
            "the collector to delete the blocks of the deleted object",
        )
        time.sleep(2.5)  # a couple more collections: what is referenced stays
        assert all(p.exists() for p in shared_blocks)
        assert all(p.exists() for p in block_paths(live, older) + block_paths(live, part))
        assert s3.get_object(Bucket=bucket, Key="shared-b")["Body"].read() == shared
        got = s3.get_object(Bucket=versioned, Key="k", VersionId=first)["Body"].read()
        assert got == older
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="pending",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part_etag}]},
        )
        assert s3.get_object(Bucket=bucket, Key="pending")["Body"].read() == part
        # Content written again after its blocks were freed is stored anew.
        s3.put_object(Bucket=bucket, Key="unique", Body=unique)
        assert s3.get_object(Bucket=bucket, Key="unique")["Body"].read() == unique
    finally:
        stop_server(live)


# -- restarts ----------------------------------------------------------------------


def test_acknowledged_objects_survive_restarts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    live = start_server(data_dir, SMALL_BLOCKS)
    objects: dict[str, bytes] = {
        "inline": b"small and inline",
        "blocks": data_of(5 * BLOCK + 3, "blocks"),
        "empty": b"",
    }
    try:
        s3 = client(live)
        bucket = new_bucket(s3)
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")
        parts = [data_of(5 * MIB, "part1"), data_of(1000, "part2")]
        done = []
        for number, part in enumerate(parts, 1):
            etag = s3.upload_part(
                Bucket=bucket,
                Key="multi",
                UploadId=upload["UploadId"],
                PartNumber=number,
                Body=part,
            )["ETag"]
            done.append({"PartNumber": number, "ETag": etag})
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="multi",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": done},
        )
        objects["multi"] = b"".join(parts)
    finally:
        stop_server(live)  # SIGTERM: a clean shutdown

    live = start_server(data_dir, SMALL_BLOCKS)
    try:
        s3 = client(live)
        check_all(s3, bucket, objects)
        # Acknowledged, then killed at once: no chance to flush anything.
        objects["after-term"] = data_of(4 * BLOCK + 1, "after-term")
        s3.put_object(Bucket=bucket, Key="after-term", Body=objects["after-term"])
        objects["inline"] = b"replaced just before the kill"
        s3.put_object(Bucket=bucket, Key="inline", Body=objects["inline"])
    finally:
        live.process.kill()
        live.process.wait()

    live = start_server(data_dir, SMALL_BLOCKS)
    try:
        check_all(client(live), bucket, objects)
    finally:
        stop_server(live)


def check_all(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body, key
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(objects)
