"""The core's sharing service: who may set sharing, which path governs an object,
what another account's caller finds readable, and account groups."""

from __future__ import annotations

import pytest
from corekit import Core, body, make_core

from dolium.app import build_authorizer
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied
from dolium.model import NO_SHARING, Principal, Sharing, Tenant

BUCKET = "docs"
ALICE = Principal("alice", "alice", canonical_id="id-alice", admin=True)
BOB = Principal("bob", "bob", canonical_id="id-bob")
DAVE = Principal("dave", "dave", canonical_id="id-dave")


@pytest.fixture
async def core() -> Core:
    meta = MemoryMetaStore()
    c = make_core(meta)
    c.store.ctx.authorizer = build_authorizer(meta)
    for name in ("alice", "bob", "dave"):
        await meta.create_tenant(Tenant(name, f"id-{name}", name.title()))
    await c.store.buckets.create(ALICE, BUCKET)
    for key in ("a", "b", "dir/", "dir/c"):
        await c.store.objects.put(ALICE, BUCKET, key, body(b"x"), WriteOptions())
    return c


async def test_only_the_owner_sets_sharing(core: Core) -> None:
    shares = core.store.shares
    await shares.set(ALICE, BUCKET, "a", Sharing(write=("bob",)))
    await shares.check_may_share(ALICE, BUCKET, "new")
    for who in (BOB, DAVE):
        with pytest.raises(AccessDenied):
            await shares.check_may_share(who, BUCKET, "a")
        with pytest.raises(AccessDenied):
            await shares.set(who, BUCKET, "a", NO_SHARING)
    path = await core.meta.get_path(BUCKET, "a")
    assert path is not None and path.sharing == Sharing(write=("bob",))


async def test_governing_names_the_nearest_shared_path(core: Core) -> None:
    shares = core.store.shares
    await shares.set(ALICE, BUCKET, "dir/", Sharing(read=("bob", "alice:friends")))
    version = await core.store.objects.head(ALICE, BUCKET, "dir/c")
    found = await shares.governing(version)
    assert found is not None
    assert found.key == "dir/" and found.sharing.read == ("alice:friends", "bob")
    assert await shares.governing(await core.store.objects.head(ALICE, BUCKET, "a")) is None
    assert not await shares.may_write(BOB, version)


async def test_readable_lists_what_a_stranger_may_read(core: Core) -> None:
    shares = core.store.shares
    await shares.set(ALICE, BUCKET, "b", Sharing(read=("bob",)))
    await shares.set(ALICE, BUCKET, "dir/", Sharing(read=("bob",)))
    assert [i.key for i in await shares.readable(BOB, BUCKET)] == ["b", "dir/", "dir/c"]
    assert [i.key for i in await shares.readable(BOB, BUCKET, limit=1)] == ["b"]
    assert [i.key for i in await shares.readable(BOB, BUCKET, start_after="b")] == ["dir/", "dir/c"]
    assert await shares.readable(DAVE, BUCKET) == []
    assert await shares.carrying(ALICE, BUCKET, ["a", "b", "dir/c"]) == {"b"}
    assert await shares.accounts_sharing(BOB) == ["alice"]
    assert await shares.accounts_sharing(DAVE) == []
    with pytest.raises(AccessDenied):
        await shares.shared_container(DAVE, BUCKET)
    await shares.clear(ALICE, BUCKET, "b")
    assert await shares.carrying(ALICE, BUCKET, ["b"]) == set()


async def test_groups_are_set_replaced_and_removed(core: Core) -> None:
    accounts = core.store.accounts
    await accounts.set_groups(
        ALICE, "alice", {"friends": ("bob",), "team": ("dave",)}, replace_all=True
    )
    assert await accounts.groups(ALICE, "alice") == {"friends": ("bob",), "team": ("dave",)}
    await accounts.set_groups(ALICE, "alice", {"team": ()}, replace_all=False)
    assert await accounts.groups(ALICE, "alice") == {"friends": ("bob",)}
    await accounts.set_groups(ALICE, "alice", {"new": ("dave",)}, replace_all=True)
    assert await accounts.groups(ALICE, "alice") == {"new": ("dave",)}
    with pytest.raises(AccessDenied):
        await accounts.groups(BOB, "alice")
