"""A data directory written by release 0002 is upgraded in place and reads back whole.

The directory in `releases/release-0002.tar.gz` was written by that
release's server (`releases/make_release_data.py`); here today's server
starts on a copy of it, migrates it, and every object, version, delete
marker, attribute and pending upload must read back as written.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import OTHER_KEY, OTHER_SECRET, LiveServer, client, running
from releases.release_objects import (
    BUCKET_TAGS,
    CONTENT_TYPES,
    HISTORY,
    METADATA,
    OTHERS,
    PENDING,
    TAGS,
    content,
)

ARCHIVE = Path(__file__).parent / "releases" / "release-0002.tar.gz"


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root = tmp_path_factory.mktemp("release")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(root, filter="data")
    with running(root / "data") as live:
        yield live, (root / "pending-upload-id").read_text()


def _writer(live: LiveServer, bucket: str) -> Any:
    return client(live, OTHER_KEY, OTHER_SECRET) if bucket == OTHERS else client(live)


def _versions(s3: Any, bucket: str, key: str) -> tuple[list[Any], list[Any]]:
    """The key's versions, newest first, and its delete markers."""
    page = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return (
        [v for v in page.get("Versions", []) if v["Key"] == key],
        [m for m in page.get("DeleteMarkers", []) if m["Key"] == key],
    )


@pytest.mark.parametrize(("bucket", "key"), list(HISTORY), ids=str)
def test_every_version_reads_back_byte_identical(
    upgraded: tuple[LiveServer, str], bucket: str, key: str
) -> None:
    live, _ = upgraded
    s3 = _writer(live, bucket)
    sizes = HISTORY[bucket, key]
    versions, markers = _versions(s3, bucket, key)
    written = [(n, size) for n, size in enumerate(sizes, start=1) if size is not None]
    assert [v["Size"] for v in versions] == [size for _, size in reversed(written)]
    assert len(markers) == sizes.count(None)
    latest = [v for v in versions + markers if v["IsLatest"]]
    assert len(latest) == 1
    assert (latest[0] in markers) == (sizes[-1] is None)
    for version, (n, size) in zip(versions, reversed(written), strict=True):
        got = s3.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])
        assert got["Body"].read() == content(key, n, size)
    if sizes[-1] is None:
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket=bucket, Key=key)
    else:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert body == content(key, len(sizes), sizes[-1])


def test_the_null_version_keeps_its_id(upgraded: tuple[LiveServer, str]) -> None:
    live, _ = upgraded
    versions, _ = _versions(client(live), "release-history", "doc")
    assert versions[-1]["VersionId"] == "null"


def test_listings_show_the_current_objects(upgraded: tuple[LiveServer, str]) -> None:
    live, _ = upgraded
    for bucket in {b for b, _ in HISTORY}:
        s3 = _writer(live, bucket)
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        current = sorted(
            (k for (b, k), sizes in HISTORY.items() if b == bucket and sizes[-1] is not None),
            key=lambda k: k.encode(),
        )
        assert listed == current


def test_attributes_and_bucket_settings_survive(upgraded: tuple[LiveServer, str]) -> None:
    live, _ = upgraded
    s3 = client(live)
    for (bucket, key), meta in METADATA.items():
        assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == meta
    for (bucket, key), content_type in CONTENT_TYPES.items():
        assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == content_type
    for (bucket, key), tags in TAGS.items():
        tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tag_set} == tags
    for bucket, tags in BUCKET_TAGS.items():
        tag_set = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        assert {t["Key"]: t["Value"] for t in tag_set} == tags
    owned = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert owned == {b for b, _ in HISTORY if b != OTHERS}
    theirs = client(live, OTHER_KEY, OTHER_SECRET).list_buckets()["Buckets"]
    assert [b["Name"] for b in theirs] == [OTHERS]


def test_a_pending_upload_completes_after_the_upgrade(upgraded: tuple[LiveServer, str]) -> None:
    live, upload_id = upgraded
    s3 = client(live)
    bucket, key = PENDING
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(key, upload_id)]
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 3000)]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]},
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == content(key, 1, 3000)


def test_new_writes_land_beside_the_old_ones(upgraded: tuple[LiveServer, str]) -> None:
    live, _ = upgraded
    s3 = client(live)
    s3.put_object(Bucket="release-history", Key="doc", Body=b"after the upgrade")
    versions, _ = _versions(s3, "release-history", "doc")
    assert len(versions) == len(HISTORY["release-history", "doc"]) + 1
    assert s3.get_object(Bucket="release-history", Key="doc")["Body"].read() == (
        b"after the upgrade"
    )
