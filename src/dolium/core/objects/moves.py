"""Renames: a key, every version of it and its path record (UUID, sharing,
public id) carried to another key, in one step of the meta store.

A rename needs the right to delete the source and to write the
destination; it is possible only onto a key that has never had a version
(the meta store refuses others with Conflict), so a caller that must move
onto an existing object copies and deletes instead.
"""

from __future__ import annotations

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.core.names import validate_key
from dolium.model import PathRecord, Principal


class Moves:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def is_free(self, address: str, key: str) -> bool:
        """Whether the key has no version at all (a rename may land on it)."""
        bucket = await self.ctx.container(address)
        return await self.ctx.meta.get_path(bucket.name, key) is None

    async def check_may_move(self, principal: Principal, address: str, key: str) -> None:
        """Raise AccessDenied unless `principal` may take the key away (delete it)."""
        await self.ctx.bucket(principal, address, Action.DELETE, key)

    async def rename(
        self, principal: Principal, address: str, key: str, to_address: str, to_key: str
    ) -> PathRecord:
        validate_key(to_key)
        source = await self.ctx.bucket(principal, address, Action.DELETE, key)
        target = await self.ctx.bucket(principal, to_address, Action.WRITE, to_key)
        return await self.ctx.meta.move(
            source.name, key, target.name, to_key, actor=principal.actor
        )
