"""SigV4 for the other AWS APIs served on the S3 endpoint (IAM).

Their requests sign for their own service, send no x-amz-content-sha256
(the hash of the small body they carry is in the canonical request, and
the caller gives it), and are global: any region in the credential scope
is accepted, as AWS's IAM signs for us-east-1 wherever it is called from.
"""

from __future__ import annotations

import hmac
import time

from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.errors import S3Error
from dolium.model import Principal
from dolium.protocols.keys import KeyStore


async def verify_service(
    keys: KeyStore,
    service: str,
    method: str,
    raw_path: bytes,
    query: bytes,
    headers: sigv4.Headers,
    body_sha256: str,
) -> Principal:
    """The principal that signed a request for `service`; S3Error when it did not."""
    ctx = sigv4.parse_request_auth(
        method, raw_path, query, headers, services=(service,), body_sha256=body_sha256
    )
    if ctx is None:
        raise S3Error(403, "MissingAuthenticationToken", "the request must be signed (SigV4)")
    if not hmac.compare_digest(ctx.payload.lower(), body_sha256):
        raise S3Error(
            400, "XAmzContentSHA256Mismatch", "the body does not match x-amz-content-sha256"
        )
    _, principal, _ = await sigv4.verify(ctx, keys, None, time.time())
    return principal
