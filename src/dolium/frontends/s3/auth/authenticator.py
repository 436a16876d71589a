"""Who sent a request: SigV4 or SigV2 (header or presigned) against the key store."""

from __future__ import annotations

import time

from dolium.core.access.decisions import ANONYMOUS
from dolium.frontends.s3.auth import sigv2, sigv4
from dolium.frontends.s3.auth.facts import of_request
from dolium.frontends.s3.wire.http import S3Request, decode_path, parse_target
from dolium.protocols.keys import KeyStore


class Authenticator:
    def __init__(self, keys: KeyStore, region: str | None) -> None:
        self.keys = keys
        self.region = region

    async def authenticate(self, request: S3Request) -> None:
        """Set the request's principal and signing info, or refuse it.

        An unsigned request is anonymous: what it may do is the bucket
        policy's and the ACLs' to say. The principal carries the request's
        facts for policy conditions.
        """
        now = time.time()
        v2 = sigv2.parse_request_auth(
            request.method,
            request.raw_path,
            request.query_string,
            request.headers,
            virtual_bucket(request),
        )
        if v2 is not None:
            _, principal, signing = await sigv2.verify(v2, self.keys, now)
        else:
            ctx = sigv4.parse_request_auth(
                request.method, request.raw_path, request.query_string, request.headers
            )
            if ctx is None:
                request.principal = of_request(request, ANONYMOUS)
                return
            _, principal, signing = await sigv4.verify(ctx, self.keys, self.region, now)
        request.signing = signing
        request.principal = of_request(request, principal)


def virtual_bucket(request: S3Request) -> str | None:
    """The bucket a virtual-hosted-style request names in its Host header, else None.

    SigV2 signs `/bucket` + path either way, so the bucket is put back in front
    of a path that lacks it. A request is path-style exactly when its path
    alone gives the bucket and key it was routed to.
    """
    if not request.bucket:
        return None
    try:
        path_style = parse_target("", decode_path(request.raw_path.encode("latin-1")), ())
    except (UnicodeError, ValueError):
        return None
    return None if path_style == (request.bucket, request.key) else request.bucket
