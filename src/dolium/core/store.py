"""The core as the front ends see it: one object holding every service.

Front ends call these services and nothing else: the context they share
(stores, clock, settings) stays inside the core.
"""

from __future__ import annotations

from dolium.core.access.acls import Acls
from dolium.core.access.bucket_policy import BucketPolicies
from dolium.core.accounts.account_info import AccountInfo
from dolium.core.accounts.tenant_users import TenantUsers
from dolium.core.accounts.user_secrets import UserSecrets
from dolium.core.buckets.access_logging import AccessLogging
from dolium.core.buckets.container_meta import ContainerInfo
from dolium.core.buckets.cors import Cors
from dolium.core.buckets.lifecycle import Lifecycle
from dolium.core.buckets.notifications import Notifications
from dolium.core.buckets.service import Buckets
from dolium.core.buckets.settings import BucketSettings
from dolium.core.buckets.website import Website
from dolium.core.content.sse import BucketEncryption
from dolium.core.context import Context
from dolium.core.jobs.delivery import Delivery
from dolium.core.objects.expiry import Expiry
from dolium.core.objects.hashmap_write import HashmapWrites
from dolium.core.objects.hashmaps import Hashmaps
from dolium.core.objects.history import History
from dolium.core.objects.listing import Listing
from dolium.core.objects.moves import Moves
from dolium.core.objects.multipart import Multipart
from dolium.core.objects.object_lock import ObjectLock
from dolium.core.objects.public_links import PublicLinks
from dolium.core.objects.service import Objects
from dolium.core.objects.shares import Shares
from dolium.core.objects.tagging import Tagging
from dolium.core.objects.updates import Updates
from dolium.core.operations.admin import Administration
from dolium.core.operations.status import Status
from dolium.model import Change, ChangeAction, Principal


class Store:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Event notifications, from the change log; the server runs its passes.
        self.delivery = Delivery(ctx)
        self.buckets = Buckets(ctx)
        self.objects = Objects(ctx, self.delivery.deliver_now)
        self.listing = Listing(ctx)
        self.multipart = Multipart(ctx, self.objects)
        self.tagging = Tagging(ctx, self.objects)
        self.acls = Acls(ctx, self.objects)
        self.object_lock = ObjectLock(ctx, self.objects)
        self.cors = Cors(ctx)
        self.notifications = Notifications(ctx, self.delivery.deliver_now)
        self.bucket_settings = BucketSettings(ctx)
        self.policies = BucketPolicies(ctx)
        self.encryption = BucketEncryption(ctx)
        self.lifecycle = Lifecycle(ctx)
        self.website = Website(ctx)
        # What the APIs that scope containers by account (Swift, Pithos) add.
        self.accounts = AccountInfo(ctx)
        self.containers = ContainerInfo(ctx)
        self.expiry = Expiry(ctx)
        # Who else may read and write an object (sharing documents on paths).
        self.shares = Shares(ctx)
        self.public_links = PublicLinks(ctx)
        # The past of objects and containers: versions, and state at a time.
        self.history = History(ctx, self.objects)
        self.moves = Moves(ctx)
        self.updates = Updates(self.objects)
        # Pithos: hashmaps of stored versions, and writes by hashmap.
        self.hashmaps = Hashmaps(ctx, self.objects)
        self.hashmap_writes = HashmapWrites(ctx, self.objects)
        self.user_secrets = UserSecrets(ctx)
        # Health and figures, for operators (metrics, admin API).
        self.status = Status(ctx)
        # Bucket and tenant quotas, which every write keeps (core.accounts.quotas).
        self.quotas = self.objects.quotas
        self.admin = Administration(ctx, self.quotas)
        self.access_logging = AccessLogging(ctx, self.objects)

    def tenant_users(self, principal: Principal) -> TenantUsers:
        """The caller's tenant's users, keys and user policies, as IAM manages them."""
        return TenantUsers(self.ctx.meta, self.ctx.clock, principal)

    async def refused(self, principal: Principal, what: str, bucket: str, key: str) -> None:
        """Record that `principal` was refused a request that would have changed state
        (`what`: the method and what it asked for); the audit log seals it like a change."""
        change = Change(
            0, self.ctx.clock(), ChangeAction.REQUEST_DENIED, principal.actor,
            bucket=bucket, key=key, name=what,
        )  # fmt: skip
        await self.ctx.meta.record_refusal(change)

    async def close(self) -> None:
        for reporter in self.ctx.reporters.values():
            await reporter.close()
        await self.ctx.meta.close()
        if self.ctx.keys is not None:
            await self.ctx.keys.close()
        # Several policies may share one block store: each is closed once.
        stores = {id(s): s for s in (self.ctx.blobs, *self.ctx.policies.values())}
        for blobs in stores.values():
            await blobs.close()
