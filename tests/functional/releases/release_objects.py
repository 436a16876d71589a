"""The objects in the kept data directory of release 0002, and how they were written.

`HISTORY` lists, per (bucket, key), every version written in order, oldest
first: a size in bytes, or None for a delete marker. Contents are derived
from (key, version number), so a reader can check every byte of every
version without a copy of the data.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

BLOCK_SIZE = 64 * 1024  # the data directory was written with DOLIUM_BLOCK_SIZE=64KiB
MIB = 1024 * 1024

PLAIN = "release-plain"  # an unversioned bucket
HISTORY_BUCKET = "release-history"  # versioning enabled after its first object
OTHERS = "release-others"  # owned by tenant "other"

# The multipart object: a first part of 5 MiB (one 64 KiB block repeated, so
# the block store keeps it once) and a short last part.
MULTIPART = (PLAIN, "multi/part.bin")
MULTIPART_PARTS = (5 * MIB, 3000)
PENDING = (PLAIN, "pending/upload")  # an upload begun, one part, never completed

HISTORY: dict[tuple[str, str], list[int | None]] = {
    (PLAIN, "inline.txt"): [120],
    (PLAIN, "empty"): [0],
    (PLAIN, "blocks.bin"): [140 * 1024],  # three blocks, the last ending in NULs
    (PLAIN, "dir/ünïcødé ké¥"): [5000],
    (PLAIN, MULTIPART[1]): [sum(MULTIPART_PARTS)],
    (HISTORY_BUCKET, "doc"): [300, 400, 500],  # the first is the "null" version
    (HISTORY_BUCKET, "gone"): [200, None],
    (HISTORY_BUCKET, "big"): [70 * 1024, 90 * 1024],
    (HISTORY_BUCKET, "back"): [100, None, 150],
    (OTHERS, "theirs"): [2222],
}
# Attributes beyond the data, on the latest version of these keys.
METADATA = {(PLAIN, "inline.txt"): {"colour": "blue"}}
CONTENT_TYPES = {(PLAIN, "inline.txt"): "text/plain"}
TAGS = {(HISTORY_BUCKET, "doc"): {"stage": "final"}}
BUCKET_TAGS = {PLAIN: {"team": "storage"}}


def content(key: str, n: int, size: int) -> bytes:
    """Version `n` (1-based) of `key`: `size` deterministic bytes."""
    rng = random.Random(hashlib.sha256(f"{key}#{n}".encode()).digest())
    if (key, size) == ("blocks.bin", 140 * 1024):
        return rng.randbytes(100 * 1024) + bytes(40 * 1024)
    if key == MULTIPART[1] and size == sum(MULTIPART_PARTS):
        first = rng.randbytes(BLOCK_SIZE) * (MULTIPART_PARTS[0] // BLOCK_SIZE)
        return first + rng.randbytes(MULTIPART_PARTS[1])
    return rng.randbytes(size)


def _put(s3: Any, bucket: str, key: str, body: bytes, last: bool) -> None:
    if key == MULTIPART[1]:
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        first = MULTIPART_PARTS[0]
        parts = []
        for number, chunk in ((1, body[:first]), (2, body[first:])):
            etag = s3.upload_part(
                Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=chunk
            )["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
        )
        return
    extra: dict[str, Any] = {}
    if last and (bucket, key) in METADATA:
        extra["Metadata"] = METADATA[bucket, key]
    if last and (bucket, key) in CONTENT_TYPES:
        extra["ContentType"] = CONTENT_TYPES[bucket, key]
    if last and (bucket, key) in TAGS:
        extra["Tagging"] = "&".join(f"{k}={v}" for k, v in TAGS[bucket, key].items())
    s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def write_all(s3: Any, other_s3: Any) -> None:
    """Create the buckets and write every version of HISTORY in order."""
    s3.create_bucket(Bucket=PLAIN)
    s3.create_bucket(Bucket=HISTORY_BUCKET)
    other_s3.create_bucket(Bucket=OTHERS)
    for name, tags in BUCKET_TAGS.items():
        tag_set = [{"Key": k, "Value": v} for k, v in tags.items()]
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set})
    for (bucket, key), sizes in HISTORY.items():
        writer = other_s3 if bucket == OTHERS else s3
        for n, size in enumerate(sizes, start=1):
            if bucket == HISTORY_BUCKET and key == "doc" and n == 2:
                s3.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
                )
            if size is None:
                writer.delete_object(Bucket=bucket, Key=key)
            else:
                _put(writer, bucket, key, content(key, n, size), n == len(sizes))
