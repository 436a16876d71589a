"""AWS Signature Version 2 over the wire: boto3's legacy signer, presigned URLs, raw requests.

Every refusal is checked for its status, its S3 error code and its XML body.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer, client, vhost_client
from defusedxml import ElementTree

from dolium.frontends.s3.auth.sigv2 import sign

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def v2(server: LiveServer) -> Any:
    return client(server, signature_version="s3")


def s3_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """Check an S3 error answer; return the fields of its XML body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    fields = {child.tag: child.text or "" for child in root}
    assert fields["Code"] == code, fields
    assert fields["RequestId"] == response.headers["x-amz-request-id"]
    return fields


def client_error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def presign_v2(
    server: LiveServer,
    method: str,
    path: str,
    expires: int,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
) -> str:
    """A SigV2 presigned URL built by hand, for any Expires (even one in the past)."""
    signature = sign(secret, f"{method}\n\n\n{expires}\n{path}".encode())
    query = urlencode({"AWSAccessKeyId": key, "Expires": str(expires), "Signature": signature})
    return f"{server.endpoint}{path}?{query}"


def signed_v2(
    server: LiveServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    date: str | None = None,
) -> httpx.Response:
    """A request with an `Authorization: AWS` header computed here (path-style)."""
    headers = dict(headers or {})
    headers.setdefault("Date", date or formatdate(usegmt=True))
    amz = "".join(
        f"{name.lower()}:{value}\n"
        for name, value in sorted(headers.items(), key=lambda kv: kv[0].lower())
        if name.lower().startswith("x-amz-")
    )
    date_slot = "" if any(n.lower() == "x-amz-date" for n in headers) else headers["Date"]
    to_sign = f"{method}\n\n{headers.get('Content-Type', '')}\n{date_slot}\n{amz}{path}"
    headers["Authorization"] = f"AWS {ROOT_KEY}:{sign(ROOT_SECRET, to_sign.encode())}"
    return httpx.request(method, server.endpoint + path, content=body, headers=headers)


# -- boto3 with signature_version="s3" ----------------------------------------------------


@pytest.mark.parametrize("key", ["plain.txt", "dir/a b+c", "\u00fc/\u4e2d %!*'()~", "a=b&c?d"])
def test_put_get_head_list_delete(v2: Any, s3: Any, bucket: str, key: str) -> None:
    v2.put_object(
        Bucket=bucket, Key=key, Body=b"v2 body", ContentType="text/plain", Metadata={"who": "me"}
    )
    got = v2.get_object(Bucket=bucket, Key=key, ResponseContentDisposition="attachment; a=b")
    assert got["Body"].read() == b"v2 body"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"who": "me"}
    assert v2.head_object(Bucket=bucket, Key=key)["ContentLength"] == 7
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == [key]
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]] == [key]
    v2.copy_object(Bucket=bucket, Key=f"{key}.copy", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=f"{key}.copy")["Body"].read() == b"v2 body"
    v2.delete_object(Bucket=bucket, Key=key)
    deleted = v2.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"{key}.copy"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == [f"{key}.copy"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_buckets(v2: Any, s3: Any) -> None:
    name = f"v2-{uuid.uuid4().hex[:10]}"
    v2.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in v2.list_buckets()["Buckets"]]
    v2.head_bucket(Bucket=name)
    assert "LocationConstraint" in v2.get_bucket_location(Bucket=name)
    v2.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    assert v2.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    first = v2.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    v2.put_object(Bucket=name, Key="k", Body=b"two")
    # versionId is a signed sub-resource.
    assert v2.get_object(Bucket=name, Key="k", VersionId=first)["Body"].read() == b"one"
    s3.delete_object(Bucket=name, Key="k", VersionId=first)
    with pytest.raises(ClientError) as exc:
        v2.get_object(Bucket=name, Key="k", VersionId=first)
    assert client_error(exc)[0] == 404


def test_multipart(v2: Any, s3: Any, bucket: str) -> None:
    parts_data = [b"a" * (5 * MIB), b"tail"]
    upload = v2.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, data in enumerate(parts_data, 1):
        etag = v2.upload_part(
            Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=data
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    listed = v2.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
    assert [u["UploadId"] for u in v2.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    v2.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    body = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts_data)).digest()
    assert s3.head_object(Bucket=bucket, Key="mp")["ETag"].endswith('-2"')

    aborted = v2.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    v2.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    assert "Uploads" not in v2.list_multipart_uploads(Bucket=bucket)


