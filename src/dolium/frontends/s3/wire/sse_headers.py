"""S3 server-side encryption headers: what a request asks for, what a response says.

SSE-S3 is `x-amz-server-side-encryption: AES256`; SSE-C is the three
`x-amz-server-side-encryption-customer-*` headers (and their
`x-amz-copy-source-` twins for the source of a copy). SSE-KMS is
`aws:kms` with an optional key (`-aws-kms-key-id`: id, alias or ARN),
encryption context (`-context`, base64 JSON) and bucket key flag
(`-bucket-key-enabled`); `aws:kms:dsse` is answered 501 NotImplemented. The
checks and their messages are S3's; the encryption itself is the core's
(core.sse).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping

from dolium.core.content.sse import (
    ALGORITHM,
    KEY_SIZE,
    KMS_ALGORITHM,
    SSE_C,
    SSE_KMS,
    SSE_S3,
    CustomerKey,
    SseRequest,
    kms_key_ref,
)
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire.http import Headers, S3Request

SSE_HEADER = "x-amz-server-side-encryption"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
KMS_KEY_ID = SSE_HEADER + "-aws-kms-key-id"
KMS_CONTEXT = SSE_HEADER + "-context"
BUCKET_KEY = SSE_HEADER + "-bucket-key-enabled"
_KMS_PREFIX = "Requests specifying Server Side Encryption with AWS KMS managed keys "
KMS_NEEDS_SIGV4 = _KMS_PREFIX + "require AWS Signature Version 4."
KMS_NEEDS_TLS = _KMS_PREFIX + "must be made over a secure connection."

_SSE_C_PREFIX = "Requests specifying Server Side Encryption with Customer provided keys must "
NEEDS_TLS = _SSE_C_PREFIX + "be made over a secure connection."
MD5_MISMATCH = "The calculated MD5 hash of the key did not match the hash that was provided."


def _not_implemented(header: str) -> S3Error:
    return S3Error(
        501,
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        Header=header,
    )


def _invalid(message: str, name: str = SSE_HEADER, value: str | None = None) -> S3Error:
    error = S3Error(400, "InvalidArgument", message, ArgumentName=name)
    if value is not None:
        error.fields["ArgumentValue"] = value
    return error


def require_tls(request: S3Request, required: bool) -> None:
    """S3 refuses SSE-C keys sent in clear; `sse_c_require_tls = false` allows it."""
    if not required or request.secure:
        return
    if any(k.startswith((CUSTOMER, COPY_CUSTOMER)) for k, _ in request.headers):
        raise S3Error(400, "InvalidRequest", NEEDS_TLS)


def customer_key(request: S3Request, prefix: str = CUSTOMER) -> CustomerKey | None:
    """The SSE-C key the request sends under `prefix`, checked; None when it sends none."""
    algorithm = request.header(prefix + "algorithm")
    encoded = request.header(prefix + "key")
    md5 = request.header(prefix + "key-md5")
    if algorithm is None and encoded is None and md5 is None:
        return None
    if algorithm is None:
        raise _invalid(_SSE_C_PREFIX + "provide a valid encryption algorithm.")
    if algorithm != ALGORITHM:
        raise S3Error(
            400,
            "InvalidEncryptionAlgorithmError",
            "The Encryption request you specified is not valid. Supported value: AES256.",
            ArgumentName=SSE_HEADER,
            ArgumentValue=algorithm,
        )
    if encoded is None:
        raise _invalid(_SSE_C_PREFIX + "provide an appropriate secret key.")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_SIZE:
        raise _invalid("The secret key was invalid for the specified algorithm.")
    if md5 is None:
        raise _invalid(_SSE_C_PREFIX + "provide the client calculated MD5 of the secret key.")
    found = CustomerKey.of(key)
    if not hmac.compare_digest(found.md5.encode(), md5.strip().encode()):
        raise _invalid(
            "The calculated MD5 hash of the key did not match the hash that was provided."
        )
    return found


def copy_source_key(request: S3Request) -> CustomerKey | None:
    return customer_key(request, COPY_CUSTOMER)


def sse_request(request: S3Request) -> SseRequest | None:
    """The encryption a write asks for; None leaves it to the bucket's default."""
    method = request.header(SSE_HEADER)
    customer = customer_key(request)
    key_id = request.header(KMS_KEY_ID)
    context = request.header(KMS_CONTEXT)
    if method == "aws:kms:dsse":
        raise _not_implemented(SSE_HEADER)
    if method != KMS_ALGORITHM and (key_id is not None or context is not None):
        raise _invalid(
            "Server Side Encryption with AWS KMS managed key requires HTTP header "
            "x-amz-server-side-encryption : aws:kms",
            value=method or "null",
        )
    if method is not None:
        if method not in (ALGORITHM, KMS_ALGORITHM):
            raise _invalid("The encryption method specified is not supported", value=method)
        if customer is not None:
            raise _invalid(
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
                value=method,
            )
        if method == KMS_ALGORITHM:
            return _kms_request(request, key_id, context)
        return SseRequest(SSE_S3)
    return SseRequest(SSE_C, customer) if customer is not None else None


