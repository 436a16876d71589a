"""A tenant's default storage policy: what its new buckets go through when
their creation names none (an S3 CreateBucket without
`x-dolium-storage-policy`, a Swift container PUT without X-Storage-Policy).

Operators set it (the admin API); owners cannot, through any API: like the
tenant's quota (core.accounts.quotas) it is kept in the account metadata
under a name no Swift header can spell (RESERVED, with a colon), which
`AccountInfo` hides from the account's owner and never lets it change.

It is read through the caches on every bucket creation; a change of it
moves the meta store's config epoch on, as any change of account metadata
does, so every server process sees it at once.
"""

from __future__ import annotations

from dolium.core.caches import Cache
from dolium.core.context import Context
from dolium.model import SERVER, Actor

RESERVED = "dolium:policy"  # the account metadata name of the tenant's default policy


class TenantPolicies:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._accounts: Cache[str, str | None] = ctx.caches.cache()

    async def of_account(self, account: str) -> str | None:
        """The tenant's default policy; None when it has none (the server's applies)."""

        async def load(name: str) -> str | None:
            return (await self.ctx.meta.get_account(name)).meta.get(RESERVED) or None

        return await self._accounts.get(account, load)

    async def for_new_bucket(self, account: str, asked: str | None) -> str:
        """The policy a new bucket of `account` goes through: the one its creation
        asked for, else the tenant's, else the server's; NoSuchStoragePolicy if
        this server lacks it (a tenant's policy the configuration dropped is
        refused, never replaced by another unasked)."""
        if asked is None:
            asked = await self.of_account(account) or self.ctx.settings.default_policy
        return self.ctx.check_policy(asked)

    async def set_account(self, account: str, policy: str | None, *, actor: Actor = SERVER) -> None:
        """Set the tenant's default policy (None: remove it). The caller checks the
        name against the configured policies and that an administrator asks."""
        meta = dict((await self.ctx.meta.get_account(account)).meta)
        if policy is None:
            meta.pop(RESERVED, None)
        else:
            meta[RESERVED] = policy
        await self.ctx.meta.set_account_meta(account, meta, actor=actor)
