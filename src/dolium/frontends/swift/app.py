"""The Swift front end as an ASGI application: authenticate, route, answer.

Paths: `/auth/v1.0` (log in), `/info` (capabilities), and
`/v1/AUTH_<tenant>[/<container>[/<object>]]`. The account is its owner's
(an admin user of the tenant); containers and objects are also open to
what container ACLs grant, to members of the account, other tenants, and
callers with no token at all. Every answer carries
`X-Trans-Id` and `X-Openstack-Request-Id`. A `DoliumError` becomes Swift's
status through `errors.SWIFT_STATUSES`, a `SwiftError` is answered as it
says; anything else is logged with the transaction id and answered with a
bare 500, never a traceback.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from dolium.core.access import swift_account_acl as acl_levels
from dolium.core.access.actions import Action
from dolium.core.caches import REQUEST_SCOPE
from dolium.core.objects.conditions import format_http_date
from dolium.core.store import Store
from dolium.errors import AccessDenied, DoliumError, NotModified
from dolium.frontends import PRINCIPAL_KEY
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError, html_body, to_swift_error
from dolium.frontends.swift.largeobjects import slo
from dolium.frontends.swift.middleware import cors, formpost, quotas, staticweb, tempurl
from dolium.frontends.swift.ops import (
    account,
    bulk_delete,
    container,
    extract_archive,
    info,
    object_copy,
    object_versions,
    objects,
    pithos,
)
from dolium.frontends.swift.pithos import (
    delimited,
    form_upload,
    moves,
    public,
    purges,
    updates,
)
from dolium.frontends.swift.pithos import listings as shared_listings
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.tokens import TokenSigner
from dolium.model import Principal, container_address
from dolium.protocols.keys import KeyStore

log = logging.getLogger("dolium.swift")

Handler = Callable[[SwiftRequest], Awaitable[Response]]

AUTH_PATHS = frozenset({"/auth/v1.0", "/auth/v1.0/"})
INFO_PATH = "/info"
API_PREFIX = "/v1/"

ACCOUNT_ROUTES: dict[str, Handler] = {
    "GET": account.head_or_get,
    "HEAD": account.head_or_get,
    "POST": account.post,
    "PUT": account.refuse,
    "DELETE": account.refuse,
}
CONTAINER_ROUTES: dict[str, Handler] = {
    "GET": container.head_or_get,
    "HEAD": container.head_or_get,
    "PUT": container.put,
    "POST": container.post,
    "DELETE": container.delete,
}
# What a member of the account needs the container's ACL to grant, by
# (level, method); the owner's own requests never reach this table.
# Who of an account ACL may do what its owner does: change the account, or
# its containers' settings.
ADMIN_ONLY = (acl_levels.ADMIN,)
WRITERS = (acl_levels.ADMIN, acl_levels.READ_WRITE)
MEMBER_ACTIONS = {
    ("container", "GET"): Action.LIST,
    ("container", "HEAD"): Action.LIST,
    ("object", "GET"): Action.READ,
    ("object", "HEAD"): Action.READ,
    ("object", "PUT"): Action.WRITE,
    ("object", "POST"): Action.WRITE,
    ("object", "DELETE"): Action.DELETE,
    ("object", "COPY"): Action.READ,
    ("object", "MOVE"): Action.DELETE,
}
# Pithos: with ?delimiter, also every object under the one named.
DELIMITED_ROUTES: dict[str, Handler] = {
    "DELETE": delimited.delete,
    "COPY": delimited.copy,
    "MOVE": delimited.move,
}
OBJECT_ROUTES: dict[str, Handler] = {
    "GET": objects.head_or_get,
    "HEAD": objects.head_or_get,
    "POST": objects.post,
    "DELETE": objects.delete,
    "COPY": object_copy.copy,
    "MOVE": moves.move,
}
# The reads a static web site answers in its own way (staticweb).
SITE_HANDLERS = (container.head_or_get, objects.head_or_get)


def is_swift_path(path: str) -> bool:
    """Whether the composition root should hand this path to Swift."""
    return path.startswith(API_PREFIX) or path in AUTH_PATHS or path == INFO_PATH


def new_trans_id() -> str:
    """Swift's form: "tx", 21 hex digits, "-", the time in hex."""
    return f"tx{secrets.token_hex(11)[:21]}-{int(time.time()):010x}"


# Methods that change state: refused, they are recorded (Store.refused).
_CHANGES = frozenset({"PUT", "POST", "DELETE", "COPY", "MOVE"})
# Where _answer leaves the authenticated principal for the refusal record.
_PRINCIPAL = "dolium.swift.principal"


