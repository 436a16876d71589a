"""Tags beyond S3's limits are 400 InvalidTag in an Object Lock bucket too,
whatever lock headers come with them, and on every call that sets tags."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_s3_object_lock import ahead, empty_locked

TOO_MANY = "&".join(f"k{i}=v" for i in range(11))
LONG_KEY = "k" * 129 + "=v"
LONG_VALUE = "k=" + "v" * 257
BAD_HEADERS = {"too many": TOO_MANY, "long key": LONG_KEY, "long value": LONG_VALUE}


@pytest.fixture
def locked(s3: Any) -> Iterator[str]:
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    empty_locked(s3, name)


def lock_args() -> dict[str, Any]:
    return {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": ahead()}


Setter = Callable[[Any, str, str], Any]
SETTERS: dict[str, Setter] = {
    "PutObject": lambda s3, b, t: s3.put_object(Bucket=b, Key="k", Body=b"x", Tagging=t),
    "PutObject+lock": lambda s3, b, t: s3.put_object(
        Bucket=b, Key="k", Body=b"x", Tagging=t, **lock_args()
    ),
    "PutObject+hold": lambda s3, b, t: s3.put_object(
        Bucket=b, Key="k", Body=b"x", Tagging=t, ObjectLockLegalHoldStatus="ON"
    ),
    "CreateMultipartUpload+lock": lambda s3, b, t: s3.create_multipart_upload(
        Bucket=b, Key="k", Tagging=t, **lock_args()
    ),
    "CopyObject+lock": lambda s3, b, t: s3.copy_object(
        Bucket=b,
        Key="copy",
        CopySource={"Bucket": b, "Key": "src"},
        Tagging=t,
        TaggingDirective="REPLACE",
        **lock_args(),
    ),
}


@pytest.mark.parametrize("tagging", sorted(BAD_HEADERS))
@pytest.mark.parametrize("operation", sorted(SETTERS))
def test_tags_beyond_the_limits_are_invalid_tag(
    s3: Any, locked: str, operation: str, tagging: str
) -> None:
    s3.put_object(Bucket=locked, Key="src", Body=b"s")
    with pytest.raises(ClientError) as refused:
        SETTERS[operation](s3, locked, BAD_HEADERS[tagging])
    response = refused.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidTag", response["Error"]
    versions = s3.list_object_versions(Bucket=locked).get("Versions", [])
    assert [v["Key"] for v in versions] == ["src"]


@pytest.mark.parametrize(
    "tags",
    [
        [{"Key": f"k{i}", "Value": "v"} for i in range(11)],
        [{"Key": "k" * 129, "Value": "v"}],
        [{"Key": "k", "Value": "v" * 257}],
    ],
)
def test_put_object_tagging_on_a_locked_version_beyond_the_limits(
    s3: Any, locked: str, tags: list[dict[str, str]]
) -> None:
    version = s3.put_object(Bucket=locked, Key="k", Body=b"x", **lock_args())["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3.put_object_tagging(Bucket=locked, Key="k", VersionId=version, Tagging={"TagSet": tags})
    assert refused.value.response["Error"]["Code"] == "InvalidTag"
    # Within the limits, a locked version takes tags: they are not its data.
    fitting = {"TagSet": [{"Key": "k", "Value": "v"}]}
    s3.put_object_tagging(Bucket=locked, Key="k", VersionId=version, Tagging=fitting)
