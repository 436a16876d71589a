"""S3 ACL sub-resources: Get/PutBucketAcl and Get/PutObjectAcl (with versionId).

A PUT gives the ACL either as an AccessControlPolicy body or as headers
(x-amz-acl, or x-amz-grant-*), never both (UnexpectedContent) and never
neither (MissingSecurityHeader). A body's Content-MD5 or checksum, when
sent, must match it. Whether the caller may, and what the ACL comes to, is
the core's (`dolium.core.access.acls`).
"""

from __future__ import annotations

from dolium.core.access.grants import Requested
from dolium.core.store import Store
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import (
    XML,
    Routes,
    on_version,
    read_checked_body,
    version_header,
)
from dolium.frontends.s3.wire.acl_xml import acl_headers, parse_acl, render_acl, requested_acl
from dolium.frontends.s3.wire.http import Response, S3Request


def unexpected_content() -> S3Error:
    return S3Error(400, "UnexpectedContent", "This request does not support content")


def missing_security_header() -> S3Error:
    return S3Error(
        400,
        "MissingSecurityHeader",
        "Your request was missing a required header",
        MissingHeaderName="x-amz-acl",
    )


async def requested(request: S3Request) -> Requested:
    """The ACL a PutBucketAcl / PutObjectAcl asks for, from its body or its headers."""
    from_headers = requested_acl(acl_headers(request.headers))
    # Unlike other configuration writes, an integrity header is optional here.
    body = await read_checked_body(request, required=False)
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


async def get_object_acl(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    found = await on_version(
        request,
        lambda v: store.acls.get_object(principal, request.bucket, request.key, v),
        latest_marker_missing=True,
    )
    return Response(200, [XML, *version_header(found.version_id)], render_acl(found.acl))


async def put_object_acl(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    wanted = await requested(request)
    found = await on_version(
        request,
        lambda v: store.acls.put_object(principal, request.bucket, request.key, wanted, v),
        latest_marker_missing=True,
    )
    return Response(200, version_header(found.version_id))


OBJECT_ROUTES: Routes = {"acl": {"GET": get_object_acl, "PUT": put_object_acl}}
