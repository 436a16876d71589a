"""Key store over the meta store: access keys kept with tenants and users."""

from __future__ import annotations

from dolium.model import AccessKey, Principal
from dolium.protocols.meta import MetaStore


class MetaKeyStore:
    """Looks keys up in the meta store on every call.

    The server keeps the answers in a cache (core.access.cached_keys) that
    is emptied whenever the meta store's config epoch moves, which revoking
    a key does: a revoked key stops working at once, on every server process.

    The principal's `groups` stay empty: finding every account group that
    names the user would add a read to every request (it made this lookup
    half again to twice as slow on SQLite), while sharing, the only rule that
    asks, looks up the members of just the groups a document names, and only
    for requests the S3 rules refuse.
    """

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    @classmethod
    async def open(cls, *, meta: MetaStore) -> MetaKeyStore:
        """The `meta` key store (the default): over the server's own meta store."""
        return cls(meta)

    async def close(self) -> None:
        """Nothing to close: the meta store is the server's, closed with it."""

    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        key = await self.meta.get_key(access_key)
        if key is None or not key.active:
            return None
        tenant = await self.meta.get_tenant(key.tenant)
        user = await self.meta.get_user(key.tenant, key.user)
        if tenant is None or user is None:
            return None
        principal = Principal(
            tenant=tenant.name,
            user=user.name,
            access_key=key.access_key,
            admin=user.admin,
            canonical_id=tenant.canonical_id,
            display_name=tenant.display_name,
        )
        return key, principal
