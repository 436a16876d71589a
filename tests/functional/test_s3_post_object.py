"""Browser uploads (POST Object with a POST policy) against the live server."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import psutil
import pytest
from botocore.exceptions import ClientError
from conftest import OTHER_KEY, OTHER_SECRET, ROOT_KEY, ROOT_SECRET, LiveServer, client

from dolium.frontends.s3.auth.sigv4 import signing_key

MIB = 1024 * 1024


def url(server: LiveServer, bucket: str) -> str:
    return f"{server.endpoint}/{bucket}"


def post(
    server: LiveServer,
    bucket: str,
    fields: dict[str, str],
    data: bytes = b"hello",
    filename: str = "hello.txt",
) -> httpx.Response:
    """The form as a browser sends it: fields in order, then the file."""
    return httpx.post(
        url(server, bucket), data=fields, files={"file": (filename, data, "text/plain")}
    )


def raw_form(parts: list[tuple[str, bytes, str | None]], boundary: str = "b0undary") -> bytes:
    """A multipart body built by hand: (name, value, filename or None) per part."""
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def post_raw(
    server: LiveServer, bucket: str, body: bytes, boundary: str = "b0undary"
) -> httpx.Response:
    content_type = f"multipart/form-data; boundary={boundary}"
    return httpx.post(url(server, bucket), content=body, headers={"content-type": content_type})


def error(response: httpx.Response) -> tuple[str, str, dict[str, str]]:
    root = ElementTree.fromstring(response.content)
    fields = {child.tag: child.text or "" for child in root}
    return fields["Code"], fields["Message"], fields


@pytest.fixture(scope="module")
def v4(server: LiveServer) -> Any:
    """A boto3 client that presigns POSTs with SigV4 (the default signs them with SigV2)."""
    return client(server, signature_version="s3v4")


def presign(signer: Any, bucket: str, key: str, **kwargs: Any) -> dict[str, str]:
    presigned = signer.generate_presigned_post(bucket, key, **kwargs)
    return dict(presigned["fields"])


def test_boto3_presigned_post(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(
        v4,
        bucket,
        "docs/a b.txt",
        Fields={"Content-Type": "text/plain", "x-amz-meta-color": "blue"},
        Conditions=[{"Content-Type": "text/plain"}, ["starts-with", "$x-amz-meta-color", ""]],
    )
    response = post(server, bucket, fields, b"hello world")
    assert response.status_code == 204, response.text
    md5 = hashlib.md5(b"hello world").hexdigest()
    assert response.headers["etag"] == f'"{md5}"'
    assert response.headers["location"] == f"{url(server, bucket)}/docs%2Fa%20b.txt"
    head = s3.head_object(Bucket=bucket, Key="docs/a b.txt")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"color": "blue"}
    assert s3.get_object(Bucket=bucket, Key="docs/a b.txt")["Body"].read() == b"hello world"


def test_success_action_status(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(
        v4,
        bucket,
        "k201",
        Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}],
    )
    response = post(server, bucket, fields, b"abc")
    assert response.status_code == 201, response.text
    root = ElementTree.fromstring(response.content)
    assert root.tag == "PostResponse"  # no namespace, as on S3
    values = {child.tag: child.text for child in root}
    assert values["Bucket"] == bucket
    assert values["Key"] == "k201"
    assert values["ETag"] == f'"{hashlib.md5(b"abc").hexdigest()}"'
    assert values["Location"] == f"{url(server, bucket)}/k201"
    fields = presign(
        v4,
        bucket,
        "k200",
        Fields={"success_action_status": "200"},
        Conditions=[{"success_action_status": "200"}],
    )
    response = post(server, bucket, fields)
    assert (response.status_code, response.content) == (200, b"")
    # A value S3 does not know is the default 204.
    fields = presign(
        v4,
        bucket,
        "k404",
        Fields={"success_action_status": "404"},
        Conditions=[{"success_action_status": "404"}],
    )
    assert post(server, bucket, fields).status_code == 204


def test_success_action_redirect(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    target = "http://app.example.test/done?from=form"
    fields = presign(
        v4,
        bucket,
        "up/photo.jpg",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "http://app.example.test/"]],
    )
    response = post(server, bucket, fields, b"jpeg")
    assert response.status_code == 303, response.text
    etag = hashlib.md5(b"jpeg").hexdigest()
    assert response.headers["location"] == (
        f"{target}&bucket={bucket}&key=up%2Fphoto.jpg&etag=%22{etag}%22"
    )
    # A redirect S3 cannot follow (relative) is ignored.
    fields = presign(
        v4,
        bucket,
        "up/other.jpg",
        Fields={"redirect": "/relative"},
        Conditions=[{"redirect": "/relative"}],
    )
    assert post(server, bucket, fields).status_code == 204


def test_filename_variable(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(v4, bucket, "uploads/${filename}")
    assert post(server, bucket, fields, b"one", filename="report.pdf").status_code == 204
    assert s3.get_object(Bucket=bucket, Key="uploads/report.pdf")["Body"].read() == b"one"
    # A path from an old browser: only what follows the last separator counts.
    parts = [(k, v.encode(), None) for k, v in fields.items()]
    body = raw_form([*parts, ("file", b"two", "C:\\Users\\me\\notes.txt")])
    assert post_raw(server, bucket, body).status_code == 204
    assert s3.get_object(Bucket=bucket, Key="uploads/notes.txt")["Body"].read() == b"two"


@pytest.mark.parametrize(
    ("size", "code", "extra"),
    [
        (12, "EntityTooLarge", {"ProposedSize": "12", "MaxSizeAllowed": "10"}),
        (1, "EntityTooSmall", {"ProposedSize": "1", "MinSizeAllowed": "5"}),
        (5, None, {}),
        (10, None, {}),
    ],
)
def test_content_length_range(
    server: LiveServer,
    s3: Any,
    v4: Any,
    bucket: str,
    size: int,
    code: str | None,
    extra: dict[str, str],
) -> None:
    fields = presign(v4, bucket, "sized", Conditions=[["content-length-range", 5, 10]])
    response = post(server, bucket, fields, b"x" * size)
    if code is None:
        assert response.status_code == 204, response.text
        assert s3.head_object(Bucket=bucket, Key="sized")["ContentLength"] == size
        return
    assert response.status_code == 400
    found, _, values = error(response)
    assert found == code
    assert {k: values[k] for k in extra} == extra
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="sized")  # nothing is stored


def test_expired_policy(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(v4, bucket, "late", ExpiresIn=-60)
    response = post(server, bucket, fields)
    assert response.status_code == 403
    assert error(response)[:2] == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_tampered_signature_and_policy(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(v4, bucket, "t")
    signature = fields["x-amz-signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    response = post(server, bucket, {**fields, "x-amz-signature": flipped})
    assert response.status_code == 403
    code, _, values = error(response)
    assert code == "SignatureDoesNotMatch"
    assert values["StringToSign"] == fields["policy"]
    # A policy widened after signing is refused the same way.
    document = json.loads(base64.b64decode(fields["policy"]))
    document["conditions"].append(["starts-with", "$x-amz-meta-a", ""])
    forged = base64.b64encode(json.dumps(document).encode()).decode()
    response = post(server, bucket, {**fields, "policy": forged, "x-amz-meta-a": "1"})
    assert (response.status_code, error(response)[0]) == (403, "SignatureDoesNotMatch")


def test_unknown_access_key_and_missing_fields(
    server: LiveServer, s3: Any, v4: Any, bucket: str
) -> None:
    fields = presign(v4, bucket, "t")
    credential = "DKNOSUCHKEY" + fields["x-amz-credential"][len(ROOT_KEY) :]
    response = post(server, bucket, {**fields, "x-amz-credential": credential})
    assert (response.status_code, error(response)[0]) == (403, "InvalidAccessKeyId")
    without = {k: v for k, v in fields.items() if k != "x-amz-signature"}
    response = post(server, bucket, without)
    assert response.status_code == 400
    code, message, values = error(response)
    assert code == "InvalidArgument"
    assert message == (
        "Bucket POST must contain a field named 'X-Amz-Signature'.  "
        "If it is specified, please check the order of the fields."
    )
    assert values["ArgumentName"] == "X-Amz-Signature"


def test_missing_key_field(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(v4, bucket, "k")
    response = post(server, bucket, {k: v for k, v in fields.items() if k != "key"})
    assert response.status_code == 400
    code, message, values = error(response)
    assert (code, values["ArgumentName"]) == ("InvalidArgument", "key")
    assert message.startswith("Bucket POST must contain a field named 'key'.")
    # A key after the file is not read: fields after the file are ignored.
    parts = [(k, v.encode(), None) for k, v in fields.items() if k != "key"]
    body = raw_form([*parts, ("file", b"data", "f.txt"), ("key", b"k", None)])
    response = post_raw(server, bucket, body)
    assert (response.status_code, error(response)[2]["ArgumentName"]) == (400, "key")


def test_condition_failures(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    fields = presign(
        v4,
        bucket,
        "c",
        Fields={"Content-Type": "text/html"},
        Conditions=[["eq", "$Content-Type", "text/plain"]],
    )
    response = post(server, bucket, fields)
    assert response.status_code == 403
    assert error(response)[:2] == (
        "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", '
        '"text/plain"]',
    )
    fields = presign(v4, bucket, "c")
    response = post(server, bucket, {**fields, "X-Amz-Meta-Extra": "1"})
    assert response.status_code == 403
    assert error(response)[1] == "Invalid according to Policy: Extra input fields: X-Amz-Meta-Extra"
    # x-ignore-* fields need no condition.
    assert post(server, bucket, {**fields, "x-ignore-submit": "Upload"}).status_code == 204


def test_posted_to_another_bucket(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    other = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=other)
    try:
        fields = presign(v4, bucket, "k")
        response = post(server, other, fields)
        assert response.status_code == 403
        assert '["eq", "$bucket"' in error(response)[1]
    finally:
        s3.delete_bucket(Bucket=other)


def test_case_insensitive_names_and_trailing_fields(
    server: LiveServer, s3: Any, v4: Any, bucket: str
) -> None:
    fields = presign(
        v4, bucket, "cased", Fields={"acl": "private"}, Conditions=[{"AcL": "private"}]
    )
    renamed = {"key": "KEY", "policy": "Policy", "x-amz-signature": "X-Amz-Signature"}
    parts = [(renamed.get(k, k), v.encode(), None) for k, v in fields.items()]
    # requests-style: every part with a filename, and a submit button after the file.
    parts = [(name, value, name) for name, value, _ in parts]
    body = raw_form([*parts, ("FILE", b"cased body", "c.txt"), ("submit", b"Upload", None)])
    response = post_raw(server, bucket, body)
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=bucket, Key="cased")["Body"].read() == b"cased body"


def test_form_errors(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    response = httpx.post(
        url(server, bucket), content=b"a=b", headers={"content-type": "text/html"}
    )
    assert response.status_code == 412
    code, _, values = error(response)
    assert code == "PreconditionFailed"
    assert values["Condition"] == "Bucket POST must be of the enclosure-type multipart/form-data"
    response = httpx.post(
        url(server, bucket), content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert error(response)[:2] == (
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
    )
    fields = presign(v4, bucket, "trunc")
    parts = [(k, v.encode(), None) for k, v in fields.items()]
    body = raw_form([*parts, ("file", b"abcdef", "f")])
    truncated = body[: body.index(b"abcdef") + 3]
    response = post_raw(server, bucket, truncated)
    assert (response.status_code, error(response)[0]) == (400, "MalformedPOSTRequest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="trunc")
    response = post_raw(server, bucket, raw_form([*parts, ("pad", b"x" * 21000, None)]))
    code, _, values = error(response)
    assert (code, values["MaxPostPreDataLengthBytes"]) == ("MaxPostPreDataLengthExceeded", "20480")
    response = post_raw(server, bucket, raw_form(parts))
    code, message, values = error(response)
    assert (code, values["ArgumentName"], values["ArgumentValue"]) == (
        "InvalidArgument",
        "file",
        "0",
    )
    assert message == "POST requires exactly one file upload per request."


def test_malformed_policy_document(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    # A well-signed document that is not a policy: signed here by hand.
    fields = presign(v4, bucket, "p")
    document = base64.b64encode(b'{"expiration": "2099-01-01T00:00:00Z", "conditions": {}}')
    date = fields["x-amz-date"][:8]
    key = signing_key(ROOT_SECRET, date, "us-east-1")
    signature = hmac.new(key, document, hashlib.sha256).hexdigest()
    response = post(
        server, bucket, {**fields, "policy": document.decode(), "x-amz-signature": signature}
    )
    assert response.status_code == 400
    assert error(response)[:2] == (
        "InvalidPolicyDocument",
        "Invalid Policy: Invalid 'conditions' value: must be a List.",
    )


def test_sigv2_policy(server: LiveServer, bucket: str) -> None:
    v2 = client(server, signature_version="s3")
    fields = presign(v2, bucket, "v2/${filename}")
    assert set(fields) >= {"AWSAccessKeyId", "signature", "policy"}
    assert post(server, bucket, fields, b"v2 data", filename="f.bin").status_code == 204
    response = post(server, bucket, {**fields, "signature": "AAAA" + fields["signature"][4:]})
    assert (response.status_code, error(response)[0]) == (403, "SignatureDoesNotMatch")


def test_anonymous_upload(server: LiveServer, s3: Any, bucket: str) -> None:
    fields = {"key": "public/anon.txt", "Content-Type": "text/plain"}
    response = post(server, bucket, fields, b"from anyone")
    assert (response.status_code, error(response)[0]) == (403, "AccessDenied")
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/public/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    response = post(server, bucket, fields, b"from anyone")
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=bucket, Key="public/anon.txt")["Body"].read() == b"from anyone"
    response = post(server, bucket, {"key": "private/anon.txt"}, b"x")
    assert (response.status_code, error(response)[0]) == (403, "AccessDenied")


def test_policy_conditions_see_form_fields(server: LiveServer, s3: Any, bucket: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    response = post(server, bucket, {"key": "k"})
    assert (response.status_code, error(response)[0]) == (403, "AccessDenied")
    response = post(server, bucket, {"key": "k", "acl": "bucket-owner-full-control"})
    assert response.status_code == 204, response.text
    response = post(server, bucket, {"key": "k", "acl": "no-such-acl"})
    assert (response.status_code, error(response)[0]) == (400, "InvalidArgument")


def test_other_tenant_needs_permission(server: LiveServer, bucket: str) -> None:
    fields = presign(
        client(server, OTHER_KEY, OTHER_SECRET, signature_version="s3v4"), bucket, "theirs"
    )
    response = post(server, bucket, fields)
    assert (response.status_code, error(response)[0]) == (403, "AccessDenied")


def _rss(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    return total


def _growth(server: LiveServer, send: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    """The response, and how far the server's RSS rose above its level before the call."""
    process = psutil.Process(server.process.pid)
    baseline = peak = _rss(process)
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, _rss(process))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        response = send()
    finally:
        done.set()
        watcher.join()
    return response, peak - baseline


