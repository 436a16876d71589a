"""Sharing objects with other accounts: the documents on paths, and what a
caller may see of them.

What a document grants is core.access.sharing's rule, applied by the
authorizer on every read and write; this service records documents (only
for who may change an object's grants: its owner), tells which path's
document governs an object, and finds the objects a caller may read in a
container it may not list. It never grants anything itself.

Finding what a stranger may read walks the container's listing and asks
the authorizer about each key: the meta store keeps no index of shared
paths, so its cost follows the container's size, not what is shared.
"""

from __future__ import annotations

import builtins
from contextlib import suppress
from dataclasses import dataclass

from dolium.core.access.actions import Action
from dolium.core.access.meta_sharing import MetaSharingLookup
from dolium.core.access.sharing import candidate_paths, nearest
from dolium.core.context import Context
from dolium.errors import AccessDenied, NoSuchKey
from dolium.model import NO_SHARING, Bucket, ListedObject, ObjectVersion, Principal, Sharing

# Keys read from the meta store per page when looking for readable ones.
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Governing:
    """The sharing that applies to an object, and the key that carries it
    (the object itself, or a folder enclosing it)."""

    key: str
    sharing: Sharing


@dataclass(frozen=True, slots=True)
class Reach:
    governing: Governing | None
    public_id: str | None  # the path's public link (core.objects.public_links)
    uuid: str | None = None  # the path's UUID, kept through new versions and renames


class Shares:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._lookup = MetaSharingLookup(ctx.meta)

    async def check_may_share(self, principal: Principal, address: str, key: str) -> None:
        """Raise AccessDenied unless `principal` may change who else reaches `key`:
        asked before a write that also sets sharing, so a refusal stores nothing."""
        await self.ctx.bucket(principal, address, Action.WRITE_ACL, key)

    async def set(self, principal: Principal, address: str, key: str, sharing: Sharing) -> None:
        """Replace the key's own sharing document (NO_SHARING: none); raise NoSuchKey."""
        bucket = await self.ctx.bucket(principal, address, Action.WRITE_ACL, key)
        path = await self.ctx.meta.get_path(bucket.name, key)
        if path is not None and path.sharing == sharing:
            return
        await self.ctx.meta.set_sharing(bucket.name, key, sharing, actor=principal.actor)

    async def clear(self, principal: Principal, address: str, key: str) -> None:
        """Forget the key's sharing once its object is deleted, so that a later
        object of that name starts unshared; done by whoever deleted it."""
        bucket = await self.ctx.bucket(principal, address, Action.DELETE, key)
        path = await self.ctx.meta.get_path(bucket.name, key)
        if path is None or path.sharing == NO_SHARING:
            return
        with suppress(NoSuchKey):  # no version left: the record went with them
            await self.ctx.meta.set_sharing(bucket.name, key, NO_SHARING, actor=principal.actor)

    async def governing(self, version: ObjectVersion) -> Governing | None:
        """The sharing that applies to a version the caller has read (None: none)."""
        return (await self.reach(version)).governing

    async def reach(self, version: ObjectVersion) -> Reach:
        """Who else reaches a version the caller has read: the sharing that
        applies, and the public id of its path, in one read of path records."""
        bucket = await self.ctx.container(version.bucket)
        paths = candidate_paths(version.key)
        records = await self.ctx.meta.get_paths(bucket.name, paths)
        own = records.get(version.key)
        public_id = None if own is None else own.public_id
        uuid = None if own is None else own.uuid
        if all(r.sharing == NO_SHARING for r in records.values()):
            return Reach(None, public_id, uuid)  # nothing shared: no second read
        found = await self._lookup.sharing(bucket, paths)
        near = nearest(version.key, found)
        if near is None:
            return Reach(None, public_id, uuid)
        key, shared = near
        sharing = Sharing(tuple(sorted(shared.read)), tuple(sorted(shared.write)))
        return Reach(Governing(key, sharing), public_id, uuid)

    async def may_write(self, principal: Principal, version: ObjectVersion) -> bool:
        bucket = await self.ctx.container(version.bucket)
        return await self.ctx.may(principal, bucket, Action.WRITE, version.key)

    async def carrying(
        self, principal: Principal, address: str, keys: list[str]
    ) -> builtins.set[str]:
        """Those of `keys` that carry a sharing document of their own (the
        caller must be allowed to list the container)."""
        bucket = await self.ctx.bucket(principal, address, Action.LIST)
        records = await self.ctx.meta.get_paths(bucket.name, keys)
        return {key for key, record in records.items() if record.sharing != NO_SHARING}

    async def readable(
        self,
        principal: Principal,
        address: str,
        *,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
    ) -> list[ListedObject]:
        """Up to `limit` current objects of the container `principal` may read,
        by key: what a caller who may not list the container is shown of it."""
        if principal.anonymous or limit <= 0:
            return []
        bucket = await self.ctx.container(address)
        shown: list[ListedObject] = []
        cursor = start_after
        while len(shown) < limit:
            page = await self.ctx.meta.list_objects(
                bucket.name, prefix=prefix, start_after=cursor, limit=_PAGE
            )
            for item in page:
                if await self._may_read(principal, bucket, item.key):
                    shown.append(item)
                    if len(shown) == limit:
                        break
            if len(page) < _PAGE:
                break
            cursor = page[-1].key
        return shown

    async def shared_container(self, principal: Principal, address: str) -> Bucket:
        """The container, when it holds an object `principal` may read; else AccessDenied."""
        if not await self.readable(principal, address, limit=1):
            raise AccessDenied(f"nothing in {address!r} is shared with the caller")
        return await self.ctx.container(address)

    async def _may_read(self, principal: Principal, bucket: Bucket, key: str) -> bool:
        try:
            return await self.ctx.may(principal, bucket, Action.READ, key)
        except AccessDenied:
            return False

    async def containers_shared(self, principal: Principal, account: str) -> list[Bucket]:
        """The account's containers that hold an object `principal` may read."""
        found: list[Bucket] = []
        for bucket in await self.ctx.meta.list_buckets(owner=account):
            if await self.readable(principal, bucket.name, limit=1):
                found.append(bucket)
        return found

    async def accounts_sharing(self, principal: Principal) -> list[str]:
        """The accounts, other than the caller's, with an object it may read."""
        if principal.anonymous:
            return []
        accounts = sorted({b.owner for b in await self.ctx.meta.list_buckets()})
        return [
            account
            for account in accounts
            if account != principal.tenant and await self.containers_shared(principal, account)
        ]
