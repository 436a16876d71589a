"""The minio Python SDK against the live server."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer, empty_bucket
from trees import MIB

minio = pytest.importorskip("minio", reason="the minio SDK is not installed (pip install minio)")
from minio.commonconfig import ComposeSource, CopySource  # noqa: E402
from minio.deleteobjects import DeleteObject  # noqa: E402
from minio.error import S3Error  # noqa: E402

pytestmark = pytest.mark.client


@pytest.fixture(scope="module")
def mc(server: LiveServer) -> Any:
    return minio.Minio(
        f"{server.host}:{server.port}",
        access_key=ROOT_KEY,
        secret_key=ROOT_SECRET,
        secure=False,
        region="us-east-1",
    )


@pytest.fixture
def mbucket(mc: Any, s3: Any) -> Iterator[str]:
    name = f"minio-{uuid.uuid4().hex[:10]}"
    mc.make_bucket(name)
    yield name
    empty_bucket(s3, name)


def read(mc: Any, bucket: str, key: str, **kwargs: Any) -> bytes:
    response = mc.get_object(bucket, key, **kwargs)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def test_make_and_remove_bucket(mc: Any, s3: Any) -> None:
    name = f"minio-{uuid.uuid4().hex[:10]}"
    assert not mc.bucket_exists(name)
    mc.make_bucket(name)
    assert mc.bucket_exists(name)
    assert name in [b.name for b in mc.list_buckets()]
    with pytest.raises(S3Error) as exc:
        mc.make_bucket(name)
    assert exc.value.code == "BucketAlreadyOwnedByYou"
    mc.remove_bucket(name)
    assert not mc.bucket_exists(name)


def test_put_known_and_unknown_length(mc: Any, mbucket: str) -> None:
    small = b"hello from minio"
    result = mc.put_object(
        mbucket,
        "small",
        io.BytesIO(small),
        len(small),
        content_type="text/plain",
        metadata={"color": "blue"},
    )
    assert result.etag == hashlib.md5(small).hexdigest()

    # Length -1: the SDK reads part_size at a time and uploads parts as it goes.
    data = os.urandom(12 * MIB + 7)
    result = mc.put_object(mbucket, "streamed", io.BytesIO(data), -1, part_size=5 * MIB)
    assert result.etag.endswith("-3")
    assert read(mc, mbucket, "streamed") == data
    assert (
        read(mc, mbucket, "streamed", offset=5 * MIB - 3, length=10)
        == data[5 * MIB - 3 : 5 * MIB + 7]
    )

    stat = mc.stat_object(mbucket, "small")
    assert stat.size == len(small)
    assert stat.etag == hashlib.md5(small).hexdigest()
    assert stat.content_type == "text/plain"
    assert stat.metadata["x-amz-meta-color"] == "blue"
    streamed = mc.stat_object(mbucket, "streamed")
    assert streamed.size == len(data)

    with pytest.raises(S3Error) as exc:
        mc.stat_object(mbucket, "missing")
    assert exc.value.code == "NoSuchKey"


def test_fput_fget(mc: Any, mbucket: str, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(70_000))
    mc.fput_object(mbucket, "dir/file.bin", str(source))
    target = tmp_path / "target.bin"
    mc.fget_object(mbucket, "dir/file.bin", str(target))
    assert target.read_bytes() == source.read_bytes()


def test_list_recursive_and_not(mc: Any, mbucket: str) -> None:
    for key in ("a", "dir/b", "dir/sub/c", "dir2/d", "z"):
        mc.put_object(mbucket, key, io.BytesIO(key.encode()), len(key))
    flat = sorted(o.object_name for o in mc.list_objects(mbucket))
    assert flat == ["a", "dir/", "dir2/", "z"]
    dirs = {o.object_name for o in mc.list_objects(mbucket) if o.is_dir}
    assert dirs == {"dir/", "dir2/"}
    deep = [o.object_name for o in mc.list_objects(mbucket, recursive=True)]
    assert deep == ["a", "dir/b", "dir/sub/c", "dir2/d", "z"]
    under = sorted(o.object_name for o in mc.list_objects(mbucket, prefix="dir/"))
    assert under == ["dir/b", "dir/sub/"]
    after = [o.object_name for o in mc.list_objects(mbucket, recursive=True, start_after="dir/b")]
    assert after == ["dir/sub/c", "dir2/d", "z"]
    sizes = {o.object_name: o.size for o in mc.list_objects(mbucket, recursive=True)}
    assert sizes["dir/sub/c"] == len("dir/sub/c")


def test_remove_objects(mc: Any, mbucket: str) -> None:
    keys = [f"k{i:02d}" for i in range(12)]
    for key in keys:
        mc.put_object(mbucket, key, io.BytesIO(b"x"), 1)
    errors = list(mc.remove_objects(mbucket, [DeleteObject(k) for k in [*keys[:10], "absent"]]))
    assert errors == []  # deleting a missing key is not an error in S3
    assert [o.object_name for o in mc.list_objects(mbucket)] == keys[10:]
    mc.remove_object(mbucket, keys[10])
    assert [o.object_name for o in mc.list_objects(mbucket)] == keys[11:]


def test_presigned_get_and_put(mc: Any, mbucket: str) -> None:
    mc.put_object(mbucket, "p q/r", io.BytesIO(b"presigned"), 9)
    url = mc.presigned_get_object(mbucket, "p q/r", expires=timedelta(minutes=5))
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"presigned"

    url = mc.presigned_put_object(mbucket, "uploaded", expires=timedelta(minutes=5))
    body = os.urandom(10_000)
    request = urllib.request.Request(url, data=body, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert response.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert read(mc, mbucket, "uploaded") == body

    # The URL for PUT does not let its holder GET.
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url, timeout=30)
    assert exc.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in exc.value.read()
    exc.value.close()


def test_copy_object(mc: Any, mbucket: str, s3: Any, bucket: str) -> None:
    data = os.urandom(5000)
    mc.put_object(
        mbucket,
        "src",
        io.BytesIO(data),
        len(data),
        content_type="application/x-src",
        metadata={"origin": "minio"},
    )
    result = mc.copy_object(mbucket, "same-bucket", CopySource(mbucket, "src"))
    assert result.etag == hashlib.md5(data).hexdigest()
    copied = mc.stat_object(mbucket, "same-bucket")
    assert copied.content_type == "application/x-src"
    assert copied.metadata["x-amz-meta-origin"] == "minio"
    # Into another bucket, replacing the metadata.
    mc.copy_object(
        bucket,
        "other",
        CopySource(mbucket, "src"),
        metadata={"origin": "copy"},
        metadata_directive="REPLACE",
    )
    assert read(mc, bucket, "other") == data
    assert mc.stat_object(bucket, "other").metadata["x-amz-meta-origin"] == "copy"


def test_copy_and_compose_multipart_objects(mc: Any, mbucket: str) -> None:
    data = os.urandom(11 * MIB)
    result = mc.put_object(mbucket, "mp", io.BytesIO(data), len(data), part_size=5 * MIB)
    assert result.etag.endswith("-3")
    # CopyObject makes a single-part object: its ETag is the MD5 of the data.
    result = mc.copy_object(mbucket, "copied", CopySource(mbucket, "mp"))
    assert result.etag == hashlib.md5(data).hexdigest()
    assert mc.stat_object(mbucket, "copied").etag == hashlib.md5(data).hexdigest()
    assert read(mc, mbucket, "copied") == data
    # compose_object copies byte ranges into the parts of a new multipart upload.
    sources = [
        ComposeSource(mbucket, "mp", offset=MIB, length=5 * MIB),
        ComposeSource(mbucket, "copied", offset=0, length=5 * MIB),
        ComposeSource(mbucket, "mp", offset=11 * MIB - 10, length=10),
    ]
    result = mc.compose_object(mbucket, "composed", sources)
    assert result.etag.endswith("-3")
    expected = data[MIB : 6 * MIB] + data[: 5 * MIB] + data[-10:]
    assert read(mc, mbucket, "composed") == expected