def test_unknown_key_and_wrong_secret(server: LiveServer, bucket: str) -> None:
    stranger = client(server, "DKNOSUCHKEY000000002", ROOT_SECRET, signature_version="s3")
    with pytest.raises(ClientError) as exc:
        stranger.list_objects(Bucket=bucket)
    assert client_error(exc) == (403, "InvalidAccessKeyId")
    assert exc.value.response["Error"]["AWSAccessKeyId"] == "DKNOSUCHKEY000000002"

    forger = client(server, ROOT_KEY, "not-the-secret", signature_version="s3")
    with pytest.raises(ClientError) as exc:
        forger.put_object(Bucket=bucket, Key="forged", Body=b"x")
    assert client_error(exc) == (403, "SignatureDoesNotMatch")
    assert exc.value.response["Error"]["StringToSign"].endswith(f"/{bucket}/forged")
    with pytest.raises(ClientError) as exc:
        client(server, signature_version="s3").head_object(Bucket=bucket, Key="forged")
    assert client_error(exc)[0] == 404


# -- presigned URLs -----------------------------------------------------------------------


def test_presigned_get_put_and_tampering(v2: Any, s3: Any, server: LiveServer, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="dir/obj name.bin", Body=b"presigned v2")
    url = v2.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "dir/obj name.bin"}, ExpiresIn=300
    )
    params = parse_qs(urlsplit(url).query)
    assert set(params) == {"AWSAccessKeyId", "Expires", "Signature"}
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert response.content == b"presigned v2"

    # Another key, another Expires, another signature: each is refused.
    parts = urlsplit(url)
    other_path = urlunsplit(parts._replace(path=parts.path.replace("obj%20name", "other")))
    later = url.replace(f"Expires={params['Expires'][0]}", f"Expires={int(time.time()) + 9999}")
    bad_sig = url.replace("Signature=", "Signature=AAAA")
    for tampered in (other_path, later, bad_sig):
        fields = s3_error(httpx.get(tampered), 403, "SignatureDoesNotMatch")
        assert fields["AWSAccessKeyId"] == ROOT_KEY
        assert "SignatureProvided" not in fields

    put_url = v2.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "uploaded"}, ExpiresIn=300
    )
    assert httpx.put(put_url, content=b"via url").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via url"


