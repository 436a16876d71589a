"""S3 bucket default encryption: Get/Put/DeleteBucketEncryption.

SSE-S3 (AES256) or SSE-KMS (aws:kms, with an optional KMSMasterKeyID: a key
id, alias or ARN, kept as given) can be a default; aws:kms:dsse is
NotImplemented. A bucket without a configuration answers
ServerSideEncryptionConfigurationNotFoundError on Get, as S3 did before it
encrypted every bucket by default: here data without a default and without
headers is stored in clear.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from dolium.core.content.sse import ALGORITHM, KMS_ALGORITHM, DefaultEncryption
from dolium.core.store import Store
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, not_found, read_checked_body
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request
from dolium.frontends.s3.wire.sse_headers import KMS_ALGORITHMS


def _single(element: Element, name: str) -> str | None:
    child = xml._only(element, name)
    return xml._text(child).strip() if child is not None else None


def parse_encryption(body: bytes) -> DefaultEncryption:
    """The one rule of a PutBucketEncryption body."""
    root = xml._parse(body, "ServerSideEncryptionConfiguration")
    rules = [child for tag, child in xml._children(root) if tag == "Rule"]
    if len(rules) != 1 or len(rules) != len(root):
        raise xml.malformed()
    rule = rules[0]
    default = xml._only(rule, "ApplyServerSideEncryptionByDefault")
    if default is None:
        raise xml.malformed()
    algorithm = _single(default, "SSEAlgorithm")
    if algorithm is None or algorithm not in (ALGORITHM, *KMS_ALGORITHMS):
        raise xml.malformed()
    if algorithm != KMS_ALGORITHM and algorithm in KMS_ALGORITHMS:
        raise S3Error(
            501, "NotImplemented", "DSSE-KMS default encryption is not implemented by this server"
        )
    kms_key = _single(default, "KMSMasterKeyID")
    if kms_key is not None and algorithm != KMS_ALGORITHM:
        raise S3Error(
            400,
            "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
            "aws:kms:dsse",
        )
    bucket_key = _single(rule, "BucketKeyEnabled")
    enabled = xml._boolean(bucket_key) if bucket_key is not None else False
    return DefaultEncryption(algorithm, enabled, kms_key or None)


def render_encryption(default: DefaultEncryption) -> bytes:
    by_default: list[xml.Node] = [("SSEAlgorithm", default.algorithm)]
    if default.kms_key is not None:
        by_default.append(("KMSMasterKeyID", default.kms_key))
    rule: list[xml.Node] = [
        ("ApplyServerSideEncryptionByDefault", by_default),
        ("BucketKeyEnabled", default.bucket_key_enabled),
    ]
    return xml.render("ServerSideEncryptionConfiguration", [("Rule", rule)])


async def get_encryption(store: Store, request: S3Request) -> Response:
    default = await store.encryption.get(principal_of(request), request.bucket)
    if default is None:
        raise not_found(
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
            request.bucket,
        )
    return Response(200, [XML], render_encryption(default))


async def put_encryption(store: Store, request: S3Request) -> Response:
    default = parse_encryption(await read_checked_body(request))
    await store.encryption.put(principal_of(request), request.bucket, default)
    return Response(200)


async def delete_encryption(store: Store, request: S3Request) -> Response:
    await store.encryption.delete(principal_of(request), request.bucket)
    return Response(204)


ROUTES: Routes = {
    "encryption": {"GET": get_encryption, "PUT": put_encryption, "DELETE": delete_encryption}
}
