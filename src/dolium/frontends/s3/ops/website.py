"""S3 static website hosting: Get/Put/DeleteBucketWebsite and the website endpoint.

A request whose Host is `<bucket>.<website domain>` is served here, as S3's
website endpoint serves it (the routing is `dolium.core.buckets.website`'s): only GET
and HEAD (and CORS preflights), always anonymous whatever the request
carries, query strings ignored, errors as HTML pages with the x-amz-error-*
headers, the bucket's error document for 4XX errors when it has one.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import replace
from http import HTTPStatus
from urllib.parse import quote
from xml.etree.ElementTree import Element

from dolium.core.access.decisions import ANONYMOUS
from dolium.core.buckets.website import (
    Condition,
    Redirect,
    RedirectAll,
    RoutingRule,
    Target,
    Website,
    WebsiteConfig,
    index_key,
    match,
)
from dolium.core.objects.conditions import parse_range
from dolium.core.store import Store
from dolium.errors import (
    AccessDenied,
    DoliumError,
    InvalidArgument,
    NoSuchKey,
    NotFound,
    NotModified,
)
from dolium.frontends.s3.auth.facts import of_request
from dolium.frontends.s3.errors import S3Error, to_s3_error
from dolium.frontends.s3.ops import cors
from dolium.frontends.s3.ops.objects import check_conditions, data_response, principal_of
from dolium.frontends.s3.ops.subresources import (
    XML,
    Routes,
    invalid_argument,
    not_found,
    read_checked_body,
)
from dolium.frontends.s3.rules.website import check_website
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.headers import REDIRECT_LOCATION, http_date, object_headers
from dolium.frontends.s3.wire.http import Headers, Response, S3Request
from dolium.model import Bucket, ObjectVersion, Principal, Versioning

log = logging.getLogger("dolium.s3")

HTML = ("content-type", "text/html; charset=utf-8")
# Characters left as they are in a redirect's path (S3 escapes the rest).
_PATH_SAFE = "/~!$&'()*+,;=:@"


# --------------------------------------------------------------------------- configuration


def _fields(element: Element, allowed: tuple[str, ...]) -> dict[str, str]:
    """The text of `element`'s children, each allowed and given at most once."""
    found: dict[str, str] = {}
    for tag, child in xml._children(element):
        if tag not in allowed or tag in found or len(child):
            raise xml.malformed()
        found[tag] = xml._text(child)
    return found


def parse_website(body: bytes) -> WebsiteConfig:
    """A PutBucketWebsite body against S3's schema; S3's checks of the values are
    `check_website`."""
    root = xml._parse(body, "WebsiteConfiguration")
    seen: set[str] = set()
    config = WebsiteConfig()
    for tag, element in xml._children(root):
        if tag in seen:
            raise xml.malformed()
        seen.add(tag)
        if tag == "IndexDocument":
            index = _fields(element, ("Suffix",))
            config = replace(config, index_suffix=index.get("Suffix", ""))
        elif tag == "ErrorDocument":
            error = _fields(element, ("Key",))
            if "Key" not in error:
                raise xml.malformed()
            config = replace(config, error_key=error["Key"])
        elif tag == "RedirectAllRequestsTo":
            to = _fields(element, ("HostName", "Protocol"))
            if "HostName" not in to:
                raise xml.malformed()
            protocol = to.get("Protocol")
            config = replace(
                config,
                redirect_all=RedirectAll(
                    to["HostName"].strip(), protocol.strip() if protocol is not None else None
                ),
            )
        elif tag == "RoutingRules":
            rules = tuple(_parse_rule(child, name) for name, child in xml._children(element))
            config = replace(config, rules=rules, has_rules=True)
        else:
            raise xml.malformed()
    return config


def _parse_rule(element: Element, tag: str) -> RoutingRule:
    if tag != "RoutingRule":
        raise xml.malformed()
    parts: dict[str, Element] = {}
    for name, child in xml._children(element):
        if name not in ("Condition", "Redirect") or name in parts:
            raise xml.malformed()
        parts[name] = child
    if "Redirect" not in parts:
        raise xml.malformed()
    r = _fields(
        parts["Redirect"],
        ("HostName", "HttpRedirectCode", "Protocol", "ReplaceKeyPrefixWith", "ReplaceKeyWith"),
    )
    redirect = Redirect(
        host=r["HostName"].strip() if "HostName" in r else None,
        protocol=r["Protocol"].strip() if "Protocol" in r else None,
        replace_key_prefix=r.get("ReplaceKeyPrefixWith"),
        replace_key=r.get("ReplaceKeyWith"),
        code=r.get("HttpRedirectCode"),
    )
    condition = None
    if "Condition" in parts:
        c = _fields(parts["Condition"], ("HttpErrorCodeReturnedEquals", "KeyPrefixEquals"))
        condition = Condition(
            key_prefix=c.get("KeyPrefixEquals"), error_code=c.get("HttpErrorCodeReturnedEquals")
        )
    return RoutingRule(redirect=redirect, condition=condition)


