"""Container: PUT, HEAD, GET (the object listing), POST (metadata, ACLs), DELETE."""

from __future__ import annotations

from dataclasses import replace

from starlette.responses import Response

from dolium import errors
from dolium.core.access import swift_account_acl
from dolium.core.access.swift_acl import parse_entries, stored_acl
from dolium.core.buckets.container_meta import metadata as stored_metadata
from dolium.errors import BucketAlreadyExists, NoSuchStoragePolicy
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.largeobjects import kinds
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import object_versions, versioned_writes
from dolium.frontends.swift.ops.common import empty, listing, x_timestamp
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.pithos import listings as shared_listings
from dolium.frontends.swift.pithos import meta_filters, versions
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.frontends.swift.wire import listings, metadata
from dolium.frontends.swift.wire.listings import Entry, ObjectEntry
from dolium.model import Bucket, ListedObject

# A reverse listing reads its range forward in pages of this many.
_REVERSE_PAGE = 1000


def _acl_changes(request: SwiftRequest) -> tuple[str | None, str | None]:
    """The read and write ACLs the request sets (None: leaves alone; "": removes)."""
    h = request.http.headers
    changes: list[str | None] = []
    for which in ("read", "write"):
        value = h.get(f"x-container-{which}")
        if f"x-remove-container-{which}" in h:
            value = ""
        changes.append(value)
    return changes[0], changes[1]


async def _acts_as_owner(request: SwiftRequest) -> bool:
    """The account's owner, or an admin of its account ACL."""
    if request.is_owner:
        return True
    level = await request.store.accounts.acl_level(request.principal, request.account)
    return level == swift_account_acl.ADMIN


async def _apply(request: SwiftRequest, changes: dict[str, str | None]) -> None:
    """The metadata, ACLs and versioning policy a PUT or POST of the container sends."""
    store, h = request.store, request.http.headers
    enable = object_versions.asked(h)
    if enable is not None or changes.get(versioned_writes.LOCATION):
        found, _ = await store.containers.describe(request.principal, request.address)
        object_versions.check_container_write(h, stored_metadata(found))
        object_versions.check_legacy_write(h, found)
    await store.containers.update_meta(request.principal, request.address, changes)
    policy = versions.policy_asked(h)
    if policy is not None or enable is not None:
        bucket, _ = await store.containers.describe(request.principal, request.address)
        await versions.apply_policy(request, policy, bucket)
        await object_versions.apply(request, enable, bucket)
    read, write = _acl_changes(request)
    if read is not None or write is not None:
        if not await _acts_as_owner(request):
            raise SwiftError(403)  # the account ACL's read-write level does not reach ACLs
        await store.containers.set_swift_acl(request.principal, request.address, read, write)


async def put(request: SwiftRequest) -> Response:
    quotas.check_container_settings(request.http.headers)
    changes = metadata.requested(metadata.CONTAINER, request.http.headers.items())
    changes |= versioned_writes.container_changes(request.http.headers)
    versions.policy_asked(request.http.headers)  # 400 before anything is made
    object_versions.check_container_write(request.http.headers, {})

    # ACLs are checked before the container exists, so a bad one makes nothing.
    read, write = _acl_changes(request)
    parse_entries(read or "", read=True)
    parse_entries(write or "", read=False)
    policy = (request.http.headers.get("x-storage-policy") or "").strip() or None
    status = 201
    try:
        await request.store.buckets.create_container(request.account, request.container, policy)
    except NoSuchStoragePolicy:
        raise SwiftError(400, f"Invalid X-Storage-Policy {policy!r}") from None
    except BucketAlreadyExists:
        status = 202  # Swift's PUT of an existing container: accepted, metadata applied
        if policy is not None:
            found, _ = await request.store.containers.describe(request.principal, request.address)
            if found.policy != policy:
                # A container keeps its policy: Swift refuses to change it.
                raise SwiftError(409, "Storage Policy mismatch") from None
    await _apply(request, changes)
    return empty(status)


async def post(request: SwiftRequest) -> Response:
    quotas.check_container_settings(request.http.headers)
    changes = metadata.requested(metadata.CONTAINER, request.http.headers.items())
    changes |= versioned_writes.container_changes(request.http.headers)
    await _apply(request, changes)
    return empty(204)


async def delete(request: SwiftRequest) -> Response:
    await request.store.buckets.delete(request.principal, request.address)
    return empty(204)


def _entry(request: SwiftRequest, item: ListedObject) -> ObjectEntry:
    # An SLO manifest is listed with the size of its large object, as Swift lists it.
    content_type, size = kinds.listed_size(item.content_type, item.size)
    link = kinds.listing_param(item.content_type, "symlink_target")
    where = ""
    if link is not None:
        account = kinds.listing_param(item.content_type, "symlink_target_account") or (
            ACCOUNT_PREFIX + request.account
        )
        where = f"/v1/{account}/{link}"
    return ObjectEntry(
        item.key,
        item.etag,
        size,
        kinds.strip_swift_bytes(content_type),
        item.modified,
        where,
        version=item.version_id,
        modified_by=item.user,
        top_hash=item.top_hash,
    )


