"""Storage classes and policies in S3's words.

CreateBucket names a bucket's storage policy with `x-dolium-storage-policy`
(S3 has no header for it). A write (PutObject, CreateMultipartUpload,
CopyObject) may name a storage class with `x-amz-storage-class`: one the
config's `[storage_classes]` table maps goes through that policy; any other
class S3 knows goes through the bucket's policy, as if none were named; a
name S3 does not know is refused as S3 refuses it. A browser form's storage
class field is not mapped (it stores through the bucket's policy).
"""

from __future__ import annotations

from collections.abc import Mapping

from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire.http import S3Request

POLICY_HEADER = "x-dolium-storage-policy"
STORAGE_CLASS_HEADER = "x-amz-storage-class"
# Every class S3's PutObject accepts.
S3_STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "OUTPOSTS",
        "GLACIER_IR",
        "SNOW",
        "EXPRESS_ONEZONE",
        "FSX_OPENZFS",
    }
)


def requested_policy(request: S3Request) -> str | None:
    """The storage policy CreateBucket names (None: the server's default)."""
    value = request.header(POLICY_HEADER)
    return value.strip() if value is not None and value.strip() else None


def unknown_policy(name: str) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        f"Storage policy {name} is not configured on this server",
        ArgumentName=POLICY_HEADER,
        ArgumentValue=name,
    )


def class_policy(request: S3Request, classes: Mapping[str, str]) -> str | None:
    """The storage policy a write's storage class maps to (None: the bucket's)."""
    value = request.header(STORAGE_CLASS_HEADER)
    if value is None:
        return None
    name = value.strip()
    if name in classes:
        return classes[name]
    if name in S3_STORAGE_CLASSES:
        return None
    raise S3Error(
        400,
        "InvalidStorageClass",
        "The storage class you specified is not valid",
        StorageClassRequested=name,
    )
