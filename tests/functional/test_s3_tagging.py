"""Object and bucket tagging over the wire, with boto3 and the aws CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from typing import Any

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, AwsCli, LiveServer, needs_aws

MIB = 1024 * 1024


def tag_set(tags: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}


def tags_of(response: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in response["TagSet"]}


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    meta = response["ResponseMetadata"]
    return meta["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def signed(server: LiveServer, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    """A SigV4-signed request; a PUT carries the Content-MD5 of its body unless given one."""
    url = f"{server.endpoint}{path}"
    if method == "PUT" and "x-amz-copy-source" not in headers:
        headers.setdefault("Content-MD5", md5_b64(body))
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
    return httpx.request(method, url, content=body, headers=dict(request.headers.items()))


# --------------------------------------------------------------------------- objects


def test_put_get_delete_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    tags = {"project": "dolium", "a b": "ü 鍵 +-=._:/@", "empty": ""}
    put = s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "VersionId" not in put  # an unversioned bucket reports no version id
    got = s3.get_object_tagging(Bucket=bucket, Key="k")
    assert got["TagSet"] == tag_set(tags)["TagSet"]  # in the order given
    assert "VersionId" not in got
    # Replacing is whole-set, and does not touch the data or the ETag.
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"only": "one"}))
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="k")) == {"only": "one"}
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"] == etag
    deleted = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    # An empty set removes the tags too.
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"x": "1"}))
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": []})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_tagging_count_on_get_and_head(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert "x-amz-tagging-count" not in head["ResponseMetadata"]["HTTPHeaders"]
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({"a": "1", "b": "2"}))
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    assert s3.head_object(Bucket=bucket, Key="k")["TagCount"] == 2


def test_tagging_missing_object_and_bucket(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=bucket, Key="absent")
    assert error_of(exc)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="absent", Tagging=tag_set({"a": "1"}))
    assert error_of(exc)[:2] == (404, "NoSuchKey")
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=f"no-{uuid.uuid4().hex[:12]}", Key="k")
    assert error_of(exc)[:2] == (404, "NoSuchBucket")


def test_other_tenant_is_refused(s3: Any, other_s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    for call in (
        lambda: other_s3.get_object_tagging(Bucket=bucket, Key="k"),
        lambda: other_s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set({})),
        lambda: other_s3.get_bucket_tagging(Bucket=bucket),
        lambda: other_s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"a": "1"})),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == (403, "AccessDenied")


@pytest.mark.parametrize(
    ("tags", "code", "message"),
    [
        ({f"k{i}": "v" for i in range(11)}, "InvalidTag", "Object tags cannot be greater than 10"),
        ({"k" * 129: "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
        ({"tab\tkey": "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
        ({"k": "v" * 257}, "InvalidTag", "The TagValue you have provided is invalid"),
        ({"k": "a,b"}, "InvalidTag", "The TagValue you have provided is invalid"),
        ({"k*": "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
        ({"aws:reserved": "v"}, "InvalidTag", "Your TagKey cannot be prefixed with aws:"),
    ],
)
def test_object_tag_limits(
    s3: Any, bucket: str, tags: dict[str, str], code: str, message: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert error_of(exc) == (400, code, message)
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


def test_limits_are_inclusive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    tags = {f"{i:03d}" + "k" * 125: "v" * 256 for i in range(10)}
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=tag_set(tags))
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="k")) == tags


def test_duplicate_keys_are_invalid(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    duplicated = {"TagSet": [{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]}
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=duplicated)
    assert error_of(exc) == (400, "InvalidTag", "Cannot provide multiple Tags with the same key")
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=duplicated)
    assert error_of(exc)[:2] == (400, "InvalidTag")


def test_invalid_tag_names_the_tag(server: LiveServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    body = b"<Tagging><TagSet><Tag><Key>key</Key><Value>in,valid</Value></Tag></TagSet></Tagging>"
    response = signed(server, "PUT", f"/{bucket}/k?tagging", body)
    assert response.status_code == 400
    assert b"<Code>InvalidTag</Code>" in response.content
    assert b"<TagKey>key</TagKey><TagValue>in,valid</TagValue>" in response.content
    # An empty key (boto3 refuses to send one) is invalid too.
    body = b"<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>"
    response = signed(server, "PUT", f"/{bucket}/k?tagging", body)
    assert response.status_code == 400
    assert b"<Message>The TagKey you have provided is invalid</Message>" in response.content


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Tagging/>",
        b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
    ],
)
def test_malformed_tagging_body(server: LiveServer, s3: Any, bucket: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    for path in (f"/{bucket}/k?tagging", f"/{bucket}?tagging"):
        response = signed(server, "PUT", path, body)
        assert response.status_code == 400, path
        assert b"<Code>MalformedXML</Code>" in response.content


def test_tagging_puts_need_an_integrity_header(server: LiveServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    body = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    for path in (f"/{bucket}/k?tagging", f"/{bucket}?tagging"):
        # AWS's model marks both PUTs requestChecksumRequired.
        url = f"{server.endpoint}{path}"
        request = AWSRequest(method="PUT", url=url, data=body)
        S3SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "s3", "us-east-1").add_auth(request)
        response = httpx.put(url, content=body, headers=dict(request.headers.items()))
        assert response.status_code == 400, path
        assert b"<Code>InvalidRequest</Code>" in response.content
        assert b"Content-MD5 OR x-amz-checksum-*" in response.content
        response = signed(server, "PUT", path, body, **{"Content-MD5": md5_b64(b"other")})
        assert response.status_code == 400, path
        assert b"<Code>BadDigest</Code>" in response.content
        response = signed(server, "PUT", path, body)
        assert response.status_code in (200, 204), path
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="k")) == {"a": "1"}
    assert tags_of(s3.get_bucket_tagging(Bucket=bucket)) == {"a": "1"}


def test_other_methods_on_tagging_are_not_allowed(server: LiveServer, bucket: str) -> None:
    for path in (f"/{bucket}/k?tagging", f"/{bucket}?tagging"):
        response = signed(server, "POST", path)
        assert response.status_code == 405
        assert b"<Code>MethodNotAllowed</Code>" in response.content


# --------------------------------------------------------------------------- versions


def test_versions_are_tagged_by_version_id(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1", Tagging="gen=1")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="k", Body=b"2", Tagging="gen=2")["VersionId"]
    put = s3.put_object_tagging(
        Bucket=versioned, Key="k", VersionId=v1, Tagging=tag_set({"gen": "one"})
    )
    assert put["VersionId"] == v1
    got = s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=v1)
    assert (got["VersionId"], tags_of(got)) == (v1, {"gen": "one"})
    latest = s3.get_object_tagging(Bucket=versioned, Key="k")
    assert (latest["VersionId"], tags_of(latest)) == (v2, {"gen": "2"})
    deleted = s3.delete_object_tagging(Bucket=versioned, Key="k", VersionId=v1)
    assert deleted["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=versioned, Key="k", VersionId=v1)["TagSet"] == []
    assert tags_of(s3.get_object_tagging(Bucket=versioned, Key="k")) == {"gen": "2"}
    # Tagging makes no new version.
    versions = s3.list_object_versions(Bucket=versioned)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([v1, v2])
    assert "TagCount" not in s3.get_object(Bucket=versioned, Key="k", VersionId=v1)
    head = s3.head_object(Bucket=versioned, Key="k", VersionId=v2)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "1"


def test_unknown_and_malformed_version_ids(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="k", Body=b"")
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=versioned, Key="k", VersionId="a" * 24)
    assert error_of(exc)[:2] == (404, "NoSuchVersion")
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(
            Bucket=versioned, Key="k", VersionId="not-an-id", Tagging=tag_set({"a": "1"})
        )
    assert error_of(exc)[:2] == (400, "InvalidArgument")


def test_null_version_reports_null(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"", Tagging="a=1")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    got = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId="null")
    assert (got["VersionId"], tags_of(got)) == ("null", {"a": "1"})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["VersionId"] == "null"
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")


def test_delete_marker_cannot_be_tagged(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="k", Body=b"", Tagging="a=1")
    marker = s3.delete_object(Bucket=versioned, Key="k")["VersionId"]
    calls = {
        "get": lambda **v: s3.get_object_tagging(Bucket=versioned, Key="k", **v),
        "put": lambda **v: s3.put_object_tagging(
            Bucket=versioned, Key="k", Tagging=tag_set({"b": "2"}), **v
        ),
        "delete": lambda **v: s3.delete_object_tagging(Bucket=versioned, Key="k", **v),
    }
    for name, call in calls.items():
        for extra in ({}, {"VersionId": marker}):
            with pytest.raises(ClientError) as exc:
                call(**extra)
            assert error_of(exc)[:2] == (405, "MethodNotAllowed"), (name, extra)
            headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
            assert headers["x-amz-delete-marker"] == "true"
            assert headers["x-amz-version-id"] == marker


# --------------------------------------------------------------------------- x-amz-tagging


def test_put_object_with_tagging_header(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words&flag&%C3%BC=%E9%8D%B5"
    )
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="k")) == {
        "a": "1",
        "b": "two words",
        "flag": "",
        "ü": "鍵",
    }
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 4
    # An empty value, with "=" or without, and on every write that takes tags.
    s3.put_object(Bucket=bucket, Key="e", Body=b"x", Tagging="foo=&bar=1")
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="e")) == {"foo": "", "bar": "1"}
    s3.copy_object(
        Bucket=bucket,
        Key="e2",
        CopySource={"Bucket": bucket, "Key": "e"},
        Tagging="foo=",
        TaggingDirective="REPLACE",
    )
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="e2")) == {"foo": ""}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="e3", Tagging="foo=")
    s3.abort_multipart_upload(Bucket=bucket, Key="e3", UploadId=upload["UploadId"])
    # A new write replaces the tags with its own (none here).
    s3.put_object(Bucket=bucket, Key="k", Body=b"y")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []


@pytest.mark.parametrize(
    ("tagging", "code"),
    [
        ("k=1&k=2", "InvalidArgument"),
        ("=v", "InvalidArgument"),
        ("k=%FF", "InvalidArgument"),
        ("&".join(f"k{i}=v" for i in range(11)), "InvalidTag"),
        ("aws%3Ax=1", "InvalidTag"),
        ("k=a%2Cb", "InvalidTag"),
    ],
)
def test_bad_tagging_header(s3: Any, bucket: str, tagging: str, code: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging=tagging)
    assert error_of(exc)[:2] == (400, code)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert error_of(exc)[0] == 404  # nothing was written


def test_copy_tagging_directives(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", Tagging="a=1&b=2")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="default", CopySource=source, Tagging="ignored=1")
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="default")) == {"a": "1", "b": "2"}
    s3.copy_object(Bucket=bucket, Key="copy", CopySource=source, TaggingDirective="COPY")
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="copy")) == {"a": "1", "b": "2"}
    s3.copy_object(
        Bucket=bucket, Key="replace", CopySource=source, TaggingDirective="REPLACE", Tagging="c=3"
    )
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="replace")) == {"c": "3"}
    s3.copy_object(Bucket=bucket, Key="none", CopySource=source, TaggingDirective="REPLACE")
    assert s3.get_object_tagging(Bucket=bucket, Key="none")["TagSet"] == []
    # The source keeps its own.
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="src")) == {"a": "1", "b": "2"}
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket,
            Key="bad",
            CopySource=source,
            TaggingDirective="REPLACE",
            Tagging="aws:x=1",
        )
    assert error_of(exc)[:2] == (400, "InvalidTag")


def test_copy_unknown_tagging_directive(server: LiveServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data")
    response = signed(
        server,
        "PUT",
        f"/{bucket}/dst",
        **{"x-amz-copy-source": f"/{bucket}/src", "x-amz-tagging-directive": "MERGE"},
    )
    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.content
    assert b"Unknown tagging directive." in response.content


def test_copy_of_a_version_takes_its_tags(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1", Tagging="gen=1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="k", Body=b"2", Tagging="gen=2")
    source = {"Bucket": versioned, "Key": "k", "VersionId": v1}
    s3.copy_object(Bucket=versioned, Key="old", CopySource=source)
    assert tags_of(s3.get_object_tagging(Bucket=versioned, Key="old")) == {"gen": "1"}


def test_multipart_upload_carries_tags(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="kind=multipart&n=2")
    parts = []
    for number, data in enumerate((os.urandom(5 * MIB), b"tail"), 1):
        etag = s3.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=number, Body=data
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="mp")) == {
        "kind": "multipart",
        "n": "2",
    }
    head = s3.head_object(Bucket=bucket, Key="mp")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"


def test_multipart_refuses_bad_tags_at_creation(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="k=1&k=2")
    assert error_of(exc)[:2] == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="k=%3Cx%3E")
    assert error_of(exc)[:2] == (400, "InvalidTag")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# --------------------------------------------------------------------------- buckets


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(exc) == (404, "NoSuchTagSet", "The TagSet does not exist")
    tags = {f"tag{i:02d}": f"value {i}" for i in range(50)}
    put = s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(tags))
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tag_set(tags)["TagSet"]
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"cost-center": "42"}))
    assert tags_of(s3.get_bucket_tagging(Bucket=bucket)) == {"cost-center": "42"}
    deleted = s3.delete_bucket_tagging(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(exc)[:2] == (404, "NoSuchTagSet")
    s3.delete_bucket_tagging(Bucket=bucket)  # deleting none is fine


@pytest.mark.parametrize(
    ("tags", "code", "message"),
    [
        (
            {f"k{i}": "v" for i in range(51)},
            "InvalidTag",
            "Bucket tag count cannot be greater than 50",
        ),
        ({"k" * 129: "v"}, "InvalidTag", "The TagKey you have provided is invalid"),
        ({"k": "v" * 257}, "InvalidTag", "The TagValue you have provided is invalid"),
        ({"AWS:cloudformation": "v"}, "InvalidTag", "Your TagKey cannot be prefixed with aws:"),
    ],
)
def test_bucket_tag_limits(
    s3: Any, bucket: str, tags: dict[str, str], code: str, message: str
) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"keep": "me"}))
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(tags))
    assert error_of(exc) == (400, code, message)
    assert tags_of(s3.get_bucket_tagging(Bucket=bucket)) == {"keep": "me"}


def test_bucket_and_object_tags_are_separate(s3: Any, bucket: str) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set({"scope": "bucket"}))
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert tags_of(s3.get_bucket_tagging(Bucket=bucket)) == {"scope": "bucket"}


# --------------------------------------------------------------------------- aws CLI


@pytest.mark.client
@needs_aws
def test_aws_cli_object_and_bucket_tagging(aws: AwsCli, s3: Any, bucket: str) -> None:
    def s3api(*args: str, check: bool = True) -> Any:
        result = aws("s3api", *args, "--output", "json", check=check)
        return result if not check else (json.loads(result.stdout) if result.stdout else {})

    s3.put_object(Bucket=bucket, Key="cli", Body=b"data")
    s3api(
        "put-object-tagging",
        "--bucket",
        bucket,
        "--key",
        "cli",
        "--tagging",
        json.dumps(tag_set({"team": "storage", "tier": "gold"})),
    )
    got = s3api("get-object-tagging", "--bucket", bucket, "--key", "cli")
    assert tags_of(got) == {"team": "storage", "tier": "gold"}
    assert tags_of(s3.get_object_tagging(Bucket=bucket, Key="cli")) == {
        "team": "storage",
        "tier": "gold",
    }
    s3api("delete-object-tagging", "--bucket", bucket, "--key", "cli")
    assert s3api("get-object-tagging", "--bucket", bucket, "--key", "cli")["TagSet"] == []

    s3api("put-object", "--bucket", bucket, "--key", "hdr", "--tagging", "a=1&b=2")
    assert tags_of(s3api("get-object-tagging", "--bucket", bucket, "--key", "hdr")) == {
        "a": "1",
        "b": "2",
    }

    s3api("put-bucket-tagging", "--bucket", bucket, "--tagging", "TagSet=[{Key=env,Value=test}]")
    assert tags_of(s3api("get-bucket-tagging", "--bucket", bucket)) == {"env": "test"}
    s3api("delete-bucket-tagging", "--bucket", bucket)
    failed = s3api("get-bucket-tagging", "--bucket", bucket, check=False)
    assert failed.returncode != 0
    assert "NoSuchTagSet" in failed.stderr

    too_many = json.dumps(tag_set({f"k{i}": "v" for i in range(11)}))
    failed = s3api(
        "put-object-tagging", "--bucket", bucket, "--key", "cli", "--tagging", too_many, check=False
    )
    assert failed.returncode != 0
    assert "InvalidTag" in failed.stderr
