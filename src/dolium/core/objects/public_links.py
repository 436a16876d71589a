"""Public links: an object anyone may read, without credentials, by a random id.

The id is kept on the path record, so the link follows the object through
new versions and moves, and serves whatever version is current. Whoever may
change the object's grants (its owner) publishes and unpublishes it;
unpublishing forgets the id, so an old link never works again, and a new
one gets a new id. Holding the id is the only permission a reader needs.
"""

from __future__ import annotations

import builtins
import secrets
import string

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.errors import Conflict, NoSuchKey
from dolium.model import ObjectVersion, Principal

ALPHABET = string.digits + string.ascii_letters
# Random characters in a new id; one more for each collision, as Pithos grows them.
ID_LENGTH = 16
_ATTEMPTS = 8


def new_id(length: int = ID_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


class PublicLinks:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def set(self, principal: Principal, address: str, key: str, public: bool) -> str | None:
        """Publish the key (keeping the id it has) or unpublish it; its id, or None.

        Raise NoSuchKey when the key has no object."""
        bucket = await self.ctx.bucket(principal, address, Action.WRITE_ACL, key)
        path = await self.ctx.meta.get_path(bucket.name, key)
        if path is None:
            raise NoSuchKey(f"no object {key!r}", key=key)
        if not public:
            if path.public_id is not None:
                await self.ctx.meta.set_public(bucket.name, key, None, actor=principal.actor)
            return None
        if path.public_id is not None:
            return path.public_id
        for attempt in range(_ATTEMPTS):
            public_id = new_id(ID_LENGTH + attempt)
            try:
                await self.ctx.meta.set_public(bucket.name, key, public_id, actor=principal.actor)
            except Conflict:
                continue  # another path holds this id: draw a longer one
            return public_id
        raise Conflict(f"no free public id for {key!r}")

    async def clear(self, principal: Principal, address: str, key: str) -> None:
        """Unpublish a key whose object was just deleted, by whoever deleted it."""
        bucket = await self.ctx.bucket(principal, address, Action.DELETE, key)
        path = await self.ctx.meta.get_path(bucket.name, key)
        if path is None or path.public_id is None:
            return
        try:
            await self.ctx.meta.set_public(bucket.name, key, None, actor=principal.actor)
        except NoSuchKey:
            return  # no version left: the record went with them

    async def carrying(
        self, principal: Principal, address: str, keys: list[str]
    ) -> builtins.set[str]:
        """Those of `keys` that have a public link. Only who may change the
        container's objects' grants (its owner) learns it, as Pithos shows
        its `?public` listings to the owner alone."""
        bucket = await self.ctx.bucket(principal, address, Action.WRITE_ACL)
        records = await self.ctx.meta.get_paths(bucket.name, keys) if keys else {}
        return {key for key, record in records.items() if record.public_id is not None}

    async def of(self, version: ObjectVersion) -> str | None:
        """The public id of a version's path (a version the caller has read)."""
        path = await self.ctx.meta.get_path(version.bucket, version.key)
        return None if path is None else path.public_id

    async def open(self, public_id: str) -> ObjectVersion:
        """The current version behind a public id; NoSuchKey for an unknown id,
        or an object deleted since."""
        path = await self.ctx.meta.resolve_public(public_id) if public_id else None
        if path is None:
            raise NoSuchKey("no public object of that id")
        version = await self.ctx.meta.get_version(path.bucket, path.key)
        if version is None or version.delete_marker:
            raise NoSuchKey("no public object of that id")
        return version
