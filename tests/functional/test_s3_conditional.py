"""Conditional writes and deletes over the wire with boto3: ETag lists and `*` in
If-Match / If-None-Match on PutObject, CopyObject and CompleteMultipartUpload;
If-Match, x-amz-if-match-last-modified-time and x-amz-if-match-size on
DeleteObject, and the same per object in DeleteObjects."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer
from signed import error_fields, signed

LAST_MODIFIED = "x-amz-if-match-last-modified-time"


def failure(info: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    answer = info.value.response
    return answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Code"]


def refused(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return failure(info)


def read(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


# --------------------------------------------------------------------------- writes


def test_put_if_none_match_takes_an_etag_list(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["ETag"]
    put = s3.put_object
    assert refused(put, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=f'"0abc", {etag}') == (
        412,
        "PreconditionFailed",
    )
    assert refused(put, Bucket=bucket, Key="k", Body=b"x", IfNoneMatch=etag.strip('"')) == (
        412,
        "PreconditionFailed",
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch='"0abc", W/"0def"')
    assert read(s3, bucket, "k") == b"two"
    # No object: no ETag to match, so the write goes ahead.
    s3.put_object(Bucket=bucket, Key="new", Body=b"x", IfNoneMatch='"0abc"')
    assert read(s3, bucket, "new") == b"x"


def test_put_if_match_takes_an_etag_list_and_a_star(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["ETag"]
    put = s3.put_object
    assert refused(put, Bucket=bucket, Key="k", Body=b"x", IfMatch='"0abc", "0def"') == (
        412,
        "PreconditionFailed",
    )
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch=f'"0abc", {etag}')["ETag"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"three", IfMatch="*")
    assert read(s3, bucket, "k") == b"three"
    assert refused(put, Bucket=bucket, Key="absent", Body=b"x", IfMatch="*") == (404, "NoSuchKey")
    assert refused(put, Bucket=bucket, Key="absent", Body=b"x", IfMatch=etag) == (404, "NoSuchKey")


def test_if_match_on_a_delete_marker_is_no_such_key(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="k", Body=b"one")
    s3.delete_object(Bucket=versioned, Key="k")
    put = s3.put_object
    assert refused(put, Bucket=versioned, Key="k", Body=b"x", IfMatch="*") == (404, "NoSuchKey")
    s3.put_object(Bucket=versioned, Key="k", Body=b"two", IfNoneMatch="*")
    assert read(s3, versioned, "k") == b"two"


def test_copy_destination_conditions(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    etag = s3.put_object(Bucket=bucket, Key="dst", Body=b"old")["ETag"]
    source = {"Bucket": bucket, "Key": "src"}
    copy = s3.copy_object
    assert refused(copy, Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch="*") == (
        412,
        "PreconditionFailed",
    )
    assert refused(copy, Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch=etag) == (
        412,
        "PreconditionFailed",
    )
    assert refused(copy, Bucket=bucket, Key="dst", CopySource=source, IfMatch='"0abc"') == (
        412,
        "PreconditionFailed",
    )
    assert refused(copy, Bucket=bucket, Key="none", CopySource=source, IfMatch="*") == (
        404,
        "NoSuchKey",
    )
    assert read(s3, bucket, "dst") == b"old"
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfMatch=etag)
    assert read(s3, bucket, "dst") == b"source"
    s3.copy_object(Bucket=bucket, Key="fresh", CopySource=source, IfNoneMatch="*")
    assert read(s3, bucket, "fresh") == b"source"


def _upload(s3: Any, bucket: str, key: str, data: bytes) -> tuple[str, list[dict[str, Any]]]:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data)
    return upload, [{"PartNumber": 1, "ETag": part["ETag"]}]


def test_complete_multipart_upload_conditions(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["ETag"]
    upload, parts = _upload(s3, bucket, "k", b"new")
    done = {"Parts": parts}
    complete = s3.complete_multipart_upload
    common = {"Bucket": bucket, "Key": "k", "UploadId": upload, "MultipartUpload": done}
    assert refused(complete, **common, IfNoneMatch="*") == (412, "PreconditionFailed")
    assert refused(complete, **common, IfMatch=f'"0abc", "{"0" * 32}"') == (
        412,
        "PreconditionFailed",
    )
    # A failed condition leaves the upload to be completed again.
    s3.complete_multipart_upload(**common, IfMatch=f'"0abc", {etag}')
    assert read(s3, bucket, "k") == b"new"
    upload, parts = _upload(s3, bucket, "absent", b"x")
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="absent",
            UploadId=upload,
            MultipartUpload={"Parts": parts},
            IfMatch="*",
        )
    assert failure(info) == (404, "NoSuchKey")


def test_concurrent_if_match_writers_one_wins(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="race", Body=b"base")["ETag"]
    results: list[str] = []
    start = threading.Barrier(8)

    def attempt(i: int) -> None:
        start.wait()
        try:
            s3.put_object(Bucket=bucket, Key="race", Body=f"w{i}".encode(), IfMatch=etag)
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert all(r in ("ok", "PreconditionFailed", "ConditionalRequestConflict") for r in results)


# --------------------------------------------------------------------------- deletes


def test_conditional_delete_object(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"12345")["ETag"]
    head = s3.head_object(Bucket=bucket, Key="k")
    modified = head["LastModified"]
    delete = s3.delete_object
    assert refused(delete, Bucket=bucket, Key="k", IfMatch='"0abc"') == (412, "PreconditionFailed")
    assert refused(delete, Bucket=bucket, Key="k", IfMatchSize=4) == (412, "PreconditionFailed")
    later = modified + timedelta(seconds=5)
    assert refused(delete, Bucket=bucket, Key="k", IfMatchLastModifiedTime=later) == (
        412,
        "PreconditionFailed",
    )
    assert read(s3, bucket, "k") == b"12345"
    s3.delete_object(
        Bucket=bucket, Key="k", IfMatch=etag, IfMatchSize=5, IfMatchLastModifiedTime=modified
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # If-Match needs an object; size and time alone do not (S3 answers 204).
    assert refused(delete, Bucket=bucket, Key="k", IfMatch="*") == (404, "NoSuchKey")
    assert refused(delete, Bucket=bucket, Key="k", IfMatch=etag) == (404, "NoSuchKey")
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=5)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_conditional_delete_in_a_versioned_bucket(s3: Any, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"one")
    etag = s3.put_object(Bucket=versioned, Key="k", Body=b"two")["ETag"]
    delete = s3.delete_object
    assert refused(delete, Bucket=versioned, Key="k", IfMatch=first["ETag"]) == (
        412,
        "PreconditionFailed",
    )
    marker = s3.delete_object(Bucket=versioned, Key="k", IfMatch=etag)
    assert marker["DeleteMarker"] is True
    # The current version is a marker: nothing to match.
    assert refused(delete, Bucket=versioned, Key="k", IfMatch="*") == (404, "NoSuchKey")
    # By version id, the condition is on the version named.
    named = {"Bucket": versioned, "Key": "k", "VersionId": first["VersionId"]}
    assert refused(delete, **named, IfMatch=etag) == (412, "PreconditionFailed")
    s3.delete_object(**named, IfMatch=first["ETag"], IfMatchSize=3)
    versions = s3.list_object_versions(Bucket=versioned)["Versions"]
    assert [v["ETag"] for v in versions] == [etag]


@pytest.mark.parametrize("kind", ["bucket", "versioned"])
def test_conditional_writers_and_deleters_one_wins(
    s3: Any, kind: str, request: pytest.FixtureRequest
) -> None:
    """Writers and deleters all matching one ETag: the first to commit wins, and
    every other finds the object changed (412) or gone (404)."""
    name = request.getfixturevalue(kind)
    etag = s3.put_object(Bucket=name, Key="race", Body=b"base")["ETag"]
    results: list[str] = []
    start = threading.Barrier(8)

    def attempt(i: int) -> None:
        start.wait()
        try:
            if i % 2:
                s3.delete_object(Bucket=name, Key="race", IfMatch=etag)
            else:
                s3.put_object(Bucket=name, Key="race", Body=f"w{i}".encode(), IfMatch=etag)
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    losers = {"PreconditionFailed", "NoSuchKey", "ConditionalRequestConflict"}
    assert set(results) - {"ok"} <= losers, results


def test_conditional_delete_objects(s3: Any, bucket: str) -> None:
    etags = {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abcdef"}
    listed = {o["Key"]: o for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    objects = [
        {"Key": "a", "ETag": etags["a"]},
        {"Key": "b", "ETag": '"0abc"'},
        {"Key": "c", "Size": 1, "LastModifiedTime": listed["c"]["LastModified"]},
        {"Key": "d", "Size": 7},
        {"Key": "e", "ETag": "*"},
        {"Key": "gone", "ETag": "*"},
        {"Key": "f", "LastModifiedTime": listed["f"]["LastModified"] - timedelta(days=1)},
    ]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["a", "c", "e"]
    errors = {e["Key"]: e["Code"] for e in answer["Errors"]}
    assert errors == {
        "b": "PreconditionFailed",
        "d": "PreconditionFailed",
        "gone": "NoSuchKey",
        "f": "PreconditionFailed",
    }
    message = {e["Key"]: e["Message"] for e in answer["Errors"]}["b"]
    assert message == "At least one of the pre-conditions you specified did not hold"
    left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert left == ["b", "d", "f"]


def test_a_malformed_delete_condition_is_invalid_argument(
    s3: Any, server: LiveServer, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = f"{server.endpoint}/{bucket}/k"
    for header, value in (("x-amz-if-match-size", "many"), (LAST_MODIFIED, "yesterday")):
        fields = error_fields(
            signed("DELETE", url, headers={header: value}), 400, "InvalidArgument"
        )
        assert fields["ArgumentName"] == header
    assert read(s3, bucket, "k") == b"x"
