"""The core's history service: one key's versions, a key and a container at a time."""

from __future__ import annotations

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NoSuchKey
from dolium.model import Versioning

BUCKET = "hist"


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    await c.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    return c


async def put(core: Core, key: str, data: bytes) -> None:
    await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions())
    core.clock.advance(10)


async def test_versions_and_the_state_at_a_time(core: Core) -> None:
    history = core.store.history
    start = core.clock.now
    await put(core, "k", b"one")
    await put(core, "k", b"two")
    await put(core, "other", b"x")
    await core.store.objects.delete(ALICE, BUCKET, "k")
    core.clock.advance(10)
    assert [v.size for v in await history.versions(ALICE, BUCKET, "k")] == [3, 3]
    assert (await history.at(ALICE, BUCKET, "k", start + 5)).size == 3
    with pytest.raises(NoSuchKey):
        await history.at(ALICE, BUCKET, "k", start - 1)
    with pytest.raises(NoSuchKey):  # deleted by then
        await history.at(ALICE, BUCKET, "k", core.clock.now)
    assert [v.key for v in await history.list_at(ALICE, BUCKET, start + 15)] == ["k"]
    assert [v.key for v in await history.list_at(ALICE, BUCKET, core.clock.now)] == ["other"]
    assert await history.usage_at(ALICE, BUCKET, start + 15) == (1, 3)
    with pytest.raises(AccessDenied):
        await history.versions(BOB, BUCKET, "k")
    with pytest.raises(AccessDenied):
        await history.list_at(BOB, BUCKET, start)


async def test_many_versions_page_through(core: Core) -> None:
    for n in range(5):
        await put(core, "k", bytes(n))
    await put(core, "k2", b"x")
    found = await core.store.history.versions(ALICE, BUCKET, "k")
    assert [v.size for v in found] == [4, 3, 2, 1, 0]


async def test_purges(core: Core) -> None:
    history = core.store.history
    await put(core, "k", b"one")
    await put(core, "k", b"two")
    middle = core.clock.now
    await put(core, "k", b"three")
    await put(core, "gone", b"x")
    await core.store.objects.delete(ALICE, BUCKET, "gone")
    core.clock.advance(10)
    # The container's purge keeps every current object.
    assert await history.purge_container(ALICE, BUCKET, middle) == 2
    assert [v.size for v in await history.versions(ALICE, BUCKET, "k")] == [5]
    assert await history.purge_container(ALICE, BUCKET, core.clock.now) == 2  # "gone"
    assert await history.versions(ALICE, BUCKET, "gone") == []
    # An object's purge takes the current version too.
    assert await history.purge(ALICE, BUCKET, "k", core.clock.now) == 1
    with pytest.raises(NoSuchKey):
        await core.store.objects.head(ALICE, BUCKET, "k")
    with pytest.raises(AccessDenied):
        await history.purge(BOB, BUCKET, "k", core.clock.now)
    with pytest.raises(AccessDenied):
        await history.purge_container(BOB, BUCKET, core.clock.now)
