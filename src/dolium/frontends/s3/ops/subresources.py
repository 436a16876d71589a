"""Shared pieces of the sub-resource handlers (?cors, ?publicAccessBlock, ?tagging, ...).

The 404 of a configuration that was never set, the InvalidArgument that names
the offending element, the ID of a configuration's rule given none, and calls
on one object version (?acl, ?tagging, ?retention) that may land on a delete
marker.

Several configuration writes (PutBucketCors, PutBucketOwnershipControls,
PutPublicAccessBlock, PutBucketRequestPayment, ...) need an integrity header
on S3: Content-MD5 or an x-amz-checksum-* value (in a header or a trailer).
Without one S3 refuses the request; with one, the body must match it.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from dolium.core.content.checksums import (
    ALGORITHMS,
    check_content_md5,
    checksum_b64,
    verify_checksum,
)
from dolium.core.store import Store
from dolium.errors import InvalidArgument, NoSuchKey
from dolium.frontends.s3.errors import S3Error, s3_message
from dolium.frontends.s3.ops.objects import delete_marker_error, version_id_arg
from dolium.frontends.s3.wire import versions, xml
from dolium.frontends.s3.wire.headers import declared_checksums
from dolium.frontends.s3.wire.http import Headers, Response, S3Request, read_small_body

T = TypeVar("T")

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


def new_rule_id() -> str:
    """An ID for a rule given without one, shaped as S3's (base64 of a UUID)."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def not_found(code: str, message: str, bucket: str) -> S3Error:
    """The 404 a Get answers for a bucket configuration that was never set."""
    return S3Error(404, code, message, BucketName=bucket)


def invalid_argument(exc: InvalidArgument) -> S3Error:
    """InvalidArgument naming the offending element (ArgumentName, ArgumentValue), as S3 does."""
    error = S3Error(400, "InvalidArgument", s3_message(exc))
    for name, key in (("ArgumentName", "argument_name"), ("ArgumentValue", "argument_value")):
        if key in exc.context:
            error.fields[name] = str(exc.context[key])
    return error


async def read_checked_body(
    request: S3Request, limit: int = xml.MAX_CONFIG_BODY, *, required: bool = True
) -> bytes:
    """The (small) body of a configuration write, checked against its integrity header.

    With `required`, a request that sends none (Content-MD5, x-amz-checksum-*
    or a trailer) is refused; without, the body is checked only when it does.
    """
    md5 = request.header("content-md5")
    has_checksum = any(request.header(name) is not None for name in CHECKSUM_HEADERS)
    if required and md5 is None and not has_checksum and request.header("x-amz-trailer") is None:
        raise missing_integrity()
    _, expected = declared_checksums(request)
    body = await read_small_body(request, limit)
    if md5 is not None:
        check_content_md5(md5, hashlib.md5(body, usedforsecurity=False).digest())
    for algorithm, value in expected().items():
        verify_checksum(algorithm, value, checksum_b64(algorithm, body))
    return body


async def on_version(
    request: S3Request,
    call: Callable[[str | None], Awaitable[T]],
    *,
    latest_marker_missing: bool = False,
) -> T:
    """`call` on the version the request's versionId names (None: the latest).

    A delete marker has nothing to read or set: 405 MethodNotAllowed, or, with
    `latest_marker_missing`, a 404 NoSuchKey when no version id was given.
    """
    version_id = version_id_arg(request)
    try:
        return await call(version_id)
    except NoSuchKey as exc:
        if exc.context.get("delete_marker"):
            by_version_id = version_id is not None or not latest_marker_missing
            raise delete_marker_error(request, exc, by_version_id=by_version_id) from exc
        raise


def version_header(version_id: str | None) -> Headers:
    """x-amz-version-id of an object call, once the bucket has had versioning."""
    return [] if version_id is None else [("x-amz-version-id", versions.to_s3(version_id))]
