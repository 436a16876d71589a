"""Shared pieces of the bucket sub-resource handlers (?cors, ?publicAccessBlock, ...).

Several configuration writes (PutBucketCors, PutBucketOwnershipControls,
PutPublicAccessBlock, PutBucketRequestPayment, ...) need an integrity header
on S3: Content-MD5 or an x-amz-checksum-* value (in a header or a trailer).
Without one S3 refuses the request; with one, the body must match it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping

from dolium.core.checksums import ALGORITHMS, check_content_md5, checksum_b64, verify_checksum
from dolium.core.store import Store
from dolium.frontends.s3 import xml
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.headers import declared_checksums
from dolium.frontends.s3.http import Response, S3Request, read_small_body

Handler = Callable[[Store, S3Request], Awaitable[Response]]
# Query flag -> HTTP method -> handler, for the router.
Routes = Mapping[str, Mapping[str, Handler]]

XML = ("content-type", "application/xml")
CHECKSUM_HEADERS = tuple(f"x-amz-checksum-{a.lower()}" for a in ALGORITHMS)


def missing_integrity() -> S3Error:
    return S3Error(
        400,
        "InvalidRequest",
        "Missing required header for this request: Content-MD5 OR x-amz-checksum-*",
    )


async def read_checked_body(request: S3Request, limit: int = xml.MAX_CONFIG_BODY) -> bytes:
    """The (small) body of a configuration write, checked against its integrity header."""
    md5 = request.header("content-md5")
    has_checksum = any(request.header(name) is not None for name in CHECKSUM_HEADERS)
    if md5 is None and not has_checksum and request.header("x-amz-trailer") is None:
        raise missing_integrity()
    _, expected = declared_checksums(request)
    body = await read_small_body(request, limit)
    if md5 is not None:
        check_content_md5(md5, hashlib.md5(body, usedforsecurity=False).digest())
    for algorithm, value in expected().items():
        verify_checksum(algorithm, value, checksum_b64(algorithm, body))
    return body
