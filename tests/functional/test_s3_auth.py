"""Authentication over the wire: raw HTTP signed with botocore's own signers.

Every refusal is checked for its status, its S3 error code and its XML body;
uploads that are refused are checked to have stored nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer, client, vhost_client
from defusedxml import ElementTree

from dolium.frontends.s3.auth.sigv4 import EMPTY_SHA256, sign, signing_key

ROOT = Credentials(ROOT_KEY, ROOT_SECRET)
REGION = "us-east-1"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


class Signer(S3SigV4Auth):
    """botocore's S3 SigV4 header signer, with a chosen payload hash and clock."""

    def __init__(
        self, credentials: Credentials, payload: str | None = None, when: datetime | None = None
    ) -> None:
        super().__init__(credentials, "s3", REGION)
        self._payload = payload
        self._when = when

    def payload(self, request: AWSRequest) -> str:
        return self._payload or str(super().payload(request))

    def add_auth(self, request: AWSRequest) -> None:
        if self._when is None:
            super().add_auth(request)
            return
        original = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: self._when  # type: ignore[assignment]
        try:
            super().add_auth(request)
        finally:
            botocore.auth.get_current_datetime = original


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    signer: Signer | None = None,
    send_to: str | None = None,
) -> httpx.Response:
    """Sign a request for `url` and send it (to `send_to` instead, with url's Host)."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    (signer or Signer(ROOT)).add_auth(request)
    sent_headers = dict(request.headers.items())
    target = url
    if send_to is not None:
        sent_headers["Host"] = urlsplit(url).netloc
        target = urlunsplit(urlsplit(url)._replace(netloc=send_to))
    return httpx.request(method, target, content=body, headers=sent_headers)


def presign(
    method: str, url: str, expires: int = 300, when: datetime | None = None, creds: Any = ROOT
) -> str:
    request = AWSRequest(method=method, url=url)
    signer = S3SigV4QueryAuth(creds, "s3", REGION, expires=expires)
    original = botocore.auth.get_current_datetime
    if when is not None:
        botocore.auth.get_current_datetime = lambda *a, **k: when  # type: ignore[assignment]
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.get_current_datetime = original
    return str(request.url)


def s3_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """Check an S3 error answer; return the fields of its XML body."""
    assert response.status_code == status, response.text
    request_id = response.headers.get("x-amz-request-id")
    assert request_id
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    fields = {child.tag: child.text or "" for child in root}
    assert fields["Code"] == code, fields
    assert fields["Message"]
    assert fields["RequestId"] == request_id
    return fields


def exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False
    return True


@pytest.fixture
def base(server: LiveServer, bucket: str) -> str:
    return f"{server.endpoint}/{bucket}"


# -- who is asking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/"), ("GET", "/{b}"), ("GET", "/{b}/k"), ("PUT", "/{b}/k")]
)
def test_anonymous_is_refused(server: LiveServer, bucket: str, method: str, path: str) -> None:
    url = server.endpoint + path.format(b=bucket)
    s3_error(httpx.request(method, url, content=b"x"), 403, "AccessDenied")


def test_anonymous_head_has_request_id_and_no_body(base: str) -> None:
    response = httpx.head(f"{base}/k")
    assert response.status_code == 403
    assert response.headers["x-amz-request-id"]
    assert response.content == b""


def test_unknown_access_key(base: str) -> None:
    signer = Signer(Credentials("DKNOSUCHKEY000000001", ROOT_SECRET))
    fields = s3_error(signed("GET", f"{base}/k", signer=signer), 403, "InvalidAccessKeyId")
    assert fields["AWSAccessKeyId"] == "DKNOSUCHKEY000000001"


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential=garbled",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00",
        f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/20260101/us-east-1/s3, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    ],
)
def test_malformed_authorization_header(base: str, authorization: str) -> None:
    headers = {
        "Authorization": authorization,
        "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-content-sha256": EMPTY_SHA256,
    }
    s3_error(httpx.get(f"{base}/k", headers=headers), 400, "AuthorizationHeaderMalformed")


def test_wrong_secret(s3: Any, bucket: str, base: str) -> None:
    signer = Signer(Credentials(ROOT_KEY, ROOT_SECRET[:-1] + "x"))
    response = signed("PUT", f"{base}/k", b"data", signer=signer)
    fields = s3_error(response, 403, "SignatureDoesNotMatch")
    assert fields["AWSAccessKeyId"] == ROOT_KEY
    assert fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert ROOT_SECRET not in response.text
    assert not exists(s3, bucket, "k")


@pytest.mark.parametrize("minutes", [-20, 20])
def test_clock_skew(base: str, minutes: int) -> None:
    signer = Signer(ROOT, when=now() + timedelta(minutes=minutes))
    fields = s3_error(signed("GET", f"{base}/k", signer=signer), 403, "RequestTimeTooSkewed")
    assert fields["MaxAllowedSkewMilliseconds"] == "900000"


def test_small_skew_is_accepted(s3: Any, bucket: str, base: str) -> None:
    signer = Signer(ROOT, when=now() - timedelta(minutes=10))
    assert signed("PUT", f"{base}/k", b"ten minutes", signer=signer).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"ten minutes"


def test_unsigned_amz_header_is_refused(s3: Any, bucket: str, base: str) -> None:
    request = AWSRequest(method="PUT", url=f"{base}/k", data=b"x")
    Signer(ROOT).add_auth(request)
    headers = {**dict(request.headers.items()), "x-amz-meta-added": "later"}
    response = httpx.put(f"{base}/k", content=b"x", headers=headers)
    assert s3_error(response, 403, "AccessDenied")["HeadersNotSigned"] == "x-amz-meta-added"
    assert not exists(s3, bucket, "k")


def test_revoked_key(server: LiveServer) -> None:
    user = f"revokee{uuid.uuid4().hex[:8]}"
    key = f"DKREV{uuid.uuid4().hex[:15].upper()}"
    secret = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    server.admin("user", "create", f"other:{user}", "--access-key", key, "--secret-key", secret)
    s3 = client(server, key, secret)
    s3.list_buckets()
    server.admin("key", "revoke", key)
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # The same refusal for a presigned URL made with the revoked key.
    url = presign("GET", f"{server.endpoint}/", creds=Credentials(key, secret))
    s3_error(httpx.get(url), 403, "InvalidAccessKeyId")


# -- the payload ------------------------------------------------------------------------


def test_payload_hash_mismatch_stores_nothing(s3: Any, bucket: str, base: str) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = signed("PUT", f"{base}/k", b"the body", signer=Signer(ROOT, payload=wrong))
    fields = s3_error(response, 400, "XAmzContentSHA256Mismatch")
    assert fields["ClientComputedContentSHA256"] == wrong
    assert fields["S3ComputedContentSHA256"] == hashlib.sha256(b"the body").hexdigest()
    assert not exists(s3, bucket, "k")
    # Nor does it replace an object that is there.
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    response = signed("PUT", f"{base}/k", b"the body", signer=Signer(ROOT, payload=wrong))
    s3_error(response, 400, "XAmzContentSHA256Mismatch")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"


def test_unsigned_payload_is_accepted(s3: Any, bucket: str, base: str) -> None:
    signer = Signer(ROOT, payload="UNSIGNED-PAYLOAD")
    response = signed("PUT", f"{base}/u", b"not hashed by the client", signer=signer)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(b"not hashed by the client").hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="u")["Body"].read() == b"not hashed by the client"


def chunked_put(
    url: str, chunks: list[bytes], tamper: int | None = None, send_to: str | None = None
) -> httpx.Response:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload; chunk `tamper` is altered after signing."""
    decoded = b"".join(chunks)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(decoded))}
    request = AWSRequest(method="PUT", url=url, headers=headers)
    Signer(ROOT, payload=STREAMING).add_auth(request)
    previous = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
    stamp = str(request.headers["X-Amz-Date"])
    scope = f"{stamp[:8]}/{REGION}/s3/aws4_request"
    key = signing_key(ROOT_SECRET, stamp[:8], REGION)
    body = []
    for number, chunk in enumerate([*chunks, b""]):
        digest = hashlib.sha256(chunk).hexdigest()
        text = f"AWS4-HMAC-SHA256-PAYLOAD\n{stamp}\n{scope}\n{previous}\n{EMPTY_SHA256}\n{digest}"
        previous = sign(key, text)
        sent = bytes([chunk[0] ^ 1]) + chunk[1:] if number == tamper else chunk
        body.append(f"{len(sent):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n")
    sent_headers = dict(request.headers.items())
    target = url
    if send_to is not None:
        sent_headers["Host"] = urlsplit(url).netloc
        target = urlunsplit(urlsplit(url)._replace(netloc=send_to))
    return httpx.put(target, content=b"".join(body), headers=sent_headers)


