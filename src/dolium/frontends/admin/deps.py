"""What every admin route depends on: the core, and an administrator's signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dolium.core.operations.jobs import Jobs
from dolium.core.store import Store
from dolium.frontends import PRINCIPAL_KEY
from dolium.frontends.admin.auth import authenticate
from dolium.model import Principal


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def administrator(request: Request) -> Principal:
    state = request.app.state
    principal = await authenticate(request, state.keys, state.region)
    request.scope[PRINCIPAL_KEY] = f"{principal.tenant}:{principal.user}"
    store_of(request).admin.check(principal)
    return principal


def jobs_of(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


Admin = Annotated[Principal, Depends(administrator)]
Operated = Annotated[Jobs, Depends(jobs_of)]
Core = Annotated[Store, Depends(store_of)]
