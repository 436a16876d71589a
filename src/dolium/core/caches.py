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

Within one request the epoch is read once (`REQUEST_SCOPE`): a request
sees the configuration as it stood when it first read it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Generic, TypeVar

from dolium.protocols.meta import MetaStore

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Set by a front end to a new object at the start of each request: the
# caches then read the config epoch once per request rather than once per
# read (a request reads its key, its bucket, its account's quota...). Each
# request runs in a task of its own, so its value is the request's; tasks
# that are not requests (background jobs) leave it unset and read the
# epoch at every read, as they run for ever.
REQUEST_SCOPE: ContextVar[object | None] = ContextVar("dolium_request_scope", default=None)

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
        # The request scope in which this task last read the epoch.
        self._checked_in: ContextVar[object | None] = ContextVar("checked_in", default=None)

    def cache(self) -> Cache[K, V]:
        made: Cache[K, V] = Cache(self)
        self._all.append(made)  # type: ignore[arg-type]  # cleared only, never read here
        return made

    async def refresh(self) -> None:
        """Empty every cache if the meta store changed since the last look.

        Within one request (`REQUEST_SCOPE`) the epoch is read once: its later
        reads through the caches see the store as it was at its first.
        """
        scope = REQUEST_SCOPE.get()
        if scope is not None and self._checked_in.get() is scope:
            return
        epoch = await self._meta.config_epoch()
        if epoch != self._epoch:
            self.clear()
            self._epoch = epoch
        if scope is not None:
            self._checked_in.set(scope)

    def clear(self) -> None:
        self.generation += 1
        for cache in self._all:
            cache.clear()
