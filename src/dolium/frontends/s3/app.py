"""The S3 front end as an ASGI application: parse, authenticate, route, answer.

Every response carries x-amz-request-id. A `DoliumError` or `S3Error` becomes
an S3 XML error; anything else is logged with the request id and answered
with a bare 500 InternalError, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from dolium.core.access.actions import Action, Setting
from dolium.core.access.decisions import ANONYMOUS
from dolium.core.buckets.access_logging import logging_on
from dolium.core.caches import REQUEST_SCOPE
from dolium.core.context import REQUEST_BUCKET
from dolium.core.store import Store
from dolium.errors import DoliumError, NotModified
from dolium.frontends import OPERATION_KEY, PRINCIPAL_KEY
from dolium.frontends.s3.auth.authenticator import Authenticator
from dolium.frontends.s3.auth.facts import of_request
from dolium.frontends.s3.errors import S3Error, to_s3_error
from dolium.frontends.s3.ops import (
    access_logs,
    acl,
    attributes,
    bucket_probes,
    buckets,
    cors,
    encryption,
    lifecycle,
    multipart,
    notifications,
    object_lock,
    objects,
    policy,
    post_object,
    tagging,
    website,
)
from dolium.frontends.s3.ops.versioning import get_versioning, list_versions, put_versioning
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.headers import http_date
from dolium.frontends.s3.wire.http import (
    ClientGone,
    Receive,
    Response,
    S3Request,
    Scope,
    Send,
    decode_path,
    parse_query,
    parse_target,
)
from dolium.frontends.s3.wire.sse_headers import require_kms_tls, require_tls
from dolium.frontends.s3.wire.storage_class import class_policy
from dolium.protocols.keys import KeyStore

log = logging.getLogger("dolium.s3")
# Methods whose requests change state: when refused, the audit log records them.
MUTATING = frozenset({"PUT", "POST", "DELETE"})

# A refused upload's unread body is read and dropped up to this size;
# beyond it the connection is closed instead.
DRAIN_LIMIT = 1024 * 1024
# S3 refuses a request whose header section is larger than this.
MAX_HEADER_SECTION = 8 * 1024

Handler = Callable[[Store, S3Request], Awaitable[Response]]

# Sub-resources S3 has that Dolium does not implement yet: answered 501
# NotImplemented rather than mistaken for a plain object or bucket request.
UNSUPPORTED = frozenset(
    {
        "analytics",
        "intelligent-tiering",
        "inventory",
        "metrics",
        "restore",
        "select",
        "torrent",
    }
)

# Bucket sub-resources served from a table: flag -> method -> handler.
BUCKET_SUBRESOURCES = {
    **acl.ROUTES,
    **policy.ROUTES,
    **cors.ROUTES,
    **bucket_probes.ROUTES,
    **access_logs.ROUTES,
    **lifecycle.ROUTES,
    **website.ROUTES,
    **object_lock.ROUTES,
    **notifications.ROUTES,
    **encryption.ROUTES,
    **tagging.ROUTES,
}
# Object sub-resources, likewise.
OBJECT_SUBRESOURCES = {
    **object_lock.OBJECT_ROUTES,
    **acl.OBJECT_ROUTES,
    **tagging.OBJECT_ROUTES,
    **attributes.OBJECT_ROUTES,
}
# The permission a bucket sub-resource PUT needs, checked before its body is
# read, as S3 does: a caller without it learns AccessDenied, not what is wrong
# with the document. (The policy's owner rule is its own; object sub-resources
# may be allowed by the object's ACL, which only the handler reads.)
BUCKET_PUT_SETTINGS = {
    "acl": Setting.ACL,
    "accelerate": Setting.ACCELERATE,
    "cors": Setting.CORS,
    "encryption": Setting.ENCRYPTION,
    "lifecycle": Setting.LIFECYCLE,
    "logging": Setting.LOGGING,
    "notification": Setting.NOTIFICATION,
    "object-lock": Setting.OBJECT_LOCK,
    "ownershipControls": Setting.OWNERSHIP,
    "publicAccessBlock": Setting.PUBLIC_ACCESS_BLOCK,
    "replication": Setting.REPLICATION,
    "requestPayment": Setting.REQUEST_PAYMENT,
    "tagging": Setting.TAGGING,
    "versioning": Setting.VERSIONING,
    "website": Setting.WEBSITE,
}


# Object sub-resource PUTs, likewise checked before their body is read (a
# version's own grants counted), so that a client waiting on Expect:
# 100-continue is refused before it sends the body. Not PutObjectTagging: a
# policy may allow it by the tags its body sets (s3:RequestObjectTag/<key>).
OBJECT_PUT_ACTIONS = {
    "acl": Action.WRITE_ACL,
    "retention": Action.WRITE_RETENTION,
    "legal-hold": Action.WRITE_LEGAL_HOLD,
}


def _object_checked_first(action: Action, handler: Handler) -> Handler:
    @functools.wraps(handler)  # named as the operation it checks, for metrics
    async def checked(store: Store, request: S3Request) -> Response:
        principal = objects.principal_of(request)
        version_id = objects.version_id_arg(request)
        await store.acls.check_object(principal, request.bucket, request.key, version_id, action)
        return await handler(store, request)

    return checked


def _checked_first(setting: Setting, handler: Handler) -> Handler:
    @functools.wraps(handler)  # named as the operation it checks, for metrics
    async def checked(store: Store, request: S3Request) -> Response:
        principal = objects.principal_of(request)
        await store.bucket_settings.check(principal, request.bucket, Action.WRITE_SETTING, setting)
        return await handler(store, request)

    return checked


@dataclass(frozen=True)
class S3Settings:
    region: str | None = None  # None: accept any region in signatures
    domains: Sequence[str] = ()
    # Hosts <bucket>.<website domain> are static websites (frontends/s3/website.py).
    website_domains: Sequence[str] = ()
    # S3 refuses SSE-C keys over plain HTTP; false allows them (tests, TLS
    # ended by a proxy that does not say so).
    sse_c_require_tls: bool = True
    # S3 refuses SSE-KMS writes over plain HTTP; false allows them.
    sse_kms_require_tls: bool = True
    # S3 storage class -> storage policy, for x-amz-storage-class on writes.
    storage_classes: Mapping[str, str] = field(default_factory=dict)

    @property
    def reported_region(self) -> str:
        return self.region or "us-east-1"


class S3App:
    def __init__(self, store: Store, keys: KeyStore, settings: S3Settings) -> None:
        self.store = store
        self.settings = settings
        self.auth = Authenticator(keys, settings.region)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Lifespan events are the composition root's (it opens the stores).
        if scope["type"] != "http":
            return
        request = self._request(scope, receive)
        head = request.method == "HEAD"
        started = time.time()
        REQUEST_BUCKET.set(None)
        REQUEST_SCOPE.set(object())
        error_code = ""
        try:
            response = await self._handle(request)
        except ClientGone:
            return
        except (S3Error, DoliumError) as exc:
            response = self._error(request, exc)
            error_code = exc.code if isinstance(exc, S3Error) else to_s3_error(exc).code
            if response.status == 403 and request.method in MUTATING:
                await self._record_refusal(request)
        except Exception:
            log.exception("internal error in request %s", request.request_id)
            response = self._error(
                request,
                S3Error(
                    500, "InternalError", "We encountered an internal error. Please try again."
                ),
            )
        # Cross-origin requests get their CORS headers on errors too, as on S3.
        response.headers.extend(await cors.response_headers(self.store, request))
        try:
            if not await request.drain(DRAIN_LIMIT):
                response.headers.append(("connection", "close"))
        except ClientGone:
            return
        response.headers.append(("x-amz-request-id", request.request_id))
        response.headers.append(("x-amz-id-2", request.request_id))
        scope[OPERATION_KEY] = request.operation
        if request.principal is not None and not request.principal.anonymous:
            scope[PRINCIPAL_KEY] = f"{request.principal.tenant}:{request.principal.user}"
        try:
            await response.send(send, head)
        except DoliumError as exc:
            # Headers are gone already: the only honest signal left is to cut
            # the connection, so the client sees a body shorter than announced.
            log.error("request %s aborted mid-body: %s", request.request_id, exc.message)
        await self._log_access(request, response, error_code, started)

    async def _log_access(
        self, request: S3Request, response: Response, error_code: str, started: float
    ) -> None:
        """The request's line of its bucket's server access log, when it has one.

        The bucket is the one the request loaded (no read of its own); a
        failure here is logged, never the request's."""
        bucket = REQUEST_BUCKET.get()
        if bucket is None or bucket.container != request.bucket or not logging_on(bucket):
            return
        try:
            owner = await self.store.ctx.meta.get_tenant(bucket.owner)
            size = response.length if response.stream is not None else len(response.body)
            declared = request.header("content-length")
            object_size = (
                int(declared) if request.method == "PUT" and declared and declared.isdigit()
                else size if request.method in ("GET", "HEAD") and response.status < 300
                else None
            )  # fmt: skip
            record = access_logs.line(
                request, bucket, owner.canonical_id if owner else bucket.owner,
                status=response.status, error_code=error_code, sent=size,
                object_size=object_size, seconds=time.time() - started, started=started,
            )  # fmt: skip
            await self.store.access_logging.record(bucket, record)
        except DoliumError as exc:
            log.warning("request %s: access log line not kept: %s", request.request_id, exc)

    async def _record_refusal(self, request: S3Request) -> None:
        """A refused request that would have changed state goes to the audit log.

        Its answer stands whatever happens here: a store that cannot take the
        record is logged, not turned into another error.
        """
        principal = request.principal or of_request(request, ANONYMOUS)
        asked = "&".join(k for k in request.query if k != "__invalid__")
        what = f"{request.method} ?{asked}" if asked else request.method
        try:
            await self.store.refused(principal, what, request.bucket, request.key)
        except DoliumError as exc:
            log.warning("request %s: refusal not recorded: %s", request.request_id, exc.message)

    def _request(self, scope: Scope, receive: Receive) -> S3Request:
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query_string = scope.get("query_string", b"").decode("latin-1")
        request = S3Request(
            method=scope["method"],
            raw_path=raw_path.decode("latin-1"),
            query_string=query_string,
            headers=headers,
            bucket="",
            key="",
            query={},
            receive=receive,
            client=(scope.get("client") or ("",))[0],
            secure=scope.get("scheme") == "https",
        )
        try:
            path = decode_path(raw_path)
            host = request.header("host", "") or ""
            domains = (*self.settings.website_domains, *self.settings.domains)
            request.bucket, request.key = parse_target(host, path, domains)
            request.query = parse_query(query_string)
        except (UnicodeDecodeError, ValueError):
            request.bucket, request.key = "", ""
            request.query = {"__invalid__": ""}
        return request

    async def _handle(self, request: S3Request) -> Response:
        site = website.site_of(request.header("host") or "", self.settings.website_domains)
        if site is not None:
            # A website host: anonymous, HTML errors, never the S3 API.
            request.bucket = site
            return await website.serve(self.store, request)
        if "__invalid__" in request.query:
            raise S3Error(400, "InvalidURI", "Couldn't parse the specified URI.")
        if sum(len(k) + len(v) + 4 for k, v in request.headers) > MAX_HEADER_SECTION:
            raise S3Error(
                400,
                "RequestHeaderSectionTooLarge",
                "Your request header section exceeds the maximum allowed size.",
                MaxSizeAllowed=str(MAX_HEADER_SECTION),
            )
        if request.method == "OPTIONS" and request.bucket:
            # A CORS preflight carries no credentials: it is answered unsigned.
            return await cors.preflight(self.store, request)
        if post_object.is_browser_upload(request):
            # A form upload authenticates through its policy fields, not headers.
            return await post_object.post_object(
                self.store, request, self.auth, kms_tls=self.settings.sse_kms_require_tls
            )
        await self.auth.authenticate(request)
        require_tls(request, self.settings.sse_c_require_tls)
        require_kms_tls(request, self.settings.sse_kms_require_tls)
        if request.method in ("PUT", "POST"):
            request.storage_policy = class_policy(request, self.settings.storage_classes)
        handler = self._route(request)
        request.operation = handler.__name__
        await self._expected_owners(request)
        return await handler(self.store, request)

    async def _expected_owners(self, request: S3Request) -> None:
        """x-amz-expected-bucket-owner (and, for a copy, -source-expected-bucket-owner):
        the account (tenant) that must own the bucket, else 403 AccessDenied.

        Checked before the operation reads anything, body included. CreateBucket
        names no existing bucket and ignores it."""
        expected = request.header("x-amz-expected-bucket-owner")
        if expected is not None and request.bucket and not _creates_bucket(request):
            await self.store.buckets.expect_owner(request.bucket, expected.strip())
        source_expected = request.header("x-amz-source-expected-bucket-owner")
        source = request.header("x-amz-copy-source")
        if source_expected is not None and source and request.method == "PUT":
            source_bucket = unquote(source).lstrip("/").partition("/")[0]
            if source_bucket:
                await self.store.buckets.expect_owner(source_bucket, source_expected.strip())

    def _route(self, request: S3Request) -> Handler:
        method, q = request.method, request.query
        if not request.bucket:
            if method == "GET":
                return buckets.list_buckets
            raise _not_allowed(method)
        unsupported = UNSUPPORTED.intersection(q)
        if unsupported or (request.key and "replication" in q):  # an object has none
            raise S3Error(
                501,
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
            )
        if not request.key:
            return self._route_bucket(request)
        for flag in OBJECT_SUBRESOURCES.keys() & q.keys():
            handler = OBJECT_SUBRESOURCES[flag].get(method)
            if handler is None:
                raise _not_allowed(method)
            if method == "PUT" and flag in OBJECT_PUT_ACTIONS:
                return _object_checked_first(OBJECT_PUT_ACTIONS[flag], handler)
            return handler
        if method == "PUT":
            if "uploadId" in q:
                if "partNumber" not in q:
                    raise _not_allowed(method, "UPLOAD")
                return multipart.upload_part
            if "partNumber" in q:
                raise S3Error(
                    400,
                    "InvalidArgument",
                    "This operation does not accept partNumber without uploadId",
                    ArgumentName="partNumber",
                    ArgumentValue=q["partNumber"],
                )
            return objects.put_object
        if method == "GET":
            return multipart.list_parts if "uploadId" in q else objects.get_object
        if method == "HEAD":
            return head_object
        if method == "DELETE":
            return multipart.abort_upload if "uploadId" in q else objects.delete_object
        if method == "POST":
            if "uploads" in q:
                return multipart.create_upload
            if "uploadId" in q:
                return multipart.complete_upload
        raise _not_allowed(method)

    def _route_bucket(self, request: S3Request) -> Handler:
        method, q = request.method, request.query
        region = self.settings.region or ""
        for flag in BUCKET_SUBRESOURCES.keys() & q.keys():
            handler = BUCKET_SUBRESOURCES[flag].get(method)
            if handler is None:
                raise _not_allowed(method, "BUCKET")
            if method == "PUT" and flag in BUCKET_PUT_SETTINGS:
                return _checked_first(BUCKET_PUT_SETTINGS[flag], handler)
            return handler
        if method == "GET":
            if "location" in q:
                return buckets.get_bucket_location
            if "uploads" in q:
                return multipart.list_uploads
            if "versioning" in q:
                return get_versioning
            if "versions" in q:
                return list_versions
            return buckets.list_objects
        if method == "PUT":
            if "versioning" in q:
                return _checked_first(BUCKET_PUT_SETTINGS["versioning"], put_versioning)

            async def create_bucket(store: Store, request: S3Request) -> Response:
                return await buckets.create_bucket(store, request, region)

            return create_bucket
        if method == "HEAD":
            return buckets.head_bucket
        if method == "DELETE":
            return buckets.delete_bucket
        if method == "POST" and "delete" in q:
            return buckets.delete_objects
        raise _not_allowed(method)

    def _error(self, request: S3Request, exc: S3Error | DoliumError) -> Response:
        if isinstance(exc, NotModified):
            return Response(
                304, [("etag", f'"{exc.etag}"'), ("last-modified", http_date(exc.modified))]
            )
        error = exc if isinstance(exc, S3Error) else to_s3_error(exc)
        if error.status >= 500 and isinstance(exc, DoliumError):
            log.error("request %s failed: %s", request.request_id, exc.message)
        body = xml.error_xml(
            error.code,
            error.message,
            resource=request.resource,
            request_id=request.request_id,
            host_id=request.request_id,
            **error.fields,
        )
        headers = [("content-type", "application/xml"), *error.headers.items()]
        return Response(error.status, headers, body)


def _creates_bucket(request: S3Request) -> bool:
    return (
        request.method == "PUT"
        and not request.key
        and not (request.query.keys() & BUCKET_SUBRESOURCES.keys())
        and "versioning" not in request.query
    )


async def head_object(store: Store, request: S3Request) -> Response:
    return await objects.get_object(store, request, head=True)


def _not_allowed(method: str, resource_type: str = "OBJECT") -> S3Error:
    return S3Error(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        Method=method,
        ResourceType=resource_type,
    )
