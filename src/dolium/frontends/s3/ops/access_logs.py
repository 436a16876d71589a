"""Server access logging: Get/PutBucketLogging, and the log line of each request.

The line is S3's server access log format, field by field (see `line`);
request URIs lose the query parameters that carry signatures and
credentials, which a log must never hold.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, quote, urlencode

from dolium.core.store import Store
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, read_checked_body
from dolium.frontends.s3.wire import logging_xml
from dolium.frontends.s3.wire.http import Response, S3Request
from dolium.model import Bucket

# Query parameters that carry signatures, credentials or tokens.
_SECRET_PARAMETERS = frozenset(
    {"x-amz-signature", "signature", "x-amz-credential", "awsaccesskeyid",
     "x-amz-security-token"}
)  # fmt: skip


async def get_logging(store: Store, request: S3Request) -> Response:
    config = await store.access_logging.get(principal_of(request), request.bucket)
    return Response(200, [XML], logging_xml.render(config))


async def put_logging(store: Store, request: S3Request) -> Response:
    config = logging_xml.parse(await read_checked_body(request))
    await store.access_logging.put(principal_of(request), request.bucket, config)
    return Response(200)


ROUTES: Routes = {"logging": {"GET": get_logging, "PUT": put_logging}}


def _resource(request: S3Request) -> str:
    flags = [k for k in request.query if k in _SUBRESOURCES]
    if flags:
        return _SUBRESOURCES[flags[0]]
    if request.key:
        return "UPLOAD" if "uploadId" in request.query else "OBJECT"
    return "BUCKET"


_SUBRESOURCES = {
    "acl": "ACL", "cors": "CORS", "lifecycle": "LIFECYCLE", "logging": "LOGGING_STATUS",
    "notification": "NOTIFICATION", "policy": "BUCKETPOLICY", "tagging": "TAGGING",
    "versioning": "VERSIONING", "versions": "BUCKETVERSIONS", "website": "WEBSITE",
    "uploads": "UPLOADS", "location": "LOCATION", "encryption": "ENCRYPTION",
    "object-lock": "OBJECT_LOCK_CONFIGURATION", "retention": "RETENTION",
    "legal-hold": "LEGAL_HOLD", "attributes": "OBJECT_ATTRIBUTES", "delete": "MULTI_OBJECT_DELETE",
}  # fmt: skip


def _uri(request: S3Request) -> str:
    pairs = [
        (k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)
        if k.lower() not in _SECRET_PARAMETERS
    ]  # fmt: skip
    query = "?" + urlencode(pairs, quote_via=quote) if pairs else ""
    return f"{request.method} {request.raw_path.split('?', 1)[0]}{query} HTTP/1.1"


def _quoted(value: str | None) -> str:
    return f'"{value}"' if value else "-"


def line(
    request: S3Request,
    bucket: Bucket,
    owner_id: str,
    *,
    status: int,
    error_code: str,
    sent: int | None,
    object_size: int | None,
    seconds: float,
    started: float,
) -> str:
    """One record of S3's server access log format."""
    principal = request.principal
    requester = principal.canonical_id if principal and not principal.anonymous else "-"
    signing = request.signing
    if signing is None:
        signature, auth = "-", "-"
    else:
        signature = "SigV4" if signing.scope else "SigV2"
        auth = (
            "QueryString"
            if "X-Amz-Signature" in request.query or ("Signature" in request.query)
            else "AuthHeader"
        )
    fields = [
        owner_id,
        bucket.container,
        time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(started)),
        request.client or "-",
        requester or "-",
        request.request_id,
        f"REST.{request.method}.{_resource(request)}",
        quote(request.key) if request.key else "-",
        _quoted(_uri(request)),
        str(status),
        error_code or "-",
        str(sent) if sent else "-",
        str(object_size) if object_size is not None else "-",
        str(int(seconds * 1000)),
        "-",
        _quoted(request.header("referer")),
        _quoted(request.header("user-agent")),
        request.query.get("versionId") or "-",
        request.request_id,
        signature,
        "-",
        auth,
        request.header("host") or "-",
        "-",
        "-",
        "-",
    ]
    return " ".join(fields)
