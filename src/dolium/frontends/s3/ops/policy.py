"""Bucket policy calls: Get/Put/DeleteBucketPolicy and GetBucketPolicyStatus."""

from __future__ import annotations

import hashlib

from dolium.core.content.checksums import check_content_md5
from dolium.core.store import Store
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, not_found
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request, read_small_body

# S3 refuses policies over 20 KiB (counted without insignificant
# whitespace, which the parser checks); a body far beyond is not read.
MAX_POLICY_BODY = 64 * 1024


def _no_policy(bucket: str) -> S3Error:
    return not_found("NoSuchBucketPolicy", "The bucket policy does not exist", bucket)


async def get_policy(store: Store, request: S3Request) -> Response:
    text = await store.policies.get(principal_of(request), request.bucket)
    if text is None:
        raise _no_policy(request.bucket)
    return Response(200, [("content-type", "application/json")], text.encode())


async def put_policy(store: Store, request: S3Request) -> Response:
    # The owner rule first: a refused caller never sends the document.
    await store.policies.check_put(principal_of(request), request.bucket)
    body = await read_small_body(request, MAX_POLICY_BODY)
    md5 = request.header("content-md5")
    if md5 is not None:
        check_content_md5(md5, hashlib.md5(body, usedforsecurity=False).digest())
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise S3Error(400, "MalformedPolicy", "This policy contains invalid Json") from None
    await store.policies.put(principal_of(request), request.bucket, text)
    return Response(204)


async def delete_policy(store: Store, request: S3Request) -> Response:
    await store.policies.delete(principal_of(request), request.bucket)
    return Response(204)


async def get_policy_status(store: Store, request: S3Request) -> Response:
    public = await store.policies.is_public(principal_of(request), request.bucket)
    if public is None:
        raise _no_policy(request.bucket)
    content = {"IsPublic": "true" if public else "false"}
    return Response(200, [XML], xml.render("PolicyStatus", content))


ROUTES: Routes = {
    "policy": {"GET": get_policy, "PUT": put_policy, "DELETE": delete_policy},
    "policyStatus": {"GET": get_policy_status},
}
