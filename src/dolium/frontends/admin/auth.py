"""Who is calling the admin API: a SigV4-signed request, as on S3.

The admin API takes the same signatures as the S3 API (service `s3`), as
the admin APIs of Ceph RGW and MinIO do, so any SigV4 signer (botocore,
the aws CLI's libraries, Dolium's CLI) can call it with an administrator's
access key. The body is covered by the signature through
x-amz-content-sha256, checked here against the bytes received; admin
requests are small JSON documents with a Content-Length of at most
MAX_BODY, so the body is read whole.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from starlette.requests import Request

from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.errors import S3Error
from dolium.model import Principal
from dolium.protocols.keys import KeyStore

MAX_BODY = 1024 * 1024
UNSIGNED = "UNSIGNED-PAYLOAD"


class AdminAuthError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def authenticate(request: Request, keys: KeyStore, region: str | None) -> Principal:
    scope = request.scope
    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string", b"")
    try:
        ctx = sigv4.parse_request_auth(request.method, raw_path, query, headers)
        if ctx is None:
            raise AdminAuthError(
                401, "MissingAuthentication", "sign admin requests with SigV4 (service s3)"
            )
        _, principal, signing = await sigv4.verify(ctx, keys, region, time.time())
    except S3Error as exc:
        raise AdminAuthError(exc.status, exc.code, exc.message) from None
    # Bounded before the request got here (AdminApp: Content-Length <= MAX_BODY).
    body = await request.body()
    if signing.payload != UNSIGNED:
        if not sigv4.is_sha256_hex(signing.payload):
            raise AdminAuthError(
                400, "InvalidRequest", "admin requests send their body whole, not aws-chunked"
            )
        digest = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(digest, signing.payload.lower()):
            raise AdminAuthError(
                400, "XAmzContentSHA256Mismatch", "the body does not match x-amz-content-sha256"
            )
    return principal
