"""The core as the front ends see it: one object holding every service."""

from __future__ import annotations

from dolium.core.buckets import Buckets
from dolium.core.context import Context
from dolium.core.listing import Listing
from dolium.core.multipart import Multipart
from dolium.core.objects import Objects


class Store:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.buckets = Buckets(ctx)
        self.objects = Objects(ctx)
        self.listing = Listing(ctx)
        self.multipart = Multipart(ctx, self.objects)

    async def close(self) -> None:
        await self.ctx.meta.close()
        await self.ctx.blobs.close()
