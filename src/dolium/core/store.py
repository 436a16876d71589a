"""The core as the front ends see it: one object holding every service."""

from __future__ import annotations

from dolium.core.acls import Acls
from dolium.core.bucket_policy import BucketPolicies
from dolium.core.bucket_settings import BucketSettings
from dolium.core.buckets import Buckets
from dolium.core.context import Context
from dolium.core.cors import Cors
from dolium.core.listing import Listing
from dolium.core.multipart import Multipart
from dolium.core.notifications import Notifications
from dolium.core.object_lock import ObjectLock
from dolium.core.objects import Objects
from dolium.core.tagging import Tagging


class Store:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.buckets = Buckets(ctx)
        self.objects = Objects(ctx)
        self.listing = Listing(ctx)
        self.multipart = Multipart(ctx, self.objects)
        self.tagging = Tagging(ctx, self.objects)
        self.acls = Acls(ctx, self.objects)
        self.object_lock = ObjectLock(ctx, self.objects)
        self.cors = Cors(ctx)
        self.notifications = Notifications(ctx)
        self.bucket_settings = BucketSettings(ctx)
        self.policies = BucketPolicies(ctx)

    async def close(self) -> None:
        for reporter in self.ctx.reporters.values():
            await reporter.close()
        await self.ctx.meta.close()
        await self.ctx.blobs.close()
