"""Pithos sharing through the core, as the server composes its authorizer: sharing
documents and groups kept in the meta store let another account's users read
and write, and without them every refusal stays as it was."""

from __future__ import annotations

import pytest
from corekit import Core, body, make_core, read_all

from dolium.app import build_authorizer
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NoSuchKey
from dolium.model import Principal, Sharing, Tenant

BUCKET = "docs"
ALICE = Principal("alice", "alice", canonical_id="id-alice")
BOB = Principal("bob", "bob", canonical_id="id-bob")
DAVE = Principal("dave", "dave", canonical_id="id-dave")
ANON = Principal("", "")


@pytest.fixture
async def core() -> Core:
    meta = MemoryMetaStore()
    c = make_core(meta)
    c.store.ctx.authorizer = build_authorizer(meta)
    for name in ("alice", "bob", "dave"):
        await meta.create_tenant(Tenant(name, f"id-{name}", name.title()))
    await c.store.buckets.create(ALICE, BUCKET)
    await put(c, "reports/q1.txt", b"first quarter")
    return c


async def put(core: Core, key: str, data: bytes = b"x", who: Principal = ALICE) -> None:
    await core.store.objects.put(who, BUCKET, key, body(data), WriteOptions())


async def reads(core: Core, who: Principal, key: str) -> bytes:
    version = await core.store.objects.head(who, BUCKET, key)
    return await read_all(core.store, version)


async def share(
    core: Core, key: str, *, read: tuple[str, ...] = (), write: tuple[str, ...] = ()
) -> None:
    await core.meta.set_sharing(BUCKET, key, Sharing(read, write), actor=ALICE.actor)


async def test_without_sharing_the_refusals_are_unchanged(core: Core) -> None:
    for who in (BOB, ANON):
        with pytest.raises(AccessDenied):
            await reads(core, who, "reports/q1.txt")
        with pytest.raises(AccessDenied):  # a stranger learns nothing of absent keys
            await reads(core, who, "reports/none.txt")
        with pytest.raises(AccessDenied):
            await put(core, "reports/q2.txt", who=who)
    assert await reads(core, ALICE, "reports/q1.txt") == b"first quarter"


async def test_a_reader_of_another_account_reads_and_does_not_write(core: Core) -> None:
    await share(core, "reports/q1.txt", read=("bob",))
    assert await reads(core, BOB, "reports/q1.txt") == b"first quarter"
    with pytest.raises(AccessDenied):
        await put(core, "reports/q1.txt", b"overwritten", who=BOB)
    with pytest.raises(AccessDenied):
        await reads(core, DAVE, "reports/q1.txt")
    with pytest.raises(AccessDenied):
        await reads(core, ANON, "reports/q1.txt")
    await share(core, "reports/q1.txt")  # unshared again
    with pytest.raises(AccessDenied):
        await reads(core, BOB, "reports/q1.txt")


async def test_a_folder_shared_with_a_group_lets_its_members_read(core: Core) -> None:
    await put(core, "reports/", b"")  # the folder's own object, which carries its sharing
    await share(core, "reports/", read=("alice:friends",))
    with pytest.raises(AccessDenied):
        await reads(core, BOB, "reports/q1.txt")
    await core.meta.set_group("alice", "friends", ["bob", "carol"], actor=ALICE.actor)
    assert await reads(core, BOB, "reports/q1.txt") == b"first quarter"
    with pytest.raises(AccessDenied):
        await reads(core, DAVE, "reports/q1.txt")
    await core.meta.set_group("alice", "friends", ["carol"], actor=ALICE.actor)
    with pytest.raises(AccessDenied):
        await reads(core, BOB, "reports/q1.txt")


async def test_a_writer_writes_and_reads(core: Core) -> None:
    await put(core, "reports/", b"")
    await share(core, "reports/", write=("bob:bob",))
    await put(core, "reports/q2.txt", b"second quarter", who=BOB)
    assert await reads(core, BOB, "reports/q2.txt") == b"second quarter"
    assert await reads(core, ALICE, "reports/q2.txt") == b"second quarter"
    with pytest.raises(AccessDenied):  # sharing never grants a listing
        await reads(core, BOB, "reports/none.txt")
    with pytest.raises(NoSuchKey):
        await reads(core, ALICE, "reports/none.txt")


async def test_a_path_without_slash_shares_its_contents_only_as_a_directory_object(
    core: Core,
) -> None:
    folder = WriteOptions(content_type="application/directory")
    await core.store.objects.put(ALICE, BUCKET, "archive", body(b""), folder)
    await put(core, "archive/old.txt", b"old")
    await put(core, "notes", b"a plain object")
    await put(core, "notes/today.txt", b"today")
    await share(core, "archive", read=("bob",))
    await share(core, "notes", read=("bob",))
    assert await reads(core, BOB, "archive/old.txt") == b"old"
    assert await reads(core, BOB, "notes") == b"a plain object"
    with pytest.raises(AccessDenied):
        await reads(core, BOB, "notes/today.txt")
