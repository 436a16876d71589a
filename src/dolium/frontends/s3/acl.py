"""S3 ACL sub-resources: Get/PutBucketAcl and Get/PutObjectAcl (with versionId).

A PUT gives the ACL either as an AccessControlPolicy body or as headers
(x-amz-acl, or x-amz-grant-*), never both (UnexpectedContent) and never
neither (MissingSecurityHeader). A body's Content-MD5 or checksum, when
sent, must match it. Whether the caller may, and what the ACL comes to, is
the core's (`dolium.core.acls`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from dolium.core.acls import ObjectAcl
from dolium.core.checksums import check_content_md5, checksum_b64, verify_checksum
from dolium.core.grants import Requested
from dolium.core.store import Store
from dolium.errors import NoSuchKey
from dolium.frontends.s3 import xml
from dolium.frontends.s3.acl_xml import acl_headers, parse_acl, render_acl, requested_acl
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.headers import declared_checksums
from dolium.frontends.s3.http import Response, S3Request, read_small_body
from dolium.frontends.s3.objects import delete_marker_error, principal_of, version_id_arg
from dolium.frontends.s3.subresources import XML, Routes


def unexpected_content() -> S3Error:
    return S3Error(400, "UnexpectedContent", "This request does not support content")


def missing_security_header() -> S3Error:
    return S3Error(
        400,
        "MissingSecurityHeader",
        "Your request was missing a required header",
        MissingHeaderName="x-amz-acl",
    )


async def _body(request: S3Request) -> bytes:
    """The (small) body, checked against Content-MD5 / x-amz-checksum-* when given."""
    _, expected = declared_checksums(request)
    body = await read_small_body(request, xml.MAX_CONFIG_BODY)
    md5 = request.header("content-md5")
    if md5 is not None:
        check_content_md5(md5, hashlib.md5(body, usedforsecurity=False).digest())
    for algorithm, value in expected().items():
        verify_checksum(algorithm, value, checksum_b64(algorithm, body))
    return body


async def requested(request: S3Request) -> Requested:
    """The ACL a PutBucketAcl / PutObjectAcl asks for, from its body or its headers."""
    from_headers = requested_acl(acl_headers(request.headers))
    body = await _body(request)
    if body.strip():
        if from_headers is not None:
            raise unexpected_content()
        return parse_acl(body)
    if from_headers is None:
        raise missing_security_header()
    return from_headers


# --------------------------------------------------------------------------- buckets


async def get_bucket_acl(store: Store, request: S3Request) -> Response:
    found = await store.acls.get_bucket(principal_of(request), request.bucket)
    return Response(200, [XML], render_acl(found))


async def put_bucket_acl(store: Store, request: S3Request) -> Response:
    wanted = await requested(request)
    await store.acls.put_bucket(principal_of(request), request.bucket, wanted)
    return Response(200)


ROUTES: Routes = {"acl": {"GET": get_bucket_acl, "PUT": put_bucket_acl}}


# --------------------------------------------------------------------------- objects


async def _on_version(
    request: S3Request, call: Callable[[str | None], Awaitable[ObjectAcl]]
) -> ObjectAcl:
    version_id = version_id_arg(request)
    try:
        return await call(version_id)
    except NoSuchKey as exc:
        if exc.context.get("delete_marker"):
            raise delete_marker_error(request, exc, by_version_id=version_id is not None) from exc
        raise


def _version_header(found: ObjectAcl) -> list[tuple[str, str]]:
    return [] if found.version_id is None else [("x-amz-version-id", found.version_id)]


async def get_object_acl(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    found = await _on_version(
        request, lambda v: store.acls.get_object(principal, request.bucket, request.key, v)
    )
    return Response(200, [XML, *_version_header(found)], render_acl(found.acl))


async def put_object_acl(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    wanted = await requested(request)
    found = await _on_version(
        request,
        lambda v: store.acls.put_object(principal, request.bucket, request.key, wanted, v),
    )
    return Response(200, _version_header(found))


OBJECT_ROUTES: Routes = {"acl": {"GET": get_object_acl, "PUT": put_object_acl}}
