"""Versioning over the wire: ListObjectVersions, delete markers, reads, deletes
and copies by version id, with boto3 and the aws CLI."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import AwsCli, needs_aws


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, dict[str, str]]:
    response = exc.value.response
    meta = response["ResponseMetadata"]
    return meta["HTTPStatusCode"], response["Error"]["Code"], meta["HTTPHeaders"]


def write_history(s3: Any, bucket: str) -> dict[str, list[str]]:
    """Keys with several versions and markers; version ids per key, newest first."""
    history: dict[str, list[str]] = {}
    for key in ("a", "b/1", "b/2", "c", "d"):
        for n in range(3 if key in ("a", "c") else 1):
            put = s3.put_object(Bucket=bucket, Key=key, Body=f"{key}-{n}".encode())
            history.setdefault(key, []).insert(0, put["VersionId"])
    for key in ("c", "d"):
        history[key].insert(0, s3.delete_object(Bucket=bucket, Key=key)["VersionId"])
    return history


def test_paginator_pages_through_every_version(s3: Any, versioned: str) -> None:
    history = write_history(s3, versioned)
    pages = list(
        s3.get_paginator("list_object_versions").paginate(
            Bucket=versioned, PaginationConfig={"PageSize": 3}
        )
    )
    assert len(pages) == 4  # 11 versions and markers, 3 a page
    assert [p["IsTruncated"] for p in pages] == [True, True, True, False]
    seen: list[tuple[str, str]] = []
    for page in pages:
        assert page["MaxKeys"] == 3
        found = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(found) <= 3
        seen += [(v["Key"], v["VersionId"]) for v in found]
    assert len(seen) == len(set(seen)) == 11
    assert sorted(seen) == sorted((k, v) for k, ids in history.items() for v in ids)
    # Versions come by key, newest first, and only the newest is latest.
    versions = [v for p in pages for v in p.get("Versions", [])]
    assert [v["Key"] for v in versions] == sorted(v["Key"] for v in versions)
    for key, ids in history.items():
        mine = [v for v in versions if v["Key"] == key]
        assert [v["VersionId"] for v in mine] == [
            i for i in ids if i in {m["VersionId"] for m in mine}
        ]
    latest = {
        (v["Key"], v["VersionId"]) for p in pages for v in p.get("Versions", []) if v["IsLatest"]
    }
    assert latest == {
        ("a", history["a"][0]),
        ("b/1", history["b/1"][0]),
        ("b/2", history["b/2"][0]),
    }
    markers = [m for p in pages for m in p.get("DeleteMarkers", [])]
    assert {(m["Key"], m["VersionId"], m["IsLatest"]) for m in markers} == {
        ("c", history["c"][0], True),
        ("d", history["d"][0], True),
    }
    a = next(v for v in versions if v["VersionId"] == history["a"][0])
    assert a["ETag"].startswith('"') and a["Size"] == 3
    assert a["StorageClass"] == "STANDARD"
    assert a["Owner"]["DisplayName"] == "root"
    assert markers[0]["Owner"]["DisplayName"] == "root"


def test_resumption_by_key_and_version_id_markers(s3: Any, versioned: str) -> None:
    history = write_history(s3, versioned)
    first = s3.list_object_versions(Bucket=versioned, MaxKeys=2)
    assert first["IsTruncated"]
    assert (first["NextKeyMarker"], first["NextVersionIdMarker"]) == ("a", history["a"][1])
    assert [v["VersionId"] for v in first["Versions"]] == history["a"][:2]
    assert (first["KeyMarker"], first["VersionIdMarker"]) == ("", "")
    second = s3.list_object_versions(
        Bucket=versioned, MaxKeys=2, KeyMarker="a", VersionIdMarker=history["a"][1]
    )
    assert (second["KeyMarker"], second["VersionIdMarker"]) == ("a", history["a"][1])
    assert [(v["Key"], v["VersionId"]) for v in second["Versions"]] == [
        ("a", history["a"][2]),
        ("b/1", history["b/1"][0]),
    ]
    # A key marker alone starts after every version of that key.
    rest = s3.list_object_versions(Bucket=versioned, KeyMarker="b/2")
    assert [m["Key"] for m in rest["DeleteMarkers"]] == ["c", "d"]
    assert [v["Key"] for v in rest["Versions"]] == ["c", "c", "c", "d"]
    assert not rest["IsTruncated"] and "NextKeyMarker" not in rest


def test_prefix_and_delimiter(s3: Any, versioned: str) -> None:
    history = write_history(s3, versioned)
    page = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/"]
    assert page["Delimiter"] == "/"
    assert {v["Key"] for v in page["Versions"]} == {"a", "c", "d"}
    sub = s3.list_object_versions(Bucket=versioned, Prefix="b/", Delimiter="/")
    assert sub["Prefix"] == "b/"
    assert [(v["Key"], v["VersionId"]) for v in sub["Versions"]] == [
        ("b/1", history["b/1"][0]),
        ("b/2", history["b/2"][0]),
    ]
    assert "CommonPrefixes" not in sub
    # A page ending with a common prefix resumes after it.
    page = s3.list_object_versions(Bucket=versioned, Delimiter="/", MaxKeys=4)
    assert (page["NextKeyMarker"], "NextVersionIdMarker" in page) == ("b/", False)
    after = s3.list_object_versions(Bucket=versioned, Delimiter="/", KeyMarker="b/")
    assert {v["Key"] for v in after["Versions"]} == {"c", "d"}


def test_odd_keys_round_trip_url_encoded(s3: Any, versioned: str) -> None:
    # boto3 asks for encoding-type=url and decodes keys, markers and prefixes.
    keys = ["sp ace/x", "ünï/😀", "ctl\x01key", "amp&<lt>"]
    for key in keys:
        s3.put_object(Bucket=versioned, Key=key, Body=b"x")
    seen = [
        v["Key"]
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=versioned, PaginationConfig={"PageSize": 1}
        )
        for v in page.get("Versions", [])
    ]
    assert seen == sorted(keys, key=lambda k: k.encode())
    page = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["sp ace/", "ünï/"]


def test_unversioned_bucket_lists_null_versions(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    page = s3.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [
        ("k", "null", True)
    ]


def test_listing_errors(s3: Any, other_s3: Any, versioned: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.list_object_versions(Bucket=versioned, VersionIdMarker="null")
    assert error_of(exc)[:2] == (400, "InvalidArgument")
    assert "without a key marker" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        s3.list_object_versions(Bucket=versioned, KeyMarker="k", VersionIdMarker="nope")
    assert error_of(exc)[:2] == (400, "InvalidArgument")
    assert exc.value.response["Error"]["Message"] == "Invalid version id specified"
    with pytest.raises(ClientError) as exc:
        other_s3.list_object_versions(Bucket=versioned)
    assert error_of(exc)[:2] == (403, "AccessDenied")
    with pytest.raises(ClientError) as exc:
        s3.list_object_versions(Bucket=f"absent-{uuid.uuid4().hex[:8]}")
    assert error_of(exc)[:2] == (404, "NoSuchBucket")


def test_delete_markers_on_read(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"one")["VersionId"]
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker != v1

    # The latest version is a marker: the key reads as missing.
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=versioned, Key="k")
        status, _, headers = error_of(exc)
        assert status == 404
        assert headers["x-amz-delete-marker"] == "true"
        assert headers["x-amz-version-id"] == marker
    # The marker named by its id is a version that cannot be read.
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=versioned, Key="k", VersionId=marker)
        status, _, headers = error_of(exc)
        assert status == 405
        assert headers["x-amz-delete-marker"] == "true"
        assert "last-modified" in headers
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=versioned, Key="k", VersionId=marker)
    assert error_of(exc)[1] == "MethodNotAllowed"

    # Older versions stay readable by id, and say which they are.
    got = s3.get_object(Bucket=versioned, Key="k", VersionId=v1)
    assert (got["Body"].read(), got["VersionId"]) == (b"one", v1)
    assert s3.head_object(Bucket=versioned, Key="k", VersionId=v1)["VersionId"] == v1

    # Deleting the marker by id brings the object back.
    removed = s3.delete_object(Bucket=versioned, Key="k", VersionId=marker)
    assert (removed["DeleteMarker"], removed["VersionId"]) == (True, marker)
    got = s3.get_object(Bucket=versioned, Key="k")
    assert (got["Body"].read(), got["VersionId"]) == (b"one", v1)

    # Deleting a version by id removes it for good, without a marker.
    removed = s3.delete_object(Bucket=versioned, Key="k", VersionId=v1)
    assert removed["VersionId"] == v1 and "DeleteMarker" not in removed
    assert "Versions" not in s3.list_object_versions(Bucket=versioned)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=versioned, Key="k", VersionId=v1)
    assert error_of(exc)[:2] == (404, "NoSuchVersion")


def test_invalid_version_ids(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="k", Body=b"x")
    for call in (s3.get_object, s3.head_object, s3.delete_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=versioned, Key="k", VersionId="not-a-version")
        assert error_of(exc)[0] == 400
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=versioned, Key="k", VersionId="not-a-version")
    assert error_of(exc)[1] == "InvalidArgument"
    assert exc.value.response["Error"]["Message"] == "Invalid version id specified"


def test_suspended_bucket_uses_the_null_version(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"enabled")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"suspended")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["Body"].read(), got["VersionId"]) == (b"suspended", "null")
    page = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [
        ("null", True),
        (v1, False),
    ]

    # A delete leaves a "null" marker, which replaces the null version.
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert (deleted["DeleteMarker"], deleted["VersionId"]) == (True, "null")
    page = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [(v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in page["DeleteMarkers"]] == [("null", True)]
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)


def test_delete_objects_by_version_id(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="a", Body=b"1")["VersionId"]
    marker = s3.delete_object(Bucket=versioned, Key="a")["VersionId"]
    s3.put_object(Bucket=versioned, Key="b", Body=b"2")
    result = s3.delete_objects(
        Bucket=versioned,
        Delete={
            "Objects": [
                {"Key": "a", "VersionId": marker},
                {"Key": "a", "VersionId": v1},
                {"Key": "b"},
            ]
        },
    )
    deleted = {(d["Key"], d.get("VersionId")): d for d in result["Deleted"]}
    assert deleted[("a", marker)]["DeleteMarker"] is True
    assert deleted[("a", marker)]["DeleteMarkerVersionId"] == marker
    assert "DeleteMarker" not in deleted[("a", v1)]
    new_marker = deleted[("b", None)]
    assert new_marker["DeleteMarker"] is True
    page = s3.list_object_versions(Bucket=versioned)
    assert [(m["Key"], m["VersionId"]) for m in page["DeleteMarkers"]] == [
        ("b", new_marker["DeleteMarkerVersionId"])
    ]
    assert [v["Key"] for v in page["Versions"]] == ["b"]


def test_copy_from_a_version_id(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=versioned, Key="src", Body=b"new")
    copied = s3.copy_object(
        Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src", "VersionId": v1}
    )
    assert copied["CopySourceVersionId"] == v1
    assert copied["VersionId"] not in (v1, "null")
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"old"

    marker = s3.delete_object(Bucket=versioned, Key="src")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src"})
    assert error_of(exc)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=versioned,
            Key="dst",
            CopySource={"Bucket": versioned, "Key": "src", "VersionId": marker},
        )
    assert error_of(exc)[:2] == (400, "InvalidRequest")


@pytest.mark.client
@needs_aws
def test_aws_cli_list_object_versions(aws: AwsCli, s3: Any, versioned: str) -> None:
    history = write_history(s3, versioned)

    def api(*args: str) -> dict[str, Any]:
        out = aws("s3api", *args, "--output", "json").stdout
        result: dict[str, Any] = json.loads(out) if out.strip() else {}
        return result

    # Two at a time: the CLI follows the markers through six pages and merges them.
    listed = api("list-object-versions", "--bucket", versioned, "--page-size", "2")
    versions = [(v["Key"], v["VersionId"]) for v in listed["Versions"]]
    markers = [(m["Key"], m["VersionId"]) for m in listed["DeleteMarkers"]]
    assert len(versions) + len(markers) == 11
    assert set(versions) | set(markers) == {(k, v) for k, ids in history.items() for v in ids}
    assert markers == [("c", history["c"][0]), ("d", history["d"][0])]

    page = api(
        "list-object-versions",
        "--bucket",
        versioned,
        "--delimiter",
        "/",
        "--no-paginate",
        "--max-keys",
        "10",
    )
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["b/"]
    resumed = api(
        "list-object-versions",
        "--bucket",
        versioned,
        "--no-paginate",
        "--key-marker",
        "a",
        "--version-id-marker",
        history["a"][0],
        "--max-keys",
        "2",
    )
    assert [(v["Key"], v["VersionId"]) for v in resumed["Versions"]] == [
        ("a", history["a"][1]),
        ("a", history["a"][2]),
    ]
    assert (resumed["NextKeyMarker"], resumed["NextVersionIdMarker"]) == ("a", history["a"][2])

    head = api("head-object", "--bucket", versioned, "--key", "a", "--version-id", history["a"][1])
    assert head["VersionId"] == history["a"][1]
    removed = api(
        "delete-object", "--bucket", versioned, "--key", "c", "--version-id", history["c"][0]
    )
    assert (removed["DeleteMarker"], removed["VersionId"]) == (True, history["c"][0])