def _kms_request(request: S3Request, key_id: str | None, context: str | None) -> SseRequest:
    require_sigv4(request)
    if key_id is not None and not key_id.strip():
        raise _invalid("KMS key ID must not be empty.", KMS_KEY_ID, key_id)
    if context is not None:
        check_context(context)
    bucket_key = (request.header(BUCKET_KEY) or "").strip().lower() == "true"
    ref = kms_key_ref(key_id.strip()) if key_id is not None else None
    return SseRequest(SSE_KMS, kms_key=ref, context=context, bucket_key=bucket_key)


def check_context(context: str) -> None:
    """S3 takes an encryption context only as base64 of a JSON object of strings."""
    try:
        pairs = json.loads(base64.b64decode(context, validate=True))
    except (binascii.Error, ValueError):
        pairs = None
    if not isinstance(pairs, dict) or not all(isinstance(v, str) for v in pairs.values()):
        raise _invalid("The encryption context is not valid.", KMS_CONTEXT, context)


def signed_v4(request: S3Request) -> bool:
    """Whether the request was signed with Signature Version 4 (a form upload's
    policy signature counts): its principal's s3:signatureversion says."""
    principal = request.principal
    if principal is None or principal.anonymous:
        return False
    return principal.facts.get("s3:signatureversion") == "AWS4-HMAC-SHA256"


def require_sigv4(request: S3Request) -> None:
    """S3 refuses SSE-KMS to anonymous and Signature Version 2 requests, reads included."""
    if not signed_v4(request):
        raise _invalid(KMS_NEEDS_SIGV4, "Authorization")


def require_kms_tls(request: S3Request, required: bool) -> None:
    """S3 refuses SSE-KMS writes over plain HTTP; `sse_kms_require_tls = false` allows them."""
    if required and not request.secure and request.header(SSE_HEADER) == KMS_ALGORITHM:
        raise _invalid(KMS_NEEDS_TLS, SSE_HEADER, KMS_ALGORITHM)


def response_headers(sse: Mapping[str, str], *, context: bool = False) -> Headers:
    """What S3 says of stored data's encryption on a write, a read or a HEAD.

    `context`: say the SSE-KMS encryption context too, as S3 does on
    PutObject, CopyObject and CreateMultipartUpload (not on reads).
    """
    mode = sse.get("mode")
    if mode == SSE_S3:
        return [(SSE_HEADER, ALGORITHM)]
    if mode == SSE_C:
        return [
            (CUSTOMER + "algorithm", ALGORITHM),
            (CUSTOMER + "key-md5", sse.get("key_md5", "")),
        ]
    if mode == SSE_KMS:
        headers = [(SSE_HEADER, KMS_ALGORITHM), (KMS_KEY_ID, sse.get("kms_arn", ""))]
        if context and "context" in sse:
            headers.append((KMS_CONTEXT, sse["context"]))
        if sse.get("bucket_key") == "true":
            headers.append((BUCKET_KEY, "true"))
        return headers
    return []
