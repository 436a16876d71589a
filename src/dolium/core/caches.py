"""Per-process caches of what almost every request reads and almost nothing changes.

A request reads its principal (by access key: a key, a user and a tenant)
and its bucket (by name) before anything else; they change rarely. The meta
store keeps a config epoch that every change of accounts, users, keys or
containers moves on, in the transaction that makes the change. Each read
through a cache first reads that one number, and empties every cache when it
moved: so a cached answer is never older than a read of the store made at
the same moment, on any server process sharing the store (a revoked key
stops working at once, as without a cache), and the epoch is the one read
left of several.

A value read while the caches were being emptied is not kept: its read may
have begun before the change it would hide (`generation`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from dolium.protocols.meta import MetaStore

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Entries per cache at most; past it a cache starts over (keys a client
# invents must not grow the process without bound).
LIMIT = 10_000


class Cache(Generic[K, V]):
    def __init__(self, caches: Caches) -> None:
        self._caches = caches
        self._entries: dict[K, V] = {}

    async def get(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        await self._caches.refresh()
        try:
            return self._entries[key]
        except KeyError:
            pass
        generation = self._caches.generation
        value = await load(key)
        if generation == self._caches.generation:
            if len(self._entries) >= LIMIT:
                self._entries.clear()
            self._entries[key] = value
        return value

    def clear(self) -> None:
        self._entries.clear()


class Caches:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        self._epoch: int | None = None
        self._all: list[Cache[object, object]] = []
        self.generation = 0

    def cache(self) -> Cache[K, V]:
        made: Cache[K, V] = Cache(self)
        self._all.append(made)  # type: ignore[arg-type]  # cleared only, never read here
        return made

    async def refresh(self) -> None:
        """Empty every cache if the meta store changed since the last look."""
        epoch = await self._meta.config_epoch()
        if epoch != self._epoch:
            self.clear()
            self._epoch = epoch

    def clear(self) -> None:
        self.generation += 1
        for cache in self._all:
            cache.clear()