def render_website(config: WebsiteConfig) -> bytes:
    content: list[tuple[str, object]] = []
    if config.redirect_all is not None:
        to = config.redirect_all
        content.append(("RedirectAllRequestsTo", {"HostName": to.host, "Protocol": to.protocol}))
    if config.index_suffix is not None:
        content.append(("IndexDocument", {"Suffix": config.index_suffix}))
    if config.error_key is not None:
        content.append(("ErrorDocument", {"Key": config.error_key}))
    if config.rules:
        content.append(("RoutingRules", [("RoutingRule", _rule_xml(r)) for r in config.rules]))
    return xml.render("WebsiteConfiguration", content)


def _rule_xml(rule: RoutingRule) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if rule.condition is not None:
        c = rule.condition
        out.append(
            (
                "Condition",
                {"HttpErrorCodeReturnedEquals": c.error_code, "KeyPrefixEquals": c.key_prefix},
            )
        )
    r = rule.redirect
    redirect = {
        "HostName": r.host,
        "HttpRedirectCode": r.code,
        "Protocol": r.protocol,
        "ReplaceKeyPrefixWith": r.replace_key_prefix,
        "ReplaceKeyWith": r.replace_key,
    }
    out.append(("Redirect", redirect))
    return out


async def get_website(store: Store, request: S3Request) -> Response:
    config = await store.website.get(principal_of(request), request.bucket)
    if config is None:
        raise no_website(request.bucket)
    return Response(200, [XML], render_website(config))


async def put_website(store: Store, request: S3Request) -> Response:
    body = await read_checked_body(request)
    config = parse_website(body)
    try:
        await store.website.put(
            principal_of(request), request.bucket, config, approve=check_website
        )
    except InvalidArgument as exc:
        raise invalid_argument(exc) from exc
    return Response(200)


async def delete_website(store: Store, request: S3Request) -> Response:
    await store.website.delete(principal_of(request), request.bucket)
    return Response(204)


def no_website(bucket: str) -> S3Error:
    return not_found(
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration",
        bucket,
    )


ROUTES: Routes = {"website": {"GET": get_website, "PUT": put_website, "DELETE": delete_website}}


# --------------------------------------------------------------------------- the endpoint


def site_of(host: str, domains: Sequence[str]) -> str | None:
    """The bucket a website host names ("" for a bare website domain), else None."""
    hostname = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
    for domain in domains:
        base = domain.lower()
        if hostname == base:
            return ""
        if hostname.endswith("." + base):
            return hostname[: -len(base) - 1]
    return None


async def serve(store: Store, request: S3Request) -> Response:
    """Answer a request to a website host; `request.bucket` and `.key` come from Host and path."""
    principal = of_request(request, ANONYMOUS)
    request.principal = principal
    try:
        return await _serve(store, request, principal)
    except NotModified as exc:
        return _not_modified(exc)
    except (S3Error, DoliumError) as exc:
        return error_page(request, _wire_error(request, exc))


async def _serve(store: Store, request: S3Request, principal: Principal) -> Response:
    if "__invalid__" in request.query:
        raise S3Error(400, "InvalidURI", "Couldn't parse the specified URI.")
    if request.method == "OPTIONS" and request.bucket:
        return await cors.preflight(store, request)
    if request.method not in ("GET", "HEAD"):
        raise S3Error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            Method=request.method,
            ResourceType="OBJECT",
        )
    if not request.bucket:
        raise S3Error(
            404, "NoSuchBucket", "The specified bucket does not exist", BucketName=request.bucket
        )
    site = store.website
    bucket, config = await site.site(request.bucket)
    if config is None:
        raise no_website(request.bucket)
    key = request.key
    if config.redirect_all is not None:
        to = config.redirect_all
        query = f"?{request.query_string}" if request.query_string else ""
        return _redirect(request, Target(key, to.host, to.protocol, 301), query)
    target = match(config.rules, key)
    if target is not None:
        return _redirect(request, target)
    try:
        version = await _resolve(site, principal, bucket, key, config.index_suffix or "")
        if isinstance(version, Response):
            return version
        return await _send(store, request, bucket, version)
    except NotModified:
        raise
    except (S3Error, DoliumError) as exc:
        return await _failed(store, request, principal, bucket, config, _wire_error(request, exc))