CHUNKS = [b"a" * 8192, b"b" * 8192, b"c" * 100]


def test_streaming_signed_upload(s3: Any, bucket: str, base: str) -> None:
    response = chunked_put(f"{base}/streamed", CHUNKS)
    assert response.status_code == 200, response.text
    got = s3.get_object(Bucket=bucket, Key="streamed")
    assert got["Body"].read() == b"".join(CHUNKS)
    assert got.get("ContentEncoding") is None  # aws-chunked is framing, not stored


@pytest.mark.parametrize("tamper", [0, 1, 2])
def test_streaming_tampered_chunk_stores_nothing(
    s3: Any, bucket: str, base: str, tamper: int
) -> None:
    response = chunked_put(f"{base}/streamed", CHUNKS, tamper=tamper)
    fields = s3_error(response, 403, "SignatureDoesNotMatch")
    assert fields["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")
    assert not exists(s3, bucket, "streamed")
    s3.put_object(Bucket=bucket, Key="streamed", Body=b"kept")
    s3_error(chunked_put(f"{base}/streamed", CHUNKS, tamper=tamper), 403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=bucket, Key="streamed")["Body"].read() == b"kept"


# -- presigned URLs -----------------------------------------------------------------------


@pytest.fixture
def presigner(server: LiveServer) -> Any:
    return client(server, signature_version="s3v4")


