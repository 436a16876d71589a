"""Container metadata, usage and Swift ACLs, for the APIs that show them (Swift, Pithos).

User metadata of a container is kept in its configs under "metadata", as a
JSON object of lower-case names to values. Names and values are the API's
words (Swift's `X-Container-Meta-` suffix); the limits on them are the
front end's rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dolium.core.access import swift_acl
from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.model import Bucket, Principal, Usage

CONFIG = "metadata"


def metadata(bucket: Bucket) -> dict[str, str]:
    text = bucket.configs.get(CONFIG)
    if not text:
        return {}
    loaded = json.loads(text)
    return {str(k): str(v) for k, v in loaded.items()}


def merged(current: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """`current` with `changes` applied: a None or empty value removes the name."""
    result = dict(current)
    for name, value in changes.items():
        if value:
            result[name] = value
        else:
            result.pop(name, None)
    return result


class ContainerInfo:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def describe(self, principal: Principal, address: str) -> tuple[Bucket, Usage]:
        """The container with what it holds, if `principal` may list it."""
        bucket = await self.ctx.bucket(principal, address, Action.LIST)
        return bucket, await self.ctx.meta.get_usage(bucket.name)

    async def usage(self, bucket: Bucket) -> Usage:
        """What a container the caller has already been allowed to see holds."""
        return await self.ctx.meta.get_usage(bucket.name)

    async def stored_meta(self, address: str) -> dict[str, str]:
        """The container's metadata, with no permission check: for a front end's
        rules that judge a request by the container's own settings (a key that
        signs requests, a quota); NoSuchBucket."""
        return metadata(await self.ctx.container(address))

    async def stored_usage(self, address: str) -> Usage:
        """What the container holds, with no permission check (see `stored_meta`)."""
        return await self.ctx.meta.get_usage((await self.ctx.container(address)).name)

    async def update_meta(
        self, principal: Principal, address: str, changes: Mapping[str, str | None]
    ) -> Bucket:
        """Set or remove (None or "") names of the container's metadata.

        Read, merge and write are two calls: two writers of different names at
        the same moment may lose one of them, as with Swift's own containers
        before their replicas agree.
        """
        bucket = await self.ctx.bucket(
            principal, address, Action.WRITE_SETTING, setting=Setting.METADATA
        )
        if not changes:
            return bucket
        updated = merged(metadata(bucket), changes)
        document = json.dumps(updated, sort_keys=True) if updated else None
        return await self.ctx.meta.set_bucket_config(
            bucket.name, CONFIG, document, actor=principal.actor
        )

    async def set_swift_acl(
        self, principal: Principal, address: str, read: str | None, write: str | None
    ) -> Bucket:
        """Replace the read and/or write list of the container's Swift ACL
        (None: keep that list; "": empty it). Only its owner may."""
        bucket = await self.ctx.bucket(
            principal, address, Action.WRITE_SETTING, setting=Setting.ACL
        )
        current = swift_acl.stored_acl(bucket)
        updated = swift_acl.SwiftAcl(
            current.read if read is None else swift_acl.parse_entries(read, read=True),
            current.write if write is None else swift_acl.parse_entries(write, read=False),
        )
        if updated == current:
            return bucket
        return await self.ctx.meta.set_bucket_config(
            bucket.name, swift_acl.CONFIG, updated.dump(), actor=principal.actor
        )

    async def member_allows(self, principal: Principal, address: str, action: Action) -> bool:
        """Whether the container's Swift ACL grants `action` to `principal`, a
        user of the owning tenant who is not its admin (see core.access.swift_acl)."""
        bucket = await self.ctx.container(address)
        return swift_acl.member_allows(principal, bucket, action)
