"""Per-process caches, emptied when the meta store's config epoch moves."""

from __future__ import annotations

import asyncio

import pytest

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core import caches as caches_module
from dolium.core.caches import REQUEST_SCOPE, Caches
from dolium.model import Tenant


async def test_a_cached_value_holds_until_the_epoch_moves() -> None:
    meta = MemoryMetaStore()
    caches = Caches(meta)
    cache = caches.cache()
    reads: list[str] = []

    async def load(key: str) -> str:
        reads.append(key)
        return f"value of {key} #{len(reads)}"

    assert await cache.get("a", load) == "value of a #1"
    assert await cache.get("a", load) == "value of a #1"  # nothing changed: still cached
    await meta.create_tenant(Tenant("t1", "c", "T"))
    assert await cache.get("a", load) == "value of a #2"
    assert await cache.get("a", load) == "value of a #2"
    assert reads == ["a", "a"]


async def test_absence_is_cached_too() -> None:
    caches = Caches(MemoryMetaStore())
    cache = caches.cache()
    reads = 0

    async def load(key: str) -> None:
        nonlocal reads
        reads += 1

    assert await cache.get("missing", load) is None
    assert await cache.get("missing", load) is None
    assert reads == 1


async def test_a_read_overtaken_by_a_refresh_is_not_kept() -> None:
    meta = MemoryMetaStore()
    caches = Caches(meta)
    cache = caches.cache()
    release = asyncio.Event()

    async def slow(key: str) -> str:
        await release.wait()
        return "read before the change"

    reader = asyncio.create_task(cache.get("a", slow))
    await asyncio.sleep(0)
    await meta.create_tenant(Tenant("t1", "c", "T"))
    await caches.refresh()  # a read after the change empties the caches
    release.set()
    assert await reader == "read before the change"  # its own request still gets it

    async def fresh(key: str) -> str:
        return "read after the change"

    assert await cache.get("a", fresh) == "read after the change"


async def test_a_cache_starts_over_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caches_module, "LIMIT", 3)
    cache = Caches(MemoryMetaStore()).cache()

    async def load(key: int) -> int:
        return key

    for key in range(3):
        await cache.get(key, load)
    assert len(cache._entries) == 3
    await cache.get(3, load)
    assert list(cache._entries) == [3]


async def test_a_request_reads_the_epoch_once() -> None:
    meta = MemoryMetaStore()
    caches = Caches(meta)
    cache = caches.cache()
    epochs = 0
    read_epoch = meta.config_epoch

    async def counted() -> int:
        nonlocal epochs
        epochs += 1
        return await read_epoch()

    meta.config_epoch = counted  # type: ignore[method-assign]

    async def load(key: str) -> str:
        return key

    async def request() -> None:
        REQUEST_SCOPE.set(object())
        for key in ("key", "bucket", "quota"):
            await cache.get(key, load)

    await asyncio.create_task(request())
    assert epochs == 1
    # The next request looks again, and sees a change made in between.
    await meta.create_tenant(Tenant("t1", "c", "T"))
    generation = caches.generation
    await asyncio.create_task(request())
    assert epochs == 2 and caches.generation == generation + 1
    # Outside a request (a background job), every read looks.
    for key in ("a", "b"):
        await cache.get(key, load)
    assert epochs == 4