def test_presigned_get_and_put(presigner: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"presigned get")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "obj"}, ExpiresIn=300
    )
    assert "X-Amz-Signature=" in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"presigned get"
    assert httpx.head(url).status_code == 403  # signed for GET

    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=300
    )
    response = httpx.put(url, content=b"presigned put")
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"presigned put"


def test_presigned_with_signed_headers_and_overrides(presigner: Any, s3: Any, bucket: str) -> None:
    params = {"Bucket": bucket, "Key": "typed", "ContentType": "text/plain"}
    params["Metadata"] = {"color": "blue"}
    url = presigner.generate_presigned_url("put_object", Params=params, ExpiresIn=300)
    assert "content-type%3Bhost%3Bx-amz-meta-color" in url
    headers = {"Content-Type": "text/plain", "x-amz-meta-color": "blue"}
    assert httpx.put(url, content=b"typed", headers=headers).status_code == 200
    head = s3.head_object(Bucket=bucket, Key="typed")
    assert (head["ContentType"], head["Metadata"]) == ("text/plain", {"color": "blue"})
    # The signed headers must be sent as signed.
    headers["Content-Type"] = "text/html"
    s3_error(httpx.put(url, content=b"evil", headers=headers), 403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=bucket, Key="typed")["Body"].read() == b"typed"

    params = {"Bucket": bucket, "Key": "typed", "ResponseContentType": "text/x-test"}
    params["ResponseContentDisposition"] = 'attachment; filename="a b.txt"'
    response = httpx.get(presigner.generate_presigned_url("get_object", Params=params))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-test"
    assert response.headers["content-disposition"] == 'attachment; filename="a b.txt"'


