"""Account: HEAD and GET (metadata, usage, the container listing), POST (metadata)."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from starlette.responses import Response

from dolium.core.access import swift_account_acl
from dolium.errors import AccessDenied, InvalidArgument, NoSuchBucket
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops.common import empty, listing, x_timestamp
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.pithos import groups, versions
from dolium.frontends.swift.pithos import listings as shared_listings
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import metadata
from dolium.frontends.swift.wire.listings import ContainerEntry, Entry
from dolium.model import Bucket

ACL_HEADER = "x-account-access-control"


async def _headers(request: SwiftRequest, containers: list[Bucket]) -> list[tuple[str, str]]:
    account = await request.store.accounts.get(request.principal, request.account)
    created = min((b.created for b in containers), default=0.0)
    headers = [
        ("X-Account-Container-Count", str(len(containers))),
        ("X-Account-Object-Count", str(account.usage.objects)),
        ("X-Account-Bytes-Used", str(account.usage.bytes)),
        ("X-Timestamp", x_timestamp(created)),
        *metadata.response_headers(metadata.ACCOUNT, account.meta),
        *groups.response_headers(
            await request.store.accounts.groups(request.principal, request.account)
        ),
    ]
    # The tenant's quota in bytes, shown as Swift's account_quotas shows it.
    quota = await request.store.quotas.of_account(request.account)
    if quota.bytes is not None:
        headers.append(("X-Account-Meta-Quota-Bytes", str(quota.bytes)))
    # Who else may use the account is for its owner and admins to see.
    with contextlib.suppress(AccessDenied):
        shown = (await request.store.accounts.acl(request.principal, request.account)).dump()
        if shown is not None and not auth.is_member(request.principal, request.account):
            headers.append(("X-Account-Access-Control", shown))
    return headers


async def head_or_get(request: SwiftRequest) -> Response:
    query = ListingQuery.parse(request.query) if request.method == "GET" else ListingQuery()
    containers = list(await request.store.buckets.list_of(request.principal, request.account))
    when = versions.until(request)
    if when is not None:
        # Pithos: the containers the account had then.
        containers = [b for b in containers if b.created <= when]
    headers = await _headers(request, containers)
    if when is not None:
        headers.append(versions.until_header("Account", when))
    if request.method == "HEAD":
        return empty(204, headers)
    if "public" in request.query and not request.is_owner:
        raise SwiftError(403)  # Pithos: what is public is the owner's to list
    if "shared" in request.query or "public" in request.query:
        public = "public" in request.query
        shared = await shared_listings.account_entries(request, public=public)
        window: list[Entry] = query.window(e for e in shared if e.name.startswith(query.prefix))
        return listing(request, "account", ACCOUNT_PREFIX + request.account, window, headers)
    by_name = sorted(containers, key=lambda b: b.container)
    rolled: list[Entry] = []
    last_subdir = ""
    candidates: list[str | Bucket] = []
    for bucket in by_name:
        name = bucket.container
        if not name.startswith(query.prefix):
            continue
        cut = name.find(query.delimiter, len(query.prefix)) if query.delimiter else -1
        if cut >= 0:
            subdir = name[: cut + 1]
            if subdir != last_subdir:
                candidates.append(subdir)
                last_subdir = subdir
            continue
        candidates.append(bucket)
    # The window works on names; usage is read only for the containers shown.
    names: list[Entry] = [c if isinstance(c, str) else c.container for c in candidates]
    picked = set(map(str, query.window(names)))
    for candidate in candidates:
        if isinstance(candidate, str):
            if candidate in picked:
                rolled.append(candidate)
        elif candidate.container in picked:
            try:
                usage = await request.store.containers.usage(candidate)
            except NoSuchBucket:
                continue  # deleted since it was listed
            rolled.append(
                ContainerEntry(candidate.container, usage.objects, usage.bytes, candidate.created)
            )
    if query.reverse:
        rolled.reverse()
    return listing(request, "account", ACCOUNT_PREFIX + request.account, rolled, headers)


async def post(request: SwiftRequest) -> Response:
    acl_text = request.http.headers.get(ACL_HEADER)
    acl = None
    if acl_text is not None:
        try:
            acl = swift_account_acl.parse(acl_text)
        except InvalidArgument as exc:
            raise SwiftError(400, str(exc)) from None
    quotas.check_account_settings(request.principal, request.http.headers)
    new_groups = groups.requested(request.http.headers.items())
    changes = metadata.requested(metadata.ACCOUNT, request.http.headers.items())
    if quotas.ACCOUNT_BYTES in changes:
        # Swift's account quota is the tenant's quota in bytes, which every
        # write keeps (S3's too); only a reseller gets here with it.
        limit = changes.pop(quotas.ACCOUNT_BYTES)
        current = await request.store.admin.tenant_quota(request.principal, request.account)
        wanted = replace(current, bytes=int(limit) if limit else None)
        await request.store.admin.set_tenant_quota(request.principal, request.account, wanted)
    await request.store.accounts.update_meta(request.principal, request.account, changes)
    if new_groups:
        # Pithos: without ?update the groups sent replace all the others.
        replace_all = "update" not in request.query
        await request.store.accounts.set_groups(
            request.principal, request.account, new_groups, replace_all=replace_all
        )
    if acl is not None:
        await request.store.accounts.set_acl(request.principal, request.account, acl)
    return empty(204)


async def refuse(request: SwiftRequest) -> Response:
    """PUT and DELETE of an account are a reseller's business, not a user's."""
    raise SwiftError(405)