def test_presigned_expiry(server: LiveServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    path = f"/{bucket}/k"
    assert httpx.get(presign_v2(server, "GET", path, int(time.time()) + 120)).content == b"x"
    expired = presign_v2(server, "GET", path, int(time.time()) - 60)
    fields = s3_error(httpx.get(expired), 403, "AccessDenied")
    assert fields["Message"] == "Request has expired"
    assert fields["Expires"].endswith("Z") and fields["ServerTime"].endswith("Z")
    unknown = presign_v2(server, "GET", path, int(time.time()) + 120, key="DKNOSUCH")
    s3_error(httpx.get(unknown), 403, "InvalidAccessKeyId")
    missing = f"{server.endpoint}{path}?AWSAccessKeyId={ROOT_KEY}&Signature=abc"
    s3_error(httpx.get(missing), 403, "AccessDenied")


# -- raw requests -------------------------------------------------------------------------


def test_raw_header_auth_and_clock(server: LiveServer, s3: Any, bucket: str) -> None:
    path = f"/{bucket}/raw"
    put = signed_v2(
        server, "PUT", path, b"raw", {"Content-Type": "text/plain", "X-Amz-Meta-Two": "b"}
    )
    assert put.status_code == 200, put.text
    assert s3.head_object(Bucket=bucket, Key="raw")["Metadata"] == {"two": "b"}
    # x-amz-date replaces Date, which is then left out of the signature.
    amz_date = {"x-amz-date": formatdate(usegmt=True)}
    assert signed_v2(server, "GET", path, headers=amz_date, date="whenever").content == b"raw"

    old = formatdate(time.time() - 3600, usegmt=True)
    fields = s3_error(signed_v2(server, "GET", path, date=old), 403, "RequestTimeTooSkewed")
    assert fields["RequestTime"] == old
    assert fields["MaxAllowedSkewMilliseconds"] == "900000"
    response = httpx.get(
        server.endpoint + path, headers={"Authorization": f"AWS {ROOT_KEY}", "Date": old}
    )
    s3_error(response, 400, "InvalidArgument")


def test_declared_sha256_is_checked(server: LiveServer, s3: Any, bucket: str) -> None:
    path = f"/{bucket}/hashed"
    good = {"x-amz-content-sha256": hashlib.sha256(b"body").hexdigest()}
    assert signed_v2(server, "PUT", path, b"body", good).status_code == 200
    bad = {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()}
    s3_error(signed_v2(server, "PUT", path, b"body!", bad), 400, "XAmzContentSHA256Mismatch")
    assert s3.get_object(Bucket=bucket, Key="hashed")["Body"].read() == b"body"
    streaming = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    s3_error(signed_v2(server, "PUT", path, b"x", streaming), 400, "InvalidRequest")


# -- virtual-hosted-style addressing ------------------------------------------------------


def test_virtual_hosted_style(vhost_server: LiveServer) -> None:
    live = vhost_server
    s3 = vhost_client(live, signature_version="s3")
    name = f"vh2-{uuid.uuid4().hex[:10]}"
    client(live).create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="dir/a b", Body=b"virtual v2")
    assert s3.get_object(Bucket=name, Key="dir/a b")["Body"].read() == b"virtual v2"
    assert [o["Key"] for o in s3.list_objects(Bucket=name)["Contents"]] == ["dir/a b"]
    assert f"{name}.localhost:{live.port}" in s3.hosts_seen

    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "dir/a b"})
    parts = urlsplit(url)
    direct = urlunsplit(parts._replace(netloc=f"{live.host}:{live.port}"))
    response = httpx.get(direct, headers={"Host": parts.netloc})
    assert response.status_code == 200, response.text
    assert response.content == b"virtual v2"
    s3.delete_object(Bucket=name, Key="dir/a b")
    s3.delete_bucket(Bucket=name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Date", "Tue, 07 Jul 1950 21:53:04 GMT"),
        ("x-amz-date", "Tue, 07 Jul 1950 21:53:04 GMT"),
        ("Date", "Bad Date"),
        ("x-amz-date", "Bad Date"),
        ("Date", ""),
        ("x-amz-date", ""),
    ],
)
def test_date_before_the_epoch_or_unreadable_is_access_denied(
    server: LiveServer, bucket: str, name: str, value: str
) -> None:
    response = signed_v2(server, "PUT", f"/{bucket}/k", b"x", headers={name: value}, date=value)
    s3_error(response, 403, "AccessDenied")


@pytest.mark.parametrize(
    "seconds", [-16 * 60, 16 * 60, 10**11 - time.time()], ids=["behind", "ahead", "year-5138"]
)
@pytest.mark.parametrize("name", ["Date", "x-amz-date"])
def test_date_more_than_15_minutes_off_is_skewed(
    server: LiveServer, bucket: str, name: str, seconds: float
) -> None:
    when = formatdate(time.time() + seconds, usegmt=True)
    response = signed_v2(server, "PUT", f"/{bucket}/k", b"x", headers={name: when}, date=when)
    fields = s3_error(response, 403, "RequestTimeTooSkewed")
    assert fields["RequestTime"] == when


@pytest.mark.parametrize("name", ["Date", "x-amz-date"])
def test_date_within_15_minutes_is_accepted(
    server: LiveServer, s3: Any, bucket: str, name: str
) -> None:
    when = formatdate(time.time() - 14 * 60, usegmt=True)
    response = signed_v2(server, "PUT", f"/{bucket}/k", b"x", headers={name: when}, date=when)
    assert response.status_code == 200, response.text


def test_missing_date_is_access_denied(server: LiveServer, bucket: str) -> None:
    path = f"/{bucket}/k"
    signature = sign(ROOT_SECRET, f"PUT\n\n\n\n{path}".encode())
    headers = {"Authorization": f"AWS {ROOT_KEY}:{signature}"}
    response = httpx.put(server.endpoint + path, content=b"x", headers=headers)
    assert "date" not in response.request.headers
    s3_error(response, 403, "AccessDenied")
