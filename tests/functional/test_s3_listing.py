"""Listing: V1 and V2, prefixes, delimiters, pagination, URL encoding."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEYS = ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2", "d", "e/f/g"]


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    return bucket


def test_v2_delimiter(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["b", "d"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "c/", "e/"]
    assert page["KeyCount"] == 5
    sub = s3.list_objects_v2(Bucket=filled, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]


def test_v2_pagination_with_prefixes(s3: Any, filled: str) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"Bucket": filled, "Delimiter": "/", "MaxKeys": 2}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        seen += [o["Key"] for o in page.get("Contents", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen) == ["a/", "b", "c/", "d", "e/"]
    assert pages == 3


def test_v2_start_after_and_owner(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, StartAfter="c/1", FetchOwner=True)
    assert [o["Key"] for o in page["Contents"]] == ["c/2", "d", "e/f/g"]
    assert page["Contents"][0]["Owner"]["DisplayName"] == "root"
    assert "Owner" not in s3.list_objects_v2(Bucket=filled)["Contents"][0]


def test_v1_marker_pagination(s3: Any, filled: str) -> None:
    keys: list[str] = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket=filled, Marker=marker, MaxKeys=3)
        keys += [o["Key"] for o in page["Contents"]]
        if not page["IsTruncated"]:
            break
        marker = page["Contents"][-1]["Key"]
    assert keys == KEYS


def test_v1_next_marker_with_delimiter(s3: Any, filled: str) -> None:
    page = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=2)
    assert page["IsTruncated"]
    assert page["NextMarker"] == "b"
    rest = s3.list_objects(Bucket=filled, Delimiter="/", Marker=page["NextMarker"])
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["c/", "e/"]
    assert [o["Key"] for o in rest["Contents"]] == ["d"]


def test_paginator_over_many_keys(s3: Any, bucket: str) -> None:
    keys = [f"k{i:04d}" for i in range(1100)]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        for key in chunk:
            s3.put_object(Bucket=bucket, Key=key, Body=b"")
    found = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    assert found == keys


def test_encoding_type_url(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="sp ace/é", Body=b"x")
    page = s3.list_objects_v2(Bucket=bucket, EncodingType="url")
    # Asked for explicitly, boto3 leaves the encoding to the caller.
    assert page["Contents"][0]["Key"] == "sp%20ace/%C3%A9"
    assert page["EncodingType"] == "url"


def test_bad_max_keys(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=bucket, MaxKeys=-1)
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"
