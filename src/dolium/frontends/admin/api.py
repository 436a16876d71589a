"""The admin API: JSON over HTTP under /admin, for administrators only.

Built with FastAPI, which checks each request against the models in
`schemas` and generates the OpenAPI document (/admin/openapi.json) from
the same models, so the document cannot drift from what is served. Every
route needs a SigV4 signature by an administrator (see `auth`); the core
checks the administrator again (core.operations.admin). Errors are JSON
`{"error": code, "message": text}` with the status the error class says.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from dolium import __version__
from dolium.core.audit.reader import AuditReader
from dolium.core.operations.jobs import Jobs
from dolium.core.store import Store
from dolium.errors import (
    AccessDenied,
    Conflict,
    DoliumError,
    InvalidRequest,
    NotFound,
    StorageError,
)
from dolium.frontends.admin import routes_accounts, routes_audit, routes_policies, routes_storage
from dolium.frontends.admin.auth import AdminAuthError
from dolium.frontends.admin.schemas import Error
from dolium.protocols.keys import KeyStore

PREFIX = "/admin"
OPENAPI_PATH = f"{PREFIX}/openapi.json"

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "The request is invalid."},
    401: {"model": Error, "description": "The request is not signed."},
    403: {"model": Error, "description": "Not signed by an administrator, or signed wrong."},
    404: {"model": Error, "description": "No such tenant, user, key or bucket."},
    409: {"model": Error, "description": "It exists already, or is not empty."},
}


def _status(exc: DoliumError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, AccessDenied):
        return 403
    if isinstance(exc, InvalidRequest):
        return 400
    if isinstance(exc, StorageError):
        return 503
    return 500


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def build(
    store: Store, keys: KeyStore, region: str | None, jobs: Jobs, audit: AuditReader | None
) -> FastAPI:
    app = FastAPI(
        title="Dolium admin API",
        version=__version__,
        description="Tenants, users, keys, groups, their policies, buckets, storage policies "
        "and status. "
        "Requests are signed with SigV4 (service s3) by an administrator: an admin user "
        "of the root tenant.",
        openapi_url=OPENAPI_PATH,
        docs_url=None,  # the interactive pages load scripts from a CDN
        redoc_url=None,
        responses=ERRORS,
    )

    @app.exception_handler(DoliumError)
    async def dolium_error(request: Request, exc: DoliumError) -> JSONResponse:
        return _error(_status(exc), type(exc).__name__, exc.message)

    @app.exception_handler(AdminAuthError)
    async def auth_error(request: Request, exc: AdminAuthError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, "InvalidArgument", f"{where}: {first.get('msg', 'invalid')}")

    app.state.store = store
    app.state.keys = keys
    app.state.region = region
    app.state.jobs = jobs
    app.state.audit = audit
    app.include_router(routes_accounts.router, prefix=PREFIX)
    app.include_router(routes_policies.router, prefix=PREFIX)
    app.include_router(routes_storage.router, prefix=PREFIX)
    app.include_router(routes_audit.router, prefix=PREFIX)
    return app
