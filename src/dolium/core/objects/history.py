"""An object's and a container's past: the versions of one key, and the
state of a key or a whole container as it was at a given time.

A key's state at time `until` is its newest version (by serial) modified at
or before `until`; when that is a delete marker, or there is none, the key
did not exist then. Reading one key's versions needs read permission on it
(whoever may read an object may read its past, as Pithos lets sharing
readers); a container's past needs permission to list its versions.

Purges remove versions for good, each through the core's delete of one
version, so object locks and permissions hold as for any such delete.
"""

from __future__ import annotations

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.core.objects.service import Objects
from dolium.errors import NoSuchKey
from dolium.model import Bucket, ObjectVersion, Principal

_PAGE = 1000


class History:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    async def _all_versions(self, bucket: Bucket, key: str) -> list[ObjectVersion]:
        """Every version and delete marker of `key`, newest first."""
        found: list[ObjectVersion] = []
        after: tuple[str, int] | None = None
        while True:
            page = await self.ctx.meta.list_versions(
                bucket.name, prefix=key, after=after, limit=_PAGE
            )
            mine = [v for v in page if v.key == key]
            found += mine
            # Keys sort after `key` once its versions are done: stop there.
            if len(page) < _PAGE or len(mine) < len(page):
                return found
            after = (key, page[-1].serial)

    async def versions(self, principal: Principal, address: str, key: str) -> list[ObjectVersion]:
        """The key's versions, newest first, delete markers left out (there may
        be versions while the key is deleted now)."""
        bucket = await self.ctx.bucket(principal, address, Action.READ, key)
        return [v for v in await self._all_versions(bucket, key) if not v.delete_marker]

    async def at(self, principal: Principal, address: str, key: str, until: float) -> ObjectVersion:
        """The key's version at time `until`; NoSuchKey when it did not exist then."""
        bucket = await self.ctx.bucket(principal, address, Action.READ, key)
        for version in await self._all_versions(bucket, key):
            if version.modified <= until:
                if version.delete_marker:
                    break
                return version
        raise NoSuchKey(f"no object {key!r} at that time", key=key)

    async def list_at(
        self,
        principal: Principal,
        address: str,
        until: float,
        *,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        """The container's objects as they were at time `until`, by key."""
        bucket = await self.ctx.bucket(principal, address, Action.LIST_VERSIONS)
        return await self.ctx.meta.list_objects_at(
            bucket.name, until, prefix=prefix, start_after=start_after, limit=limit
        )

    async def usage_at(self, principal: Principal, address: str, until: float) -> tuple[int, int]:
        """(objects, bytes) of the container at time `until`: a walk of its
        listing then, so its cost follows the container's size."""
        count = size = 0
        cursor = ""
        while True:
            page = await self.list_at(principal, address, until, start_after=cursor, limit=_PAGE)
            count += len(page)
            size += sum(v.size for v in page)
            if len(page) < _PAGE:
                return count, size
            cursor = page[-1].key

    async def purge(self, principal: Principal, address: str, key: str, until: float) -> int:
        """Remove every version and delete marker of `key` modified at or before
        `until`, the current one too; how many went."""
        bucket = await self.ctx.bucket(principal, address, Action.DELETE, key)
        gone = 0
        for version in await self._all_versions(bucket, key):
            if version.modified <= until:
                await self.objects.delete(principal, address, key, version.version_id)
                gone += 1
        return gone

    async def purge_container(self, principal: Principal, address: str, until: float) -> int:
        """Remove the past versions and delete markers of every key modified at
        or before `until`; current objects stay. How many went."""
        bucket = await self.ctx.bucket(principal, address, Action.LIST_VERSIONS)
        gone = 0
        after: tuple[str, int] | None = None
        while True:
            page = await self.ctx.meta.list_versions(bucket.name, after=after, limit=_PAGE)
            for version in page:
                past = not version.is_latest or version.delete_marker
                if past and version.modified <= until:
                    await self.objects.delete(principal, address, version.key, version.version_id)
                    gone += 1
            if len(page) < _PAGE:
                return gone
            # Keyset paging: what was deleted behind the cursor does not move it.
            after = (page[-1].key, page[-1].serial)
