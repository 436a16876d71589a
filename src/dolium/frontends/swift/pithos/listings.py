"""Listings of what is shared, as Pithos lists them.

- `GET /v1/`: the accounts that share something with the caller;
- an account or container GET by a caller of another account: the
  containers holding objects it may read, and those objects;
- `?shared` on the owner's own account or container: the containers with
  objects that carry a sharing document, and those objects;
- `?public` on the owner's own account or container: the containers with
  objects that have a public link, and those objects.

What a caller may read is the core's to judge (`Store.shares`); these
listings show only the names and dates Pithos shows strangers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from xml.sax.saxutils import escape

from starlette.responses import Response

from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.ops.common import empty, listing
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import listings as wire
from dolium.frontends.swift.wire.listings import ContainerEntry, Entry, ObjectEntry
from dolium.model import ListedObject

# The owner's `?shared` listing reads the container in pages of this many.
_PAGE = 1000


def _entry(item: ListedObject) -> ObjectEntry:
    return ObjectEntry(item.key, item.etag, item.size, item.content_type, item.modified)


def owners_entry(item: ListedObject) -> ObjectEntry:
    """An entry as the owner's listings show it, Pithos' fields included."""
    return ObjectEntry(
        item.key, item.etag, item.size, item.content_type, item.modified,
        version=item.version_id, modified_by=item.user, top_hash=item.top_hash,
    )  # fmt: skip


def rolled(
    query: ListingQuery,
    items: list[ListedObject],
    entry: Callable[[ListedObject], ObjectEntry] = _entry,
) -> list[Entry]:
    """Objects, with those below a delimiter rolled up into their subdir."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in items:
        cut = item.key.find(query.delimiter, len(query.prefix)) if query.delimiter else -1
        if cut < 0:
            entries.append(entry(item))
        elif (subdir := item.key[: cut + 1]) not in seen:
            seen.add(subdir)
            entries.append(subdir)
    return query.window(entries)


async def strangers_container(request: SwiftRequest) -> Response:
    """A container as a caller of another account sees it: the objects it may read."""
    if "public" in request.query:
        raise SwiftError(403)  # what is public is the owner's to list
    store, principal = request.store, request.principal
    bucket = await store.shares.shared_container(principal, request.address)
    headers = [
        ("X-Container-Block-Size", str(bucket.block_size)),
        ("X-Container-Block-Hash", bucket.hash_algorithm),
    ]
    if request.method == "HEAD":
        return empty(204, headers)
    query = ListingQuery.parse(request.query)
    items = await store.shares.readable(
        principal, request.address, prefix=query.prefix, start_after=query.marker,
        limit=query.limit,
    )  # fmt: skip
    return listing(request, "container", request.container, rolled(query, items), headers)


# Which of a page's keys an owner's filtered listing keeps: (request, keys) -> kept.
Keep = Callable[[SwiftRequest, list[str]], Awaitable[set[str]]]


async def _shared(request: SwiftRequest, keys: list[str]) -> set[str]:
    return await request.store.shares.carrying(request.principal, request.address, keys)


async def _public(request: SwiftRequest, keys: list[str]) -> set[str]:
    return await request.store.public_links.carrying(request.principal, request.address, keys)


async def _own_kept(
    request: SwiftRequest,
    query: ListingQuery,
    keep: Keep,
    entry: Callable[[ListedObject], ObjectEntry] = _entry,
) -> list[Entry]:
    """A page of the owner's objects that `keep` keeps, read a page of the
    container at a time (one read of their path records each) until full."""
    store, principal = request.store, request.principal
    found: list[ListedObject] = []
    cursor = query.marker
    while len(found) < query.limit:
        page = await store.listing.list(
            principal, request.address, prefix=query.prefix, start_after=cursor, max_keys=_PAGE
        )
        keys = [item.key for item in page.entries]
        kept = await keep(request, keys) if keys else set()
        found += [item for item in page.entries if item.key in kept]
        if not page.truncated or page.next_marker is None:
            break
        cursor = page.next_marker
    return rolled(query, found[: query.limit], entry)


async def own_shared_objects(request: SwiftRequest, query: ListingQuery) -> list[Entry]:
    """The owner's `?shared` page: objects carrying a sharing document of their own."""
    return await _own_kept(request, query, _shared, owners_entry)


async def own_public_objects(request: SwiftRequest, query: ListingQuery) -> list[Entry]:
    """The owner's `?public` page: objects that have a public link."""
    return await _own_kept(request, query, _public, owners_entry)


async def _has_own(request: SwiftRequest, container: str, keep: Keep) -> bool:
    one = SwiftRequest(
        request.store, request.http, request.principal, request.account, container, "",
        {}, request.trans_id,
    )  # fmt: skip
    return bool(await _own_kept(one, ListingQuery(limit=1), keep))


async def account_entries(request: SwiftRequest, *, public: bool = False) -> list[ContainerEntry]:
    """The containers an account GET lists when it asks for what is shared:
    for its owner, those with objects carrying sharing (`?shared`) or with a
    public link (`public`, `?public`); for a caller of another account,
    those with objects it may read."""
    store, principal = request.store, request.principal
    if request.principal.tenant != request.account:
        buckets = await store.shares.containers_shared(principal, request.account)
    else:
        keep = _public if public else _shared
        buckets = [
            b
            for b in await store.buckets.list(principal)
            if await _has_own(request, b.container, keep)
        ]
    # Strangers learn names and dates only, not how much a container holds.
    return [ContainerEntry(b.container, 0, 0, b.created) for b in buckets]


async def strangers_account(request: SwiftRequest) -> Response:
    if request.principal.anonymous:
        raise SwiftError(401)
    if "public" in request.query:
        raise SwiftError(403)  # what is public is the owner's to list
    query = ListingQuery.parse(request.query) if request.method == "GET" else ListingQuery()
    entries = await account_entries(request)
    if not entries:
        raise SwiftError(403)
    if request.method == "HEAD":
        return empty(204)
    window: list[Entry] = query.window(e for e in entries if e.name.startswith(query.prefix))
    return listing(request, "account", ACCOUNT_PREFIX + request.account, window, [])


async def sharing_accounts(request: SwiftRequest) -> Response:
    """`GET /v1/`: the accounts that share an object with the caller."""
    if request.method not in ("GET", "HEAD"):
        raise SwiftError(405)
    if request.principal.anonymous:
        raise SwiftError(401)
    query = ListingQuery.parse(request.query)
    names = [
        ACCOUNT_PREFIX + a for a in await request.store.shares.accounts_sharing(request.principal)
    ]
    picked = [str(n) for n in query.window(names)]
    fmt = wire.listing_format(request.query, request.header("accept"))
    if not picked or request.method == "HEAD":
        return empty(204)
    if fmt == wire.JSON:
        body = json.dumps([{"name": n} for n in picked]).encode()
    elif fmt == wire.XML:
        items = "".join(f"<account><name>{escape(n)}</name></account>" for n in picked)
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<accounts>{items}</accounts>'.encode()
    else:
        body = "".join(n + "\n" for n in picked).encode()
    return Response(body, status_code=200, media_type=wire.CONTENT_TYPES[fmt])
