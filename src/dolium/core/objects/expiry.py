"""Objects that expire at a set time (Swift's X-Delete-At).

The time is kept on the path record, so it holds for whatever version is
current. An expired object reads as absent at once; no job removes its
data yet, so it stays listed until it is deleted or overwritten.
"""

from __future__ import annotations

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.errors import NoSuchKey
from dolium.model import ObjectVersion, Principal


class Expiry:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def set(self, principal: Principal, address: str, key: str, when: float | None) -> None:
        """Make `key` expire at `when` (epoch seconds), or never (None)."""
        bucket = await self.ctx.bucket(principal, address, Action.WRITE, key)
        path = await self.ctx.meta.get_path(bucket.name, key)
        if path is None or path.delete_at == when:
            return
        await self.ctx.meta.set_delete_at(bucket.name, key, when, actor=principal.actor)

    async def delete_at(self, version: ObjectVersion) -> float | None:
        path = await self.ctx.meta.get_path(version.bucket, version.key)
        return None if path is None else path.delete_at

    async def check(self, version: ObjectVersion) -> float | None:
        """The version's expiry time; raise NoSuchKey if it has passed."""
        when = await self.delete_at(version)
        if when is not None and when <= self.ctx.clock():
            raise NoSuchKey(f"{version.key!r} expired", key=version.key)
        return when