def test_large_upload_streams(server: LiveServer, s3: Any, v4: Any, bucket: str) -> None:
    size = 30 * MIB
    block = bytes(range(256)) * 4096  # 1 MiB
    md5 = hashlib.md5(block * (size // len(block))).hexdigest()

    def blocks() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    # The same bytes by PutObject first: what the object writer itself holds.
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "put.bin"})
    put, put_growth = _growth(
        server,
        lambda: httpx.put(put_url, content=blocks(), headers={"content-length": str(size)}),
    )
    assert put.status_code == 200, put.text

    fields = presign(v4, bucket, "big.bin", Conditions=[["content-length-range", 0, size]])
    boundary = "big-upload-boundary"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    file_part = 'Content-Disposition: form-data; name="file"; filename="b"'
    head += f"--{boundary}\r\n{file_part}\r\n\r\n".encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from blocks()
        yield tail

    response, growth = _growth(
        server,
        lambda: httpx.post(
            url(server, bucket),
            content=body(),
            headers={
                "content-type": f"multipart/form-data; boundary={boundary}",
                "content-length": str(len(head) + size + len(tail)),
            },
            timeout=120,
        ),
    )
    assert response.status_code == 204, response.text
    assert response.headers["etag"] == f'"{md5}"'
    assert s3.head_object(Bucket=bucket, Key="big.bin")["ContentLength"] == size
    # A form held whole in memory would add the file's 30 MiB to what PUT
    # needs; allocator noise stays well under half of that.
    assert growth < put_growth + size // 2, (
        f"POST grew the server by {growth / MIB:.1f} MiB, PUT by {put_growth / MIB:.1f} MiB"
    )


def test_minio_presigned_post_policy(server: LiveServer, bucket: str) -> None:
    minio = pytest.importorskip("minio")
    from minio.datatypes import PostPolicy

    mc = minio.Minio(
        f"{server.host}:{server.port}",
        access_key=ROOT_KEY,
        secret_key=ROOT_SECRET,
        secure=False,
        region="us-east-1",
    )
    policy = PostPolicy(bucket, datetime.now(UTC) + timedelta(minutes=10))
    policy.add_starts_with_condition("key", "minio/")
    policy.add_equals_condition("Content-Type", "image/png")
    policy.add_content_length_range_condition(1, MIB)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's utcnow()
        form = mc.presigned_post_policy(policy)
    fields = {**form, "key": "minio/pic.png", "Content-Type": "image/png"}
    response = post(server, bucket, fields, b"\x89PNG...")
    assert response.status_code == 204, response.text
    stat = mc.stat_object(bucket, "minio/pic.png")
    assert (stat.size, stat.content_type) == (7, "image/png")
    response = post(server, bucket, {**fields, "key": "elsewhere/pic.png"}, b"\x89PNG...")
    assert response.status_code == 403
    assert '["starts-with", "$key", "minio/"]' in error(response)[1]
