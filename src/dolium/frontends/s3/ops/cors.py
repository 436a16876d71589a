"""S3 CORS: Get/Put/DeleteBucketCors, the preflight OPTIONS request, and the
CORS headers of actual cross-origin requests.

A preflight is answered before authentication (browsers send no credentials
with it). An actual request with an Origin header gets the matching rule's
headers on its response, an error response included, as S3 does; a request
that no rule allows gets none and is otherwise served as usual (S3 refuses
only preflights).
"""

from __future__ import annotations

import logging
from xml.etree.ElementTree import Element

from dolium.core.buckets.cors import CorsRule, match, split_header_list
from dolium.core.store import Store
from dolium.errors import NoSuchBucket
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, not_found, read_checked_body
from dolium.frontends.s3.rules.cors import check_cors
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Headers, Response, S3Request

log = logging.getLogger("dolium.s3")

# S3 limits the document to 64 KB.
MAX_CORS_BODY = 64 * 1024

NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers"
    " are not whitelisted by the resource's CORS spec."
)
VARY = ("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")


# --------------------------------------------------------------------------- configuration


def parse_cors(body: bytes) -> list[CorsRule]:
    """The rules of a PutBucketCors body; S3's checks of the values are `check_cors`."""
    return [_parse_rule(e) for e in xml.parse_list(body, "CORSConfiguration", "CORSRule")]


def _parse_rule(element: Element) -> CorsRule:
    lists: dict[str, list[str]] = {
        "AllowedOrigin": [],
        "AllowedMethod": [],
        "AllowedHeader": [],
        "ExposeHeader": [],
    }
    singles: dict[str, str] = {}
    for tag, child in xml._children(element):
        value = xml._text(child).strip()
        if tag in lists:
            lists[tag].append(value)
        elif tag in ("ID", "MaxAgeSeconds") and tag not in singles:
            singles[tag] = value
        else:
            raise xml.malformed()
    max_age = singles.get("MaxAgeSeconds")
    # One sign at most ("--5" is not a number), and few enough digits for int().
    digits = max_age.removeprefix("-") if max_age is not None else ""
    if max_age is not None and not (digits.isdigit() and digits.isascii() and len(digits) <= 18):
        raise xml.malformed()
    return CorsRule(
        allowed_origins=tuple(lists["AllowedOrigin"]),
        allowed_methods=tuple(lists["AllowedMethod"]),
        allowed_headers=tuple(lists["AllowedHeader"]),
        expose_headers=tuple(lists["ExposeHeader"]),
        max_age_seconds=int(max_age) if max_age is not None else None,
        id=singles.get("ID"),
    )


def render_cors(rules: tuple[CorsRule, ...]) -> bytes:
    return xml.render(
        "CORSConfiguration",
        [
            (
                "CORSRule",
                {
                    "AllowedHeader": list(r.allowed_headers),
                    "AllowedMethod": list(r.allowed_methods),
                    "AllowedOrigin": list(r.allowed_origins),
                    "ExposeHeader": list(r.expose_headers),
                    "ID": r.id,
                    "MaxAgeSeconds": r.max_age_seconds,
                },
            )
            for r in rules
        ],
    )


async def get_cors(store: Store, request: S3Request) -> Response:
    rules = await store.cors.get(principal_of(request), request.bucket)
    if rules is None:
        raise not_found(
            "NoSuchCORSConfiguration", "The CORS configuration does not exist", request.bucket
        )
    return Response(200, [XML], render_cors(rules))


async def put_cors(store: Store, request: S3Request) -> Response:
    body = await read_checked_body(request, MAX_CORS_BODY)
    rules = parse_cors(body)
    check_cors(rules)
    await store.cors.put(principal_of(request), request.bucket, rules)
    return Response(200)


async def delete_cors(store: Store, request: S3Request) -> Response:
    await store.cors.delete(principal_of(request), request.bucket)
    return Response(204)


ROUTES: Routes = {"cors": {"GET": get_cors, "PUT": put_cors, "DELETE": delete_cors}}


# --------------------------------------------------------------------------- requests


def _forbidden(message: str, method: str, resource_type: str) -> S3Error:
    return S3Error(403, "AccessForbidden", message, Method=method, ResourceType=resource_type)


def _rule_headers(rule: CorsRule, origin: str) -> Headers:
    allow_origin = rule.allow_origin(origin) or origin
    headers: Headers = [
        ("access-control-allow-origin", allow_origin),
        ("access-control-allow-methods", ", ".join(rule.allowed_methods)),
    ]
    if rule.expose_headers:
        headers.append(("access-control-expose-headers", ", ".join(rule.expose_headers)))
    if rule.max_age_seconds is not None:
        headers.append(("access-control-max-age", str(rule.max_age_seconds)))
    # A rule open to every origin ("*") answers "*", which browsers never
    # accept with credentials; a named origin may send them.
    if allow_origin != "*":
        headers.append(("access-control-allow-credentials", "true"))
    headers.append(VARY)
    return headers


async def preflight(store: Store, request: S3Request) -> Response:
    """OPTIONS on a bucket or object: may the browser send the actual request?"""
    origin = request.header("origin")
    if origin is None:
        raise S3Error(400, "BadRequest", "Insufficient information. Origin request header needed.")
    method = request.header("access-control-request-method")
    try:
        rules = await store.cors.lookup(request.bucket)
    except NoSuchBucket:
        raise _forbidden("CORSResponse: Bucket not found", method or "OPTIONS", "BUCKET") from None
    if rules is None:
        raise _forbidden(
            "CORSResponse: CORS is not enabled for this bucket.", method or "OPTIONS", "BUCKET"
        )
    if method is None:
        raise S3Error(
            400,
            "BadRequest",
            "Insufficient information. Access-Control-Request-Method request header needed.",
        )
    requested = split_header_list(request.header("access-control-request-headers"))
    rule = match(rules, origin, method, requested)
    if rule is None:
        raise _forbidden(NOT_ALLOWED, method, "OBJECT" if request.key else "BUCKET")
    headers = _rule_headers(rule, origin)
    if requested:
        headers.append(("access-control-allow-headers", ", ".join(requested)))
    return Response(200, headers)


async def response_headers(store: Store, request: S3Request) -> Headers:
    """The CORS headers for the response to an actual (non-preflight) request.

    Nothing without an Origin header, so a plain request costs no lookup.
    As on S3, an Access-Control-Request-Method header, if sent, stands for
    the method, and the request's own headers are not checked.
    """
    origin = request.header("origin")
    if origin is None or not request.bucket or request.method == "OPTIONS":
        return []
    try:
        rules = await store.cors.lookup(request.bucket)
    except NoSuchBucket:
        return []
    except Exception:
        # The response itself is still worth sending without CORS headers.
        log.exception("request %s: CORS lookup failed", request.request_id)
        return []
    if not rules:
        return []
    method = request.header("access-control-request-method") or request.method
    rule = match(rules, origin, method)
    return _rule_headers(rule, origin) if rule is not None else []