def test_presigned_url_is_bound_to_method_key_and_query(
    presigner: Any, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    s3.put_object(Bucket=bucket, Key="other", Body=b"y")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "obj"}, ExpiresIn=300
    )
    s3_error(httpx.delete(url), 403, "SignatureDoesNotMatch")
    s3_error(httpx.put(url, content=b"overwrite"), 403, "SignatureDoesNotMatch")
    s3_error(httpx.get(url.replace("/obj?", "/other?")), 403, "SignatureDoesNotMatch")
    s3_error(httpx.get(url + "&response-content-type=text/html"), 403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"x"


def test_presigned_expired(base: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"x")
    url = presign("GET", f"{base}/obj", expires=60, when=now() - timedelta(seconds=120))
    fields = s3_error(httpx.get(url), 403, "AccessDenied")
    assert fields["Message"] == "Request has expired"
    # Still valid a minute into a two-minute URL.
    url = presign("GET", f"{base}/obj", expires=120, when=now() - timedelta(seconds=60))
    assert httpx.get(url).content == b"x"


def test_presigned_not_yet_valid(base: str) -> None:
    url = presign("GET", f"{base}/obj", when=now() + timedelta(minutes=20))
    s3_error(httpx.get(url), 403, "AccessDenied")


def test_presigned_expires_over_a_week(base: str) -> None:
    url = presign("GET", f"{base}/obj", expires=604801)
    s3_error(httpx.get(url), 400, "AuthorizationQueryParametersError")
    # Exactly a week is allowed.
    response = httpx.get(presign("GET", f"{base}/obj", expires=604800))
    s3_error(response, 404, "NoSuchKey")


def test_presigned_with_unknown_key_and_wrong_secret(base: str) -> None:
    url = presign("GET", f"{base}/obj", creds=Credentials("DKNOSUCHKEY000000001", "x"))
    s3_error(httpx.get(url), 403, "InvalidAccessKeyId")
    url = presign("GET", f"{base}/obj", creds=Credentials(ROOT_KEY, "wrong"))
    s3_error(httpx.get(url), 403, "SignatureDoesNotMatch")


# -- virtual-hosted-style addressing ------------------------------------------------------


def test_virtual_hosted_style_with_boto3(vhost_server: LiveServer) -> None:
    s3 = vhost_client(vhost_server)
    name = f"vh-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="dir/a b+c", Body=b"virtual")
    assert s3.get_object(Bucket=name, Key="dir/a b+c")["Body"].read() == b"virtual"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["dir/a b+c"]
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "dir/a b+c"})
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=name, Key="mp")["Body"].read() == b"p"
    assert f"{name}.localhost:{vhost_server.port}" in s3.hosts_seen

    # A presigned URL for the virtual host works with that Host header.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "copy"})
    parts = urlsplit(url)
    assert parts.netloc == f"{name}.localhost:{vhost_server.port}"
    direct = urlunsplit(parts._replace(netloc=f"{vhost_server.host}:{vhost_server.port}"))
    response = httpx.get(direct, headers={"Host": parts.netloc})
    assert response.status_code == 200
    assert response.content == b"virtual"

    # The same bucket by path on the same server.
    path_style = client(vhost_server)
    assert path_style.get_object(Bucket=name, Key="copy")["Body"].read() == b"virtual"
    s3.delete_objects(
        Bucket=name, Delete={"Objects": [{"Key": k} for k in ("dir/a b+c", "copy", "mp")]}
    )
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in path_style.list_buckets()["Buckets"]]


def test_virtual_hosted_style_raw(vhost_server: LiveServer) -> None:
    name = f"vh-{uuid.uuid4().hex[:10]}"
    client(vhost_server).create_bucket(Bucket=name)
    direct = f"{vhost_server.host}:{vhost_server.port}"
    url = f"http://{name}.localhost:{vhost_server.port}"
    assert signed("PUT", f"{url}/obj", b"raw", send_to=direct).status_code == 200
    got = signed("GET", f"{url}/obj", send_to=direct)
    assert got.status_code == 200
    assert got.content == b"raw"
    listing = signed("GET", f"{url}/?list-type=2", send_to=direct)
    assert b"<Key>obj</Key>" in listing.content
    assert f"<Name>{name}</Name>".encode() in listing.content
    # Errors name the bucket taken from the host.
    fields = s3_error(signed("GET", f"{url}/missing", send_to=direct), 404, "NoSuchKey")
    assert fields["Resource"] == f"/{name}/missing"
    # A streaming upload to the virtual host, and a tampered one.
    assert chunked_put(f"{url}/chunked", CHUNKS, send_to=direct).status_code == 200
    assert signed("GET", f"{url}/chunked", send_to=direct).content == b"".join(CHUNKS)
    response = chunked_put(f"{url}/bad", CHUNKS, tamper=1, send_to=direct)
    s3_error(response, 403, "SignatureDoesNotMatch")
    s3_error(signed("GET", f"{url}/bad", send_to=direct), 404, "NoSuchKey")
    # Signed for the virtual host but sent with another Host: the signature breaks.
    request = AWSRequest(method="GET", url=f"{url}/obj")
    Signer(ROOT).add_auth(request)
    headers = {**dict(request.headers.items()), "Host": f"other.localhost:{vhost_server.port}"}
    s3_error(httpx.get(f"http://{direct}/obj", headers=headers), 403, "SignatureDoesNotMatch")
    for key in ("obj", "chunked"):
        signed("DELETE", f"{url}/{key}", send_to=direct)
    assert signed("DELETE", f"{url}/", send_to=direct).status_code == 204