async def _resolve(
    site: Website, principal: Principal, bucket: Bucket, key: str, suffix: str
) -> ObjectVersion | Response:
    """The version a request for `key` reads, or the redirect to its folder."""
    try:
        return await site.read(principal, bucket, index_key(key, suffix))
    except (NoSuchKey, AccessDenied) as exc:
        missing = isinstance(exc, NoSuchKey) or exc.context.get("missing")
        if not missing or not key or key.endswith("/"):
            raise
        try:
            await site.read(principal, bucket, f"{key}/{suffix}")
        except (NoSuchKey, AccessDenied):
            raise exc from None
        return Response(302, [("location", "/" + quote(key, safe=_PATH_SAFE) + "/")])


async def _send(
    store: Store, request: S3Request, bucket: Bucket, version: ObjectVersion
) -> Response:
    location = version.headers.get(REDIRECT_LOCATION)
    if location:
        return Response(301, [("location", location)])
    check_conditions(request, version)
    byte_range = parse_range(request.header("range"), version.size)
    headers = object_headers(
        version, checksums=False, versioned=bucket.versioning != Versioning.UNVERSIONED
    )
    return await data_response(
        store, version, headers, byte_range=byte_range, head=request.method == "HEAD"
    )


async def _failed(
    store: Store,
    request: S3Request,
    principal: Principal,
    bucket: Bucket,
    config: WebsiteConfig,
    error: S3Error,
) -> Response:
    """A read failed: a routing rule for its code, the error document, or S3's page."""
    target = match(config.rules, request.key, error.status)
    if target is not None:
        return _redirect(request, target)
    if config.error_key is None or not 400 <= error.status < 500:
        return error_page(request, error)
    try:
        document = await store.website.read(principal, bucket, config.error_key)
        headers = object_headers(document, checksums=False, versioned=False)
        headers.extend(_error_headers(error))
        return await data_response(
            store, document, headers, error.status, head=request.method == "HEAD"
        )
    except (S3Error, DoliumError) as exc:
        return error_page(request, error, _wire_error(request, exc))


def _redirect(request: S3Request, target: Target, query: str = "") -> Response:
    protocol = target.protocol or ("https" if request.secure else "http")
    host = target.host or request.header("host") or ""
    path = quote(target.key, safe=_PATH_SAFE)
    return Response(target.status, [("location", f"{protocol}://{host}/{path}{query}")])


def _not_modified(exc: NotModified) -> Response:
    return Response(304, [("etag", f'"{exc.etag}"'), ("last-modified", http_date(exc.modified))])


def _wire_error(request: S3Request, exc: S3Error | DoliumError) -> S3Error:
    if isinstance(exc, S3Error):
        return exc
    error = to_s3_error(exc)
    if error.status >= 500:
        log.error("request %s failed: %s", request.request_id, exc.message)
    # The page names what was not found, as S3's does.
    for name, key in (("Key", "key"), ("BucketName", "bucket")):
        if isinstance(exc, NotFound) and key in exc.context:
            error.fields[name] = str(exc.context[key])
    return error


def _error_headers(error: S3Error) -> Headers:
    return [("x-amz-error-code", error.code), ("x-amz-error-message", error.message)]


def _items(error: S3Error, request_id: str | None) -> str:
    lines = [f"<li>Code: {html.escape(error.code)}</li>"]
    lines.append(f"<li>Message: {html.escape(error.message)}</li>")
    lines.extend(f"<li>{name}: {html.escape(value)}</li>" for name, value in error.fields.items())
    if request_id is not None:
        lines.append(f"<li>RequestId: {request_id}</li>")
        lines.append(f"<li>HostId: {request_id}</li>")
    return "<ul>\n" + "\n".join(lines) + "\n</ul>\n"


def error_page(
    request: S3Request, error: S3Error, document_error: S3Error | None = None
) -> Response:
    """S3's own HTML page for an error, and why the error document failed, if it did."""
    try:
        phrase = HTTPStatus(error.status).phrase
    except ValueError:
        phrase = ""
    title = f"{error.status} {phrase}".strip()
    page = f"<html>\n<head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n"
    page += _items(error, request.request_id)
    if document_error is not None:
        page += "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n"
        page += _items(document_error, None)
    page += "<hr/>\n</body>\n</html>\n"
    headers = [HTML, *_error_headers(error), *error.headers.items()]
    return Response(error.status, headers, page.encode())