class SwiftApp:
    def __init__(
        self,
        store: Store,
        keys: KeyStore,
        signer: TokenSigner,
        policies: Sequence[str] = ("standard",),
        default_policy: str = "standard",
    ) -> None:
        self.store = store
        self.keys = keys
        self.signer = signer
        self.policies = tuple(policies)
        self.default_policy = default_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http = Request(scope, receive)
        trans_id = new_trans_id()
        REQUEST_SCOPE.set(object())  # the caches read the config epoch once per request
        try:
            response = await self._answer(http, trans_id)
        except ClientDisconnect:
            return
        except Exception as exc:
            response = self._error(exc, http, trans_id)
            if response.status_code == 403 and http.method in _CHANGES:
                await self._record_refusal(http)
        if "origin" in http.headers and http.method != "OPTIONS":
            await self._cors(http, response)
        response.headers["X-Trans-Id"] = trans_id
        response.headers["X-Openstack-Request-Id"] = trans_id
        await response(scope, receive, send)

    async def _cors(self, http: Request, response: Response) -> None:
        """Cross-origin answers get their CORS headers on errors too, as in Swift."""
        path: str = http.scope["path"]
        if not path.startswith(API_PREFIX + ACCOUNT_PREFIX):
            return
        account, _, rest = path[len(API_PREFIX) :].partition("/")
        container = rest.partition("/")[0]
        try:
            await cors.add_headers(
                self.store, http, account[len(ACCOUNT_PREFIX) :], container, response
            )
        except DoliumError as exc:
            log.warning("CORS headers not added: %s", exc.message)

    async def _record_refusal(self, http: Request) -> None:
        """A refused request that would have changed state goes to the audit log
        (as the S3 front end's do); its answer stands whatever happens here."""
        principal = http.scope.get(_PRINCIPAL)
        if not isinstance(principal, Principal) or principal.anonymous:
            return
        account, _, rest = http.scope["path"][len(API_PREFIX) :].partition("/")
        container, _, obj = rest.partition("/")
        tenant = account[len(ACCOUNT_PREFIX) :]
        address = container_address(tenant, container) if container else ""
        try:
            await self.store.refused(principal, http.method, address, obj)
        except DoliumError as exc:
            log.warning("refusal not recorded: %s", exc.message)

    def _error(self, exc: Exception, http: Request, trans_id: str) -> Response:
        if isinstance(exc, NotModified):
            response = Response(status_code=304)
            response.headers["Etag"] = exc.etag
            response.headers["Last-Modified"] = format_http_date(exc.modified)
            del response.headers["content-length"]
            return response
        error: SwiftError | None
        if isinstance(exc, SwiftError):
            error = exc
        elif isinstance(exc, DoliumError):
            error = to_swift_error(exc)
        else:
            error = None
        if error is None:
            # Never the exception's text on the wire; the path, not the query,
            # in the log, since a query may carry a token.
            log.error("%s %s failed [%s]", http.method, http.scope["path"], trans_id, exc_info=exc)
            error = SwiftError(500)
        if error.text:
            body, media = error.text.encode(), "text/plain; charset=UTF-8"
        else:
            body, media = html_body(error.status), "text/html; charset=UTF-8"
        if http.method == "HEAD" or error.status == 304:
            body = b""
        response = Response(body, status_code=error.status, media_type=media)
        for name, value in error.headers:
            response.headers.append(name, value)
        return response

    async def _answer(self, http: Request, trans_id: str) -> Response:
        # The decoded path from the server: an encoded "?" or "#" in an object
        # name stays part of the name.
        path: str = http.scope["path"]
        if path in AUTH_PATHS:
            return await auth.login(self.store, self.signer, http)
        if path == INFO_PATH:
            return info.info(http.method, self.policies, self.default_policy)
        if public.is_public_path(path):
            # A public link is its own credential: no token is read.
            return await public.serve(self.store, http, trans_id)
        account_part, _, rest = path[len(API_PREFIX) :].partition("/")
        if not account_part and not rest:
            # Pithos: the accounts that share something with the caller.
            principal = await auth.authenticate(self.store, self.signer, self.keys, http)
            top = SwiftRequest(
                self.store, http, principal, "",
                query=dict(parse_qsl(http.url.query, keep_blank_values=True)), trans_id=trans_id,
            )  # fmt: skip
            return await shared_listings.sharing_accounts(top)
        if not account_part.startswith(ACCOUNT_PREFIX) or account_part == ACCOUNT_PREFIX:
            raise SwiftError(404)
        tenant = account_part[len(ACCOUNT_PREFIX) :]
        container_name, _, obj = rest.partition("/")
        if http.method == "OPTIONS":
            # A CORS preflight carries no token.
            return await cors.preflight(self.store, http, tenant, container_name, obj)
        if formpost.requested(http) and not (obj and auth.carries_token(http)):
            # A form upload is signed in its fields and needs no token; one
            # to an object with a token is Pithos' (pithos.form_upload).
            return await formpost.handle(self.store, http, tenant, container_name, obj)
        grant = None
        if tempurl.requested(http):
            # A temp URL stands in for a token: it is checked, never both.
            grant = await tempurl.authorize(self.store, http, tenant, container_name, obj)
            principal = grant.principal
        else:
            principal = await auth.authenticate(self.store, self.signer, self.keys, http)
        principal = replace(
            principal, address=http.client.host if http.client else "", request_id=trans_id
        )
        if not principal.anonymous:
            http.scope[PRINCIPAL_KEY] = f"{principal.tenant}:{principal.user}"
        http.scope[_PRINCIPAL] = principal
        query = dict(parse_qsl(http.url.query, keep_blank_values=True))
        request = SwiftRequest(
            self.store, http, principal, tenant, container_name, obj, query, trans_id,
            confined_to=grant.container if grant is not None else "",
        )  # fmt: skip
        handler, per_item = await self._route(request)
        if handler is None:
            raise SwiftError(405)
        if auth.is_member(principal, tenant) and not per_item:
            await self._check_member(request)
        try:
            if staticweb.wanted(request) and handler in SITE_HANDLERS:
                response = await staticweb.answer(request, handler, objects.head_or_get)
            else:
                response = await handler(request)
        except AccessDenied:
            raise auth.refusal(principal) from None
        if grant is not None:
            tempurl.finish(response, grant, http.method, obj)
        return response

    async def _check_account(self, request: SwiftRequest, levels: tuple[str, ...]) -> None:
        """The account's owner passes, and whoever its account ACL gives one of `levels`."""
        principal = request.principal
        if auth.is_owner(principal, request.account):
            return
        if await self.store.accounts.acl_level(principal, request.account) not in levels:
            raise auth.refusal(principal)

    async def _route(self, request: SwiftRequest) -> tuple[Handler | None, bool]:
        """The request's handler (None: 405), and whether it judges each item's
        permission itself, as the bulk operations do: their path names only
        where the items are."""
        method, query, principal = request.method, request.query, request.principal
        if "bulk-delete" in query and method in ("DELETE", "POST"):
            return bulk_delete.bulk_delete, True
        if "extract-archive" in query and method == "PUT":
            return extract_archive.extract, True
        if not request.container:
            if request.obj:
                raise SwiftError(404)
            reads = method in ("GET", "HEAD")
            level = await self.store.accounts.acl_level(principal, request.account)
            if reads and level is None and auth.is_stranger(principal, request.account):
                # Pithos: another account's caller sees the containers shared with it.
                return shared_listings.strangers_account, False
            if not (method == "POST" and quotas.is_reseller(principal)):
                await self._check_account(request, acl_levels.LEVELS if reads else ADMIN_ONLY)
            return ACCOUNT_ROUTES.get(method), False
        if not request.obj:
            if method not in ("GET", "HEAD"):
                # A container's settings are its owner's alone, whatever its
                # ACL, and the account ACL's writers'; so are Pithos block uploads.
                await self._check_account(request, WRITERS)
            if method == "POST" and pithos.is_block_upload(request):
                return pithos.upload_blocks, False
            if method == "DELETE" and purges.wanted(request):
                return purges.purge_container, False  # Pithos: history only, keeps it
            if method == "DELETE" and delimited.wanted(request):
                return delimited.empty_container, False  # Pithos: empties, keeps it
            return CONTAINER_ROUTES.get(method), False
        if object_versions.requested(request) is not None and method == "DELETE":
            return object_versions.delete_version, False
        if "hashmap" in query and method in ("GET", "PUT"):
            # Pithos; a HEAD with ?hashmap is a plain HEAD, as there.
            return (pithos.get_hashmap if method == "GET" else pithos.put_hashmap), False
        if method == "PUT" and slo.wanted(request, "put"):
            return slo.put, False
        if method == "DELETE" and slo.wanted(request, "delete"):
            return slo.delete, False
        if method == "DELETE" and purges.wanted(request):
            return purges.purge_object, False
        if method in DELIMITED_ROUTES and delimited.wanted(request):
            return DELIMITED_ROUTES[method], False
        if method == "POST" and form_upload.wanted(request):
            return form_upload.upload, False
        if method == "POST" and updates.is_data_update(request):
            return updates.post_update, False
        if method == "PUT" and request.header("x-move-from"):
            return moves.put_move, False
        if method == "PUT":
            return (object_copy.put_copy if request.header("x-copy-from") else objects.put), False
        return OBJECT_ROUTES.get(method), False

    async def _check_member(self, request: SwiftRequest) -> None:
        """A member of the account (a user of its tenant, not an admin) may do
        only what the container's ACL grants; every other rule of the core
        would treat it as the owner. A copy needs read of its source and
        write of its destination; a move, delete of its source."""
        level = await self.store.accounts.acl_level(request.principal, request.account)
        if level in WRITERS or (
            level == acl_levels.READ_ONLY and request.method in ("GET", "HEAD")
        ):
            return  # the account ACL grants it across the account
        wants = [(request.address, MEMBER_ACTIONS[request.level, request.method])]
        copy_from = request.header("x-copy-from") if request.method == "PUT" else ""
        move_from = request.header("x-move-from") if request.method == "PUT" else ""
        if copy_from or move_from or request.method in ("COPY", "MOVE"):
            other = object_copy.other_container(request)
            if other is not None:
                # The source of a move is deleted; a copy's is only read.
                action = Action.DELETE if move_from else Action.READ
                action = action if copy_from or move_from else Action.WRITE
                wants.append((container_address(*other), action))
        if request.method == "POST":
            # A partial update from another object reads that object.
            source = updates.source_container(request)
            if source is not None:
                wants.append((container_address(*source), Action.READ))
        for address, action in wants:
            if not await self.store.containers.member_allows(request.principal, address, action):
                raise SwiftError(403)
