"""CORS on Swift paths, as Swift's proxy does it from container metadata.

A container allows cross-origin use with `X-Container-Meta-Access-Control-
Allow-Origin` (origins separated by spaces, or `*`), `-Max-Age` and
`-Expose-Headers`:

- a preflight `OPTIONS` on the container or one of its objects, with
  `Origin` and `Access-Control-Request-Method`, is 200 with
  `Access-Control-Allow-Origin` / `-Allow-Methods` / `-Allow-Headers` (the
  requested ones) / `-Max-Age` when the origin is allowed and the method is
  one the path takes, else 401; an `OPTIONS` without `Origin` is 200 with
  `Allow`; no token is needed for either;
- an actual request with an `Origin` the container allows gets
  `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` (Swift's
  simple response headers, the object's metadata headers, and the
  container's list), also on errors. Nothing is added otherwise (Swift's
  strict CORS mode).

The settings are read without a permission check: they are what the
container's owner publishes to browsers, and a preflight carries no token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dolium.core.store import Store
from dolium.errors import NoSuchBucket
from dolium.model import container_address

ALLOW_ORIGIN = "access-control-allow-origin"
MAX_AGE = "access-control-max-age"
EXPOSE_HEADERS = "access-control-expose-headers"
CONTAINER_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")
OBJECT_METHODS = ("COPY", "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")
ACCOUNT_METHODS = ("GET", "HEAD", "OPTIONS", "POST")
# What Swift always exposes to a script, beside the metadata headers.
SIMPLE_EXPOSED = (
    "cache-control",
    "content-language",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
    "etag",
    "x-timestamp",
    "x-trans-id",
    "x-openstack-request-id",
)


async def _settings(store: Store, tenant: str, container: str) -> dict[str, str]:
    try:
        return await store.containers.stored_meta(container_address(tenant, container))
    except NoSuchBucket:
        return {}


def _allowed_origin(settings: dict[str, str], origin: str) -> str | None:
    """What Access-Control-Allow-Origin says for `origin` (None: not allowed)."""
    allowed = settings.get(ALLOW_ORIGIN, "").split()
    if allowed == ["*"]:
        return "*"
    return origin if origin in allowed or "*" in allowed else None


async def preflight(store: Store, http: Request, tenant: str, container: str, obj: str) -> Response:
    methods = OBJECT_METHODS if obj else CONTAINER_METHODS if container else ACCOUNT_METHODS
    headers = {"Allow": ", ".join(methods)}
    origin = http.headers.get("origin")
    if not origin or not container:
        return Response(status_code=200, headers=headers)
    settings = await _settings(store, tenant, container)
    allowed = _allowed_origin(settings, origin)
    if allowed is None or http.headers.get("access-control-request-method") not in methods:
        return Response(status_code=401, headers=headers)
    headers["Access-Control-Allow-Origin"] = allowed
    headers["Vary"] = "Origin"
    headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    if settings.get(MAX_AGE):
        headers["Access-Control-Max-Age"] = settings[MAX_AGE]
    asked = http.headers.get("access-control-request-headers")
    if asked:
        headers["Access-Control-Allow-Headers"] = asked
    return Response(status_code=200, headers=headers)


async def add_headers(
    store: Store, http: Request, tenant: str, container: str, response: Response
) -> None:
    """The CORS headers of an actual request from an allowed origin."""
    origin = http.headers.get("origin")
    if not origin or not container:
        return
    settings = await _settings(store, tenant, container)
    allowed = _allowed_origin(settings, origin)
    if allowed is None:
        return
    exposed = list(SIMPLE_EXPOSED)
    exposed += [
        name
        for name in response.headers
        if name.startswith(("x-object-meta-", "x-container-meta-")) and name not in exposed
    ]
    exposed += [h.strip().lower() for h in settings.get(EXPOSE_HEADERS, "").split(",") if h.strip()]
    response.headers["Access-Control-Allow-Origin"] = allowed
    response.headers["Access-Control-Expose-Headers"] = ", ".join(dict.fromkeys(exposed))
    if allowed != "*":
        response.headers["Vary"] = "Origin"
