"""TempURL: a signed, expiring URL that grants one method on one object
(or on every object under a prefix) to whoever holds it, with no token.

The signature is an HMAC of `METHOD\\nEXPIRES\\nPATH` (with `ip=RANGE\\n`
first when the URL is limited to addresses, and `prefix:` before the path
for a prefix URL) under one of the account's or container's
`Temp-URL-Key`s. A URL that fails in any way is the same 401, so that it
tells a prober nothing. A valid one acts as the account's owner, within
the scope of its key: a container key reaches that container only.

What Swift's middleware does on the way back is done here too: user
metadata leaves the answer (but `X-Object-Meta-Public-*`), a GET or HEAD
says how to save the object (`Content-Disposition`) and until when the
URL holds (`Expires`).
"""

from __future__ import annotations

import calendar
import ipaddress
import time
from dataclasses import dataclass
from email.utils import formatdate
from posixpath import basename
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from dolium.core.store import Store
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.middleware import signatures
from dolium.frontends.swift.request import ACCOUNT_PREFIX
from dolium.model import Principal

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
# Headers that would let a PUT through the URL point at data the URL does
# not grant (a manifest's segments, a symlink's target).
DISALLOWED_HEADERS = ("x-object-manifest", "x-symlink-target")
INCOMING_REMOVE_HEADERS = ("x-timestamp", "x-open-expired")
OUTGOING_REMOVE_PREFIX = "x-object-meta-"
OUTGOING_ALLOW_PREFIX = "x-object-meta-public-"
ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
# Who a temp URL acts as, in the change log: Swift's name for it.
USER = ".wsgi.tempurl"

INFO: dict[str, object] = {
    "methods": list(METHODS),
    "incoming_remove_headers": list(INCOMING_REMOVE_HEADERS),
    "incoming_allow_headers": [],
    "outgoing_remove_headers": [OUTGOING_REMOVE_PREFIX + "*"],
    "outgoing_allow_headers": [OUTGOING_ALLOW_PREFIX + "*"],
    "allowed_digests": list(signatures.ALLOWED_DIGESTS),
    "deprecated_digests": list(signatures.DEPRECATED_DIGESTS),
}


def invalid() -> SwiftError:
    return SwiftError(401, "401 Unauthorized: Temp URL invalid\n")


@dataclass(frozen=True)
class Grant:
    """What a valid temp URL lets through, and what its answer must say."""

    principal: Principal
    scope: str
    # The container a container key confines the grant to; "" for an account key.
    container: str
    expires: int
    filename: str | None
    inline: bool


def requested(http: Request) -> bool:
    params = http.query_params
    return "temp_url_sig" in params or "temp_url_expires" in params


def _expires(value: str | None, now: float) -> int:
    """The expiry as a Unix time (an integer or ISO 8601 in UTC); 0 when
    malformed or past, which the caller refuses."""
    if value is None:
        return 0
    try:
        when = int(value)
    except ValueError:
        try:
            when = calendar.timegm(time.strptime(value, ISO8601))
        except ValueError:
            return 0
    return when if when >= now else 0


def _messages(method: str, expires: int, path: str, ip_range: str | None) -> list[str]:
    # A HEAD is allowed by a URL signed for any method that could read or
    # make the object.
    methods = ("HEAD", "GET", "POST", "PUT") if method == "HEAD" else (method,)
    lead = f"ip={ip_range}\n" if ip_range else ""
    return [f"{lead}{m}\n{expires}\n{path}" for m in methods]


def _address_allowed(http: Request, ip_range: str) -> bool:
    client = http.client.host if http.client else None
    if client is None:
        return False
    try:
        return ipaddress.ip_address(client) in ipaddress.ip_network(ip_range)
    except ValueError:
        return False


async def authorize(store: Store, http: Request, account: str, container: str, obj: str) -> Grant:
    """The grant of the request's temp URL; 401 for any URL that is not valid."""
    params = http.query_params
    sig = params.get("temp_url_sig")
    expires = _expires(params.get("temp_url_expires"), store.ctx.clock())
    if not sig or not expires or http.method not in METHODS or not container or not obj:
        raise invalid()
    parsed = signatures.parse_signature(sig)
    if parsed is None:
        raise invalid()
    algorithm, signature = parsed
    ip_range = params.get("temp_url_ip_range")
    if ip_range and not _address_allowed(http, ip_range):
        raise invalid()
    keys = await signatures.signing_keys(store, account, container)
    if not keys:
        raise invalid()
    prefix = params.get("temp_url_prefix")
    base = f"/v1/{ACCOUNT_PREFIX}{account}/{container}/"
    if prefix is None:
        path = base + obj
    elif obj.startswith(prefix):
        path = f"prefix:{base}{prefix}"
    else:
        raise invalid()
    messages = _messages(http.method, expires, path, ip_range)
    scope = signatures.matching_scope(keys, messages, algorithm, signature)
    if scope is None:
        raise invalid()
    if http.method not in ("GET", "HEAD"):
        for name in DISALLOWED_HEADERS:
            if name in http.headers:
                raise SwiftError(400, f"The header {name.title()!r} is not allowed in this tempurl")
    _check_copy_source(http, account, container, scope)
    principal = Principal(tenant=account, user=USER, admin=True)
    confined = container if scope == signatures.CONTAINER_SCOPE else ""
    return Grant(principal, scope, confined, expires, params.get("filename"), "inline" in params)


def _check_copy_source(http: Request, account: str, container: str, scope: str) -> None:
    """A PUT that copies reads its source as the URL's grant: within the
    account, or within the container for a container key; 401 beyond."""
    copy_from = http.headers.get("x-copy-from") if http.method == "PUT" else None
    if not copy_from:
        return
    source_account = http.headers.get("x-copy-from-account", account).removeprefix(ACCOUNT_PREFIX)
    source_container = unquote(copy_from).lstrip("/").partition("/")[0]
    if source_account != account or (
        scope == signatures.CONTAINER_SCOPE and source_container != container
    ):
        raise invalid()


def _disposition(kind: str, filename: str) -> str:
    # RFC 6266 with RFC 5987's filename*: charset, an empty language, the name.
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"


def finish(response: Response, grant: Grant, method: str, obj: str) -> None:
    """Reshape the answer to a temp URL request as Swift's middleware does."""
    headers = response.headers
    for name in list(headers.keys()):
        if name.startswith(OUTGOING_REMOVE_PREFIX) and not name.startswith(OUTGOING_ALLOW_PREFIX):
            del headers[name]
    if method not in ("GET", "HEAD") or not 200 <= response.status_code < 300:
        return
    existing = headers.get("content-disposition")
    if grant.inline:
        value = _disposition("inline", grant.filename) if grant.filename else "inline"
    elif grant.filename:
        value = _disposition("attachment", grant.filename)
    elif existing:
        value = existing
    else:
        value = _disposition("attachment", basename(obj.rstrip("/")))
    headers["Content-Disposition"] = value.replace("\n", "%0A")
    headers["Expires"] = formatdate(grant.expires, usegmt=True)
