"""Swift v1 auth: a user and key in, a signed token and storage URL out.

`GET /auth/v1.0` with `X-Auth-User: tenant:user` (or `X-Storage-User`) and
`X-Auth-Key` (or `X-Storage-Pass`): the key is the secret of one of the
user's active access keys. Tokens come back in `X-Auth-Token` (and
`X-Storage-Token`, as tempauth sends both) and are accepted in either
header or as `?X-Auth-Token=`.

Neither tokens nor keys are ever logged or put in an error body.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dolium.core.store import Store
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.request import ACCOUNT_PREFIX
from dolium.frontends.swift.tokens import TokenSigner
from dolium.model import Principal
from dolium.protocols.keys import KeyStore


def _request_token(http: Request) -> str:
    return (
        http.headers.get("x-auth-token")
        or http.headers.get("x-storage-token")
        or http.query_params.get("X-Auth-Token", "")
    )


def carries_token(http: Request) -> bool:
    """Whether the request sends a token at all (valid or not)."""
    return bool(_request_token(http))


def storage_url(http: Request, tenant: str) -> str:
    """Where the account lives, on the host and scheme the client reached us by."""
    scheme = http.url.scheme
    forwarded = http.headers.get("x-forwarded-proto", "").lower()
    if forwarded in ("http", "https"):
        # Behind a TLS-terminating proxy the client's scheme is the proxy's.
        scheme = forwarded
    host = http.headers.get("host") or http.url.netloc
    return f"{scheme}://{host}/v1/{ACCOUNT_PREFIX}{tenant}"


async def login(store: Store, signer: TokenSigner, http: Request) -> Response:
    if http.method not in ("GET", "HEAD"):
        raise SwiftError(405)
    user_header = http.headers.get("x-auth-user") or http.headers.get("x-storage-user") or ""
    key = http.headers.get("x-auth-key") or http.headers.get("x-storage-pass") or ""
    tenant, colon, user = user_header.partition(":")
    if not colon:
        raise SwiftError(401)
    found = await store.user_secrets.verify(tenant, user, key)
    if found is None:
        raise SwiftError(401)
    now = store.ctx.clock()
    token, expires = signer.issue(found.tenant, found.user, found.access_key, now)
    url = storage_url(http, found.tenant)
    return Response(
        status_code=200,
        headers={
            "X-Auth-Token": token,
            "X-Storage-Token": token,
            "X-Storage-Url": url,
            "X-Auth-Token-Expires": str(int(expires - now)),
            "Content-Type": "text/plain; charset=utf-8",
        },
    )


ANONYMOUS = Principal(tenant="", user="")


async def authenticate(
    store: Store, signer: TokenSigner, keys: KeyStore, http: Request
) -> Principal:
    """The principal behind the request's token, anonymous without one; 401
    for a token that is not valid (forged, expired, or of a revoked key)."""
    token = _request_token(http)
    if not token:
        return ANONYMOUS
    claims = signer.verify(token, store.ctx.clock())
    if claims is None:
        raise SwiftError(401)
    # The key that logged in must still be active and still the same user's.
    found = await keys.lookup(claims.access_key)
    if found is None:
        raise SwiftError(401)
    _, principal = found
    if (principal.tenant, principal.user) != (claims.tenant, claims.user):
        raise SwiftError(401)
    return principal


def is_owner(principal: Principal, account: str) -> bool:
    """Only admin users of an account's tenant act as its owner; its other
    users are members, who get what container ACLs grant."""
    return principal.tenant == account and principal.admin


def is_member(principal: Principal, account: str) -> bool:
    return principal.tenant == account and not principal.admin


def is_stranger(principal: Principal, account: str) -> bool:
    """A caller with a token, of another account."""
    return not principal.anonymous and principal.tenant != account


def refusal(principal: Principal) -> SwiftError:
    """401 for a caller who sent no token (credentials might help), 403 otherwise."""
    return SwiftError(401 if principal.anonymous else 403)


def check_account_owner(principal: Principal, account: str) -> None:
    if not is_owner(principal, account):
        raise refusal(principal)
