"""The key store behind a per-process cache (core.caches)."""

from __future__ import annotations

from dolium.core.access.identity import with_policies
from dolium.core.caches import Cache, Caches
from dolium.model import AccessKey, Principal
from dolium.protocols.keys import KeyStore
from dolium.protocols.meta import MetaStore

Found = tuple[AccessKey, Principal] | None


class CachedKeyStore:
    """Answers each access key from memory until the caches are emptied.

    Unknown and revoked keys are remembered too: a client repeating a bad
    key costs no read either. With `meta`, the principal found carries the
    identity policies of its user and groups (`identity.with_policies`),
    read with it and kept with it: a change of a policy moves the config
    epoch, which empties the cache.
    """

    def __init__(self, keys: KeyStore, caches: Caches, meta: MetaStore | None = None) -> None:
        self._keys = keys
        self._meta = meta
        self._found: Cache[str, Found] = caches.cache()

    async def lookup(self, access_key: str) -> Found:
        return await self._found.get(access_key, self._load)

    async def _load(self, access_key: str) -> Found:
        found = await self._keys.lookup(access_key)
        if found is None or self._meta is None:
            return found
        key, principal = found
        return key, await with_policies(self._meta, principal)

    async def close(self) -> None:
        await self._keys.close()
