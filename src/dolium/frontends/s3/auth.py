"""Who sent a request: SigV4 (header or presigned) against the key store."""

from __future__ import annotations

import time

from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.http import S3Request
from dolium.frontends.s3.sigv4 import parse_request_auth, verify
from dolium.protocols.keys import KeyStore


class Authenticator:
    def __init__(self, keys: KeyStore, region: str | None) -> None:
        self.keys = keys
        self.region = region

    async def authenticate(self, request: S3Request) -> None:
        """Set the request's principal and signing info, or refuse it.

        Anonymous requests are refused: nothing is public yet.
        """
        ctx = parse_request_auth(
            request.method, request.raw_path, request.query_string, request.headers
        )
        if ctx is None:
            raise S3Error(403, "AccessDenied", "Access Denied")
        _, principal, signing = await verify(ctx, self.keys, self.region, now=time.time())
        request.principal = principal
        request.signing = signing
