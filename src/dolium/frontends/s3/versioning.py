"""S3 bucket versioning configuration: GetBucketVersioning, PutBucketVersioning."""

from __future__ import annotations

from dolium.core.store import Store
from dolium.frontends.s3 import xml
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.http import Response, S3Request, read_small_body
from dolium.frontends.s3.objects import principal_of
from dolium.model import Versioning

XML = ("content-type", "application/xml")


async def get_versioning(store: Store, request: S3Request) -> Response:
    bucket = await store.buckets.get(principal_of(request), request.bucket)
    content = {"Status": bucket.versioning.value} if bucket.versioning else None
    return Response(200, [XML], xml.render("VersioningConfiguration", content))


async def put_versioning(store: Store, request: S3Request) -> Response:
    body = await read_small_body(request, xml.MAX_CONFIG_BODY)
    status, mfa_delete = xml.parse_versioning(body)
    if mfa_delete == "Enabled":
        raise S3Error(
            400,
            "InvalidArgument",
            "MFA delete is not supported by this server; use bucket policies and object lock.",
        )
    if status not in ("Enabled", "Suspended"):
        raise S3Error(400, "MalformedXML", xml.MALFORMED_MESSAGE)
    await store.buckets.set_versioning(principal_of(request), request.bucket, Versioning(status))
    return Response(200)
