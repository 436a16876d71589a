"""Public links in the core: who publishes, ids that follow the path, revocation."""

from __future__ import annotations

import pytest
from corekit import Core, body, make_core

from dolium.app import build_authorizer
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.objects.public_links import ID_LENGTH, new_id
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NoSuchKey
from dolium.model import Principal, Tenant

BUCKET = "docs"
ALICE = Principal("alice", "alice", canonical_id="id-alice", admin=True)
BOB = Principal("bob", "bob", canonical_id="id-bob")


@pytest.fixture
async def core() -> Core:
    meta = MemoryMetaStore()
    c = make_core(meta)
    c.store.ctx.authorizer = build_authorizer(meta)
    for name in ("alice", "bob"):
        await meta.create_tenant(Tenant(name, f"id-{name}", name.title()))
    await c.store.buckets.create(ALICE, BUCKET)
    await c.store.objects.put(ALICE, BUCKET, "k", body(b"v1"), WriteOptions())
    return c


def test_new_ids_are_letters_and_digits() -> None:
    made = new_id()
    assert len(made) == ID_LENGTH and made.isalnum() and made.isascii()
    assert len(new_id(ID_LENGTH + 2)) == ID_LENGTH + 2


async def test_publish_open_and_revoke(core: Core) -> None:
    links = core.store.public_links
    public_id = await links.set(ALICE, BUCKET, "k", True)
    assert public_id is not None
    assert await links.set(ALICE, BUCKET, "k", True) == public_id  # kept, not redrawn
    await core.store.objects.put(ALICE, BUCKET, "k", body(b"v2"), WriteOptions())
    version = await links.open(public_id)
    assert version.key == "k" and version.size == 2
    assert await links.of(version) == public_id
    with pytest.raises(AccessDenied):
        await links.set(BOB, BUCKET, "k", False)
    assert await links.set(ALICE, BUCKET, "k", False) is None
    with pytest.raises(NoSuchKey):
        await links.open(public_id)
    with pytest.raises(NoSuchKey):
        await links.set(ALICE, BUCKET, "absent", True)
    with pytest.raises(NoSuchKey):
        await links.open("")


async def test_a_deleted_object_loses_its_link(core: Core) -> None:
    links = core.store.public_links
    public_id = await links.set(ALICE, BUCKET, "k", True)
    assert public_id is not None
    await core.store.objects.delete(ALICE, BUCKET, "k")
    with pytest.raises(NoSuchKey):
        await links.open(public_id)
    await links.clear(ALICE, BUCKET, "k")