async def with_uuids(request: SwiftRequest, entries: list[Entry]) -> list[Entry]:
    """The entries with their paths' UUIDs, where JSON or XML will show them
    (one read of the page's path records), and the top hashes their rows do
    not keep (one read of each such version: objects whose hashmap is not
    their block list, rare); plain text has no use for either."""
    if listings.listing_format(request.query, request.header("accept")) == listings.PLAIN:
        return entries
    keys = [e.name for e in entries if isinstance(e, ObjectEntry) and e.version]
    if not keys:
        return entries
    listing_service = request.store.listing
    found = await listing_service.uuids(request.principal, request.address, keys)
    unhashed = [
        (e.name, e.version)
        for e in entries
        if isinstance(e, ObjectEntry) and e.version and not e.top_hash
    ]
    hashes = (
        await listing_service.top_hashes(request.principal, request.address, unhashed)
        if unhashed
        else {}
    )
    return [
        replace(e, uuid=found.get(e.name, ""), top_hash=e.top_hash or hashes.get(e.name, ""))
        if isinstance(e, ObjectEntry)
        else e
        for e in entries
    ]


async def _page(request: SwiftRequest, query: ListingQuery) -> list[Entry]:
    """The entries of the page, in the order shown."""
    listing_service = request.store.listing
    if not query.reverse:
        page = await listing_service.list(
            request.principal,
            request.address,
            prefix=query.prefix,
            delimiter=query.delimiter,
            start_after=query.lower(),
            max_keys=query.limit,
        )
        return query.window(_merged(request, page.entries, page.prefixes))
    # Reverse: every entry from the lower bound up to the upper one, forward.
    found: list[Entry] = []
    cursor = query.lower()
    while True:
        page = await listing_service.list(
            request.principal,
            request.address,
            prefix=query.prefix,
            delimiter=query.delimiter,
            start_after=cursor,
            max_keys=_REVERSE_PAGE,
        )
        batch = _merged(request, page.entries, page.prefixes)
        found.extend(batch)
        upper = query.upper()
        if not page.truncated or page.next_marker is None or (upper and page.next_marker >= upper):
            break
        cursor = page.next_marker
    return query.window(found)


def _merged(
    request: SwiftRequest, entries: tuple[ListedObject, ...], prefixes: tuple[str, ...]
) -> list[Entry]:
    merged: list[Entry] = [_entry(request, e) for e in entries]
    merged.extend(prefixes)
    merged.sort(key=lambda e: e if isinstance(e, str) else e.name)
    return merged


# Keys that sign temp URLs and form posts are the owner's secrets, whatever
# else a read ACL shows of the container.
OWNER_ONLY_META = ("temp-url-key", "temp-url-key-2")


def _shown_metadata(request: SwiftRequest, bucket: Bucket) -> dict[str, str]:
    # Names with a ":" are the front end's own settings, never user metadata.
    meta = {k: v for k, v in stored_metadata(bucket).items() if ":" not in k}
    if not request.is_owner:
        meta = {k: v for k, v in meta.items() if k not in OWNER_ONLY_META}
    return meta


async def head_or_get(request: SwiftRequest) -> Response:
    try:
        bucket, usage = await request.store.containers.describe(request.principal, request.address)
    except errors.AccessDenied:
        if request.principal.anonymous or request.principal.tenant == request.account:
            raise
        # Pithos: a caller of another account sees the objects shared with it.
        return await shared_listings.strangers_container(request)
    headers = [
        ("X-Container-Object-Count", str(usage.objects)),
        ("X-Container-Bytes-Used", str(usage.bytes)),
        ("X-Timestamp", x_timestamp(bucket.created)),
        ("X-Storage-Policy", bucket.policy),
        # Pithos: how clients cut and hash their files for hashmap uploads.
        ("X-Container-Block-Size", str(bucket.block_size)),
        ("X-Container-Block-Hash", bucket.hash_algorithm),
        *metadata.response_headers(metadata.CONTAINER, _shown_metadata(request, bucket)),
        *versioned_writes.shown(stored_metadata(bucket)),
        *versions.policy_headers(bucket),
        *object_versions.shown(bucket),
    ]
    # The operator's quota of the bucket (not the owner's X-Container-Meta-Quota-*).
    quota = request.store.quotas.of_bucket(bucket)
    if quota.bytes is not None:
        headers.append(("X-Dolium-Quota-Bytes", str(quota.bytes)))
    if quota.objects is not None:
        headers.append(("X-Dolium-Quota-Objects", str(quota.objects)))
    if await _acts_as_owner(request):
        # Who else may read and write is the owner's (and its admins') to know.
        acl = stored_acl(bucket)
        if acl.read:
            headers.append(("X-Container-Read", ",".join(acl.read)))
        if acl.write:
            headers.append(("X-Container-Write", ",".join(acl.write)))
    when = versions.until(request)
    if when is not None:
        # Pithos: the container as it was then, counts included.
        query = ListingQuery.parse(request.query) if request.method == "GET" else None
        past, entries = await versions.container_at(request, when, query)
        counts = ("X-Container-Object-Count", "X-Container-Bytes-Used")
        headers = [*(h for h in headers if h[0] not in counts), *past]
        if request.method == "HEAD":
            return empty(204, headers)
        return listing(request, "container", request.container, entries, headers)
    if "versions" in request.query and request.method == "GET":
        return await object_versions.listing(request, headers)
    if request.method == "HEAD":
        return empty(204, headers)
    query = ListingQuery.parse(request.query)
    wanted = meta_filters.asked(request)
    if "public" in request.query:
        if not request.is_owner:
            raise SwiftError(403)  # Pithos: what is public is the owner's to list
        entries = await shared_listings.own_public_objects(request, query)
    elif "shared" in request.query and request.is_owner:
        entries = await shared_listings.own_shared_objects(request, query)
    elif wanted is not None:
        entries = await meta_filters.matching(
            request, query, wanted, lambda item: _entry(request, item)
        )
    else:
        entries = await _page(request, query) if query.limit else []
    entries = await with_uuids(request, entries)
    return listing(request, "container", request.container, entries, headers)
