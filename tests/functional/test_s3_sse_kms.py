"""SSE-KMS over the wire with boto3: named keys of the built-in key service,
encryption contexts, the bucket key flag, bucket default aws:kms, the errors
S3 answers, bucket policy conditions, and what lands on disk.

A server of its own accepts SSE-KMS and SSE-C over plain HTTP
(DOLIUM_SSE_KMS_REQUIRE_TLS=false); keys are made with `dolium kms key`.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError
from conftest import LiveServer, aws_cli, client, fresh_bucket, needs_aws, own_server

MARKER = b"KMS-PLAINTEXT-MARKER-41d2e7"
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(range(32))}
KMS = {"ServerSideEncryption": "aws:kms"}
MIB = 1024 * 1024

kms_server = own_server(
    "kms", {"DOLIUM_SSE_KMS_REQUIRE_TLS": "false", "DOLIUM_SSE_C_REQUIRE_TLS": "false"}
)


@pytest.fixture(scope="module")
def s3k(kms_server: LiveServer) -> Any:
    return client(kms_server)


@pytest.fixture
def jar(s3k: Any) -> Iterator[str]:
    with fresh_bucket(s3k, "kms") as name:
        yield name


def make_key(server: LiveServer, alias: str | None = None) -> str:
    args = ["kms", "key", "create"] + (["--alias", alias] if alias else [])
    return server.admin(*args).strip()


def arn(key_id: str) -> str:
    return f"arn:aws:kms:us-east-1:000000000000:key/{key_id}"


def marked(size: int, marker: bytes = MARKER) -> bytes:
    """Random data with a marker every 64 KiB, to look for at rest."""
    data = bytearray(os.urandom(size))
    for at in range(0, size - len(marker), 64 * 1024):
        data[at : at + len(marker)] = marker
    return bytes(data)


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def context(pairs: dict[str, str]) -> str:
    return base64.b64encode(json.dumps(pairs).encode()).decode()


# -- PUT, GET, HEAD ----------------------------------------------------------------------


def test_default_key_round_trip(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    data = marked(300 * 1024)
    put = s3k.put_object(Bucket=jar, Key="d", Body=data, **KMS)
    assert put["ServerSideEncryption"] == "aws:kms"
    listed = json.loads(kms_server.admin("kms", "key", "list", "--json"))
    default = next(k for k in listed if k["default"])
    assert default["alias"] == "alias/aws/s3"
    assert put["SSEKMSKeyId"] == arn(default["id"])
    got = s3k.get_object(Bucket=jar, Key="d")
    assert got["Body"].read() == data
    assert got["ServerSideEncryption"] == "aws:kms" and got["SSEKMSKeyId"] == put["SSEKMSKeyId"]
    head = s3k.head_object(Bucket=jar, Key="d")
    assert head["ServerSideEncryption"] == "aws:kms" and head["ContentLength"] == len(data)
    assert "BucketKeyEnabled" not in head and "SSEKMSEncryptionContext" not in head
    part = s3k.get_object(Bucket=jar, Key="d", Range="bytes=1000-200000")
    assert part["Body"].read() == data[1000:200001]


@pytest.mark.parametrize("form", ["id", "arn", "alias", "alias-arn"])
def test_named_key_by_id_arn_or_alias(
    s3k: Any, kms_server: LiveServer, jar: str, form: str
) -> None:
    name = f"app-{uuid.uuid4().hex[:8]}"
    key_id = make_key(kms_server, name)
    given = {
        "id": key_id,
        "arn": f"arn:aws:kms:eu-west-1:123456789012:key/{key_id}",
        "alias": f"alias/{name}",
        "alias-arn": f"arn:aws:kms:us-east-1:123456789012:alias/{name}",
    }[form]
    put = s3k.put_object(Bucket=jar, Key="n", Body=b"named", SSEKMSKeyId=given, **KMS)
    assert put["SSEKMSKeyId"] == arn(key_id)
    got = s3k.get_object(Bucket=jar, Key="n")
    assert got["Body"].read() == b"named" and got["SSEKMSKeyId"] == arn(key_id)
    assert s3k.head_object(Bucket=jar, Key="n")["SSEKMSKeyId"] == arn(key_id)


def test_encryption_context_and_bucket_key(s3k: Any, jar: str) -> None:
    ctx = context({"project": "dolium", "team": "storage"})
    put = s3k.put_object(
        Bucket=jar,
        Key="c",
        Body=b"in context",
        SSEKMSEncryptionContext=ctx,
        BucketKeyEnabled=True,
        **KMS,
    )
    assert put["BucketKeyEnabled"] is True and put["SSEKMSEncryptionContext"] == ctx
    # S3 says the context on writes only; reads say the key and the flag.
    head = s3k.head_object(Bucket=jar, Key="c")
    assert head["BucketKeyEnabled"] is True and "SSEKMSEncryptionContext" not in head
    got = s3k.get_object(Bucket=jar, Key="c")
    assert got["Body"].read() == b"in context" and got["BucketKeyEnabled"] is True
    # A copy keeps the context only when the request sends it again, as on S3.
    copy = {"Bucket": jar, "Key": "c"}
    again = s3k.copy_object(
        Bucket=jar, Key="c2", CopySource=copy, SSEKMSEncryptionContext=ctx, **KMS
    )
    assert again["SSEKMSEncryptionContext"] == ctx
    bare = s3k.copy_object(Bucket=jar, Key="c3", CopySource=copy, **KMS)
    assert "SSEKMSEncryptionContext" not in bare
    assert s3k.get_object(Bucket=jar, Key="c2")["Body"].read() == b"in context"
    with pytest.raises(ClientError) as exc:
        s3k.put_object(Bucket=jar, Key="x", Body=b"x", SSEKMSEncryptionContext="not json", **KMS)
    assert code_of(exc) == (400, "InvalidArgument")


# -- errors ------------------------------------------------------------------------------


def test_unknown_and_disabled_keys(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3k.put_object(Bucket=jar, Key="u", Body=b"x", SSEKMSKeyId=str(uuid.uuid4()), **KMS)
    assert code_of(exc) == (400, "KMS.NotFoundException")
    key_id = make_key(kms_server)
    s3k.put_object(Bucket=jar, Key="before", Body=b"before", SSEKMSKeyId=key_id, **KMS)
    kms_server.admin("kms", "key", "disable", key_id)
    try:
        with pytest.raises(ClientError) as exc:
            s3k.put_object(Bucket=jar, Key="d", Body=b"x", SSEKMSKeyId=key_id, **KMS)
        assert code_of(exc) == (400, "KMS.DisabledException")
        with pytest.raises(ClientError) as exc:
            s3k.get_object(Bucket=jar, Key="before")
        assert code_of(exc) == (400, "KMS.DisabledException")
    finally:
        kms_server.admin("kms", "key", "enable", key_id)
    assert s3k.get_object(Bucket=jar, Key="before")["Body"].read() == b"before"


def test_conflicting_or_incomplete_headers(s3k: Any, jar: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3k.put_object(Bucket=jar, Key="x", Body=b"x", **KMS, **SSE_C)
    assert code_of(exc) == (400, "InvalidArgument")
    # A key id without aws:kms is refused, as S3 refuses it.
    with pytest.raises(ClientError) as exc:
        s3k.put_object(Bucket=jar, Key="x", Body=b"x", SSEKMSKeyId="alias/aws/s3")
    assert code_of(exc) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        s3k.put_object(
            Bucket=jar, Key="x", Body=b"x", ServerSideEncryption="AES256", SSEKMSKeyId="k"
        )
    assert code_of(exc) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        s3k.put_object(Bucket=jar, Key="x", Body=b"x", ServerSideEncryption="aws:kms:dsse")
    assert code_of(exc) == (501, "NotImplemented")


def test_signature_v2_is_refused(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    v2 = client(kms_server, signature_version="s3")
    with pytest.raises(ClientError) as exc:
        v2.put_object(Bucket=jar, Key="v2", Body=b"x", **KMS)
    assert code_of(exc) == (400, "InvalidArgument")
    assert "Signature Version 4" in exc.value.response["Error"]["Message"]
    s3k.put_object(Bucket=jar, Key="v4", Body=b"x", **KMS)
    with pytest.raises(ClientError) as exc:
        v2.get_object(Bucket=jar, Key="v4")
    assert code_of(exc) == (400, "InvalidArgument")
    with pytest.raises(ClientError) as exc:
        v2.copy_object(Bucket=jar, Key="v2copy", CopySource={"Bucket": jar, "Key": "v4"})
    assert code_of(exc) == (400, "InvalidArgument")
    # Anonymous readers too, even where a policy lets them read.
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{jar}/*",
    }
    s3k.put_bucket_policy(
        Bucket=jar, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
    )
    anon = client(kms_server, signature_version=UNSIGNED)
    with pytest.raises(ClientError) as exc:
        anon.get_object(Bucket=jar, Key="v4")
    assert code_of(exc) == (400, "InvalidArgument")
    # Data not under SSE-KMS reads with SigV2 as before.
    s3k.put_object(Bucket=jar, Key="plain", Body=b"plain")
    assert v2.get_object(Bucket=jar, Key="plain")["Body"].read() == b"plain"


# -- copy, multipart, POST ---------------------------------------------------------------


def test_copy_into_and_out_of_kms(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    key_id = make_key(kms_server)
    data = marked(200 * 1024)
    s3k.put_object(Bucket=jar, Key="plain", Body=data)
    copied = s3k.copy_object(
        Bucket=jar, Key="k1", CopySource={"Bucket": jar, "Key": "plain"}, SSEKMSKeyId=key_id, **KMS
    )
    assert copied["ServerSideEncryption"] == "aws:kms" and copied["SSEKMSKeyId"] == arn(key_id)
    assert s3k.get_object(Bucket=jar, Key="k1")["Body"].read() == data
    # From one KMS key to another (the default), then out to SSE-S3 and to clear.
    again = s3k.copy_object(Bucket=jar, Key="k2", CopySource={"Bucket": jar, "Key": "k1"}, **KMS)
    assert again["SSEKMSKeyId"] != arn(key_id)
    assert s3k.get_object(Bucket=jar, Key="k2")["Body"].read() == data
    s3 = s3k.copy_object(
        Bucket=jar, Key="s3", CopySource={"Bucket": jar, "Key": "k1"}, ServerSideEncryption="AES256"
    )
    assert s3["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in s3
    clear = s3k.copy_object(Bucket=jar, Key="clear", CopySource={"Bucket": jar, "Key": "k1"})
    assert "ServerSideEncryption" not in clear
    assert s3k.get_object(Bucket=jar, Key="clear")["Body"].read() == data


def test_multipart_parts_inherit_the_key(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    key_id = make_key(kms_server)
    ctx = context({"upload": "mp"})
    upload = s3k.create_multipart_upload(
        Bucket=jar, Key="mp", SSEKMSKeyId=arn(key_id), SSEKMSEncryptionContext=ctx, **KMS
    )
    assert upload["ServerSideEncryption"] == "aws:kms" and upload["SSEKMSKeyId"] == arn(key_id)
    parts = [marked(5 * MIB), marked(MIB)]
    done = []
    for number, body in enumerate(parts, 1):
        part = s3k.upload_part(
            Bucket=jar, Key="mp", UploadId=upload["UploadId"], PartNumber=number, Body=body
        )
        assert part["ServerSideEncryption"] == "aws:kms" and part["SSEKMSKeyId"] == arn(key_id)
        done.append({"PartNumber": number, "ETag": part["ETag"]})
    completed = s3k.complete_multipart_upload(
        Bucket=jar, Key="mp", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    assert completed["ServerSideEncryption"] == "aws:kms"
    assert completed["SSEKMSKeyId"] == arn(key_id)
    got = s3k.get_object(Bucket=jar, Key="mp")
    assert got["Body"].read() == b"".join(parts)
    assert got["SSEKMSKeyId"] == arn(key_id)
    assert upload["SSEKMSEncryptionContext"] == ctx


def test_post_object_with_kms(kms_server: LiveServer, s3k: Any, jar: str) -> None:
    key_id = make_key(kms_server)
    fields = {"x-amz-server-side-encryption": "aws:kms"}
    fields["x-amz-server-side-encryption-aws-kms-key-id"] = key_id
    v4 = client(kms_server, signature_version="s3v4")
    conditions: list[Any] = [{k: v} for k, v in fields.items()]
    form = v4.generate_presigned_post(jar, "posted", Fields=fields, Conditions=conditions)
    response = httpx.post(
        form["url"], data=form["fields"], files={"file": ("f", b"posted data", "text/plain")}
    )
    assert response.status_code == 204, response.text
    assert response.headers["x-amz-server-side-encryption"] == "aws:kms"
    assert response.headers["x-amz-server-side-encryption-aws-kms-key-id"] == arn(key_id)
    got = s3k.get_object(Bucket=jar, Key="posted")
    assert got["Body"].read() == b"posted data" and got["SSEKMSKeyId"] == arn(key_id)


# -- bucket default and policy -----------------------------------------------------------


def test_bucket_default_kms(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    key_id = make_key(kms_server)
    rule = {
        "ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": arn(key_id),
        },
        "BucketKeyEnabled": True,
    }
    s3k.put_bucket_encryption(Bucket=jar, ServerSideEncryptionConfiguration={"Rules": [rule]})
    got = s3k.get_bucket_encryption(Bucket=jar)["ServerSideEncryptionConfiguration"]["Rules"]
    assert got == [rule]
    put = s3k.put_object(Bucket=jar, Key="dflt", Body=b"by default")
    assert put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == arn(key_id)
    assert put["BucketKeyEnabled"] is True
    upload = s3k.create_multipart_upload(Bucket=jar, Key="mp")
    assert upload["SSEKMSKeyId"] == arn(key_id)
    s3k.abort_multipart_upload(Bucket=jar, Key="mp", UploadId=upload["UploadId"])
    # Headers win over the default.
    own = s3k.put_object(Bucket=jar, Key="own", Body=b"x", ServerSideEncryption="AES256")
    assert own["ServerSideEncryption"] == "AES256"
    # Without a key id, the default is the service's default key.
    plain_rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    s3k.put_bucket_encryption(Bucket=jar, ServerSideEncryptionConfiguration={"Rules": [plain_rule]})
    other = s3k.put_object(Bucket=jar, Key="dflt2", Body=b"x")
    assert other["ServerSideEncryption"] == "aws:kms" and other["SSEKMSKeyId"] != arn(key_id)
    bad = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}
    with pytest.raises(ClientError) as exc:
        s3k.put_bucket_encryption(Bucket=jar, ServerSideEncryptionConfiguration={"Rules": [bad]})
    assert code_of(exc) == (400, "InvalidArgument")


def test_bucket_default_kms_needs_sigv4(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    # A write that would fall to an SSE-KMS default is refused to SigV2 and
    # anonymous callers as if they had asked for aws:kms themselves.
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    s3k.put_bucket_encryption(Bucket=jar, ServerSideEncryptionConfiguration={"Rules": [rule]})
    v2 = client(kms_server, signature_version="s3")

    def refused(call: Any, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        assert code_of(exc) == (400, "InvalidArgument")
        error = exc.value.response["Error"]
        assert error["Message"] == (
            "Requests specifying Server Side Encryption with AWS KMS managed keys require "
            "AWS Signature Version 4."
        )
        assert error["ArgumentName"] == "Authorization"

    refused(v2.put_object, Bucket=jar, Key="v2", Body=b"x")
    refused(v2.create_multipart_upload, Bucket=jar, Key="v2mp")
    with fresh_bucket(s3k, "plain") as plain:
        s3k.put_object(Bucket=plain, Key="src", Body=b"src")
        refused(
            v2.copy_object, Bucket=jar, Key="v2copy", CopySource={"Bucket": plain, "Key": "src"}
        )
    upload = s3k.create_multipart_upload(Bucket=jar, Key="mp")["UploadId"]
    refused(v2.upload_part, Bucket=jar, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")
    s3k.abort_multipart_upload(Bucket=jar, Key="mp", UploadId=upload)
    public = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{jar}/*",
    }
    s3k.put_bucket_policy(
        Bucket=jar, Policy=json.dumps({"Version": "2012-10-17", "Statement": [public]})
    )
    anon = client(kms_server, signature_version=UNSIGNED)
    refused(anon.put_object, Bucket=jar, Key="anon", Body=b"x")
    # A form signed with a SigV2 policy, likewise.
    form = v2.generate_presigned_post(jar, "form")
    response = httpx.post(form["url"], data=form["fields"], files={"file": ("f", b"x")})
    assert response.status_code == 400, response.text
    assert b"<Code>InvalidArgument</Code>" in response.content
    listed = s3k.list_objects_v2(Bucket=jar).get("Contents", [])
    assert listed == []
    # Asking for another encryption, or signing with SigV4, is not refused.
    v2.put_object(Bucket=jar, Key="s3", Body=b"x", ServerSideEncryption="AES256")
    assert s3k.put_object(Bucket=jar, Key="v4", Body=b"x")["ServerSideEncryption"] == "aws:kms"


def test_policy_requires_kms_with_a_key(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    key_id = make_key(kms_server)
    resource = f"arn:aws:s3:::{jar}/*"
    statements = [
        {
            "Sid": "OnlyKms",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": resource,
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
        {
            "Sid": "OnlyThisKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": resource,
            "Condition": {
                "StringNotEqualsIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": arn(key_id)
                }
            },
        },
    ]
    policy = {"Version": "2012-10-17", "Statement": statements}
    s3k.put_bucket_policy(Bucket=jar, Policy=json.dumps(policy))
    try:
        for refused in ({}, {"ServerSideEncryption": "AES256"}, {**KMS, "SSEKMSKeyId": "x"}):
            with pytest.raises(ClientError) as exc:
                s3k.put_object(Bucket=jar, Key="p", Body=b"x", **refused)
            assert code_of(exc) == (403, "AccessDenied")
        put = s3k.put_object(Bucket=jar, Key="p", Body=b"x", SSEKMSKeyId=arn(key_id), **KMS)
        assert put["SSEKMSKeyId"] == arn(key_id)
    finally:
        s3k.delete_bucket_policy(Bucket=jar)


# -- at rest, rotation, older objects ----------------------------------------------------


def test_rotation_and_data_at_rest(s3k: Any, kms_server: LiveServer, jar: str) -> None:
    key_id = make_key(kms_server, f"rot-{uuid.uuid4().hex[:8]}")
    # A marker of its own: other tests here store marked data in clear.
    marker = f"KMS-AT-REST-{uuid.uuid4().hex}".encode()
    data = marked(600 * 1024, marker)
    s3k.put_object(Bucket=jar, Key="old", Body=data, SSEKMSKeyId=key_id, **KMS)
    kms_server.admin("kms", "key", "rotate", key_id)
    s3k.put_object(Bucket=jar, Key="new", Body=data[::-1], SSEKMSKeyId=key_id, **KMS)
    listed = json.loads(kms_server.admin("kms", "key", "list", "--json"))
    assert next(k for k in listed if k["id"] == key_id)["rotations"] == 1
    assert s3k.get_object(Bucket=jar, Key="old")["Body"].read() == data
    assert s3k.get_object(Bucket=jar, Key="new")["Body"].read() == data[::-1]
    for path in kms_server.data.rglob("*"):
        if path.is_file() and not path.name.endswith(".log"):
            assert marker not in path.read_bytes(), path
    keyring = kms_server.data / "kms-keys.json"
    assert keyring.stat().st_mode & 0o777 == 0o600
    # The check can fail: the same data in clear is found.
    s3k.put_object(Bucket=jar, Key="clear", Body=data)
    assert any(marker in p.read_bytes() for p in kms_server.data.rglob("*") if p.is_file())


def test_sse_s3_and_sse_c_objects_still_read(s3k: Any, jar: str) -> None:
    s3k.put_object(Bucket=jar, Key="s3", Body=b"sse-s3", ServerSideEncryption="AES256")
    s3k.put_object(Bucket=jar, Key="c", Body=b"sse-c", **SSE_C)
    s3k.put_object(Bucket=jar, Key="k", Body=b"sse-kms", **KMS)
    got = s3k.get_object(Bucket=jar, Key="s3")
    assert got["Body"].read() == b"sse-s3" and got["ServerSideEncryption"] == "AES256"
    assert "SSEKMSKeyId" not in got
    assert s3k.get_object(Bucket=jar, Key="c", **SSE_C)["Body"].read() == b"sse-c"
    # A customer key for SSE-KMS data is refused, as for SSE-S3 data.
    with pytest.raises(ClientError) as exc:
        s3k.get_object(Bucket=jar, Key="k", **SSE_C)
    assert code_of(exc)[0] == 400


@pytest.mark.client
@needs_aws
def test_aws_cli_kms(kms_server: LiveServer, s3k: Any, jar: str, tmp_path: Path) -> None:
    run = aws_cli(kms_server.endpoint, tmp_path)
    key_id = make_key(kms_server)
    source = tmp_path / "file.bin"
    source.write_bytes(marked(10 * MIB))  # over the CLI's 8 MiB: a multipart upload
    target = f"s3://{jar}/cli"
    run(
        "s3",
        "cp",
        "--no-progress",
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        key_id,
        str(source),
        target,
    )
    head = s3k.head_object(Bucket=jar, Key="cli")
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == arn(key_id)
    down = tmp_path / "down.bin"
    run("s3", "cp", "--no-progress", target, str(down))
    assert down.read_bytes() == source.read_bytes()
    refused = run(
        "s3api", "put-object", "--bucket", jar, "--key", "nokey", "--body", str(source),
        "--server-side-encryption", "aws:kms", "--ssekms-key-id", "alias/missing", check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "KMS.NotFoundException" in refused.stderr


def test_kms_over_plain_http_is_refused(server: LiveServer, s3: Any, bucket: str) -> None:
    """The shared server keeps S3's refusal of SSE-KMS over plain HTTP, forms included."""
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", **KMS)
    assert code_of(exc) == (400, "InvalidArgument")
    assert "secure connection" in exc.value.response["Error"]["Message"]
    fields = {"x-amz-server-side-encryption": "aws:kms"}
    v4 = client(server, signature_version="s3v4")
    form = v4.generate_presigned_post(bucket, "posted", Fields=fields, Conditions=[fields])
    response = httpx.post(
        form["url"], data=form["fields"], files={"file": ("f", b"x", "text/plain")}
    )
    assert response.status_code == 400 and b"secure connection" in response.content
