"""The key store behind a per-process cache (core.caches)."""

from __future__ import annotations

from dolium.core.caches import Cache, Caches
from dolium.model import AccessKey, Principal
from dolium.protocols.keys import KeyStore

Found = tuple[AccessKey, Principal] | None


class CachedKeyStore:
    """Answers each access key from memory until the caches are emptied.

    Unknown and revoked keys are remembered too: a client repeating a bad
    key costs no read either.
    """

    def __init__(self, keys: KeyStore, caches: Caches) -> None:
        self._keys = keys
        self._found: Cache[str, Found] = caches.cache()

    async def lookup(self, access_key: str) -> Found:
        return await self._found.get(access_key, self._keys.lookup)
