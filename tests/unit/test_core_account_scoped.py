"""The core services the account-scoped APIs (Swift, Pithos) add: account and
container metadata, container usage, object expiry, logins by user secret."""

from __future__ import annotations

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NoSuchBucket, NoSuchKey
from dolium.model import Principal, container_address


@pytest.fixture
def core() -> Core:
    return make_core()


async def test_account_metadata_is_merged_and_only_its_own(core: Core) -> None:
    accounts = core.store.accounts
    await accounts.update_meta(ALICE, "alice", {"a": "1", "b": "2"})
    await accounts.update_meta(ALICE, "alice", {"a": None, "c": "3", "b": ""})
    assert (await accounts.get(ALICE, "alice")).meta == {"c": "3"}
    with pytest.raises(AccessDenied):
        await accounts.get(BOB, "alice")
    with pytest.raises(AccessDenied):
        await accounts.update_meta(BOB, "alice", {"x": "1"})


async def test_the_root_accounts_admins_change_any_accounts_metadata(core: Core) -> None:
    accounts = core.store.accounts
    root = Principal(tenant="root", user="root", admin=True)
    await accounts.update_meta(root, "alice", {"quota-bytes": "10"})
    assert (await accounts.stored("alice")).meta == {"quota-bytes": "10"}
    # Reading it stays the account's own business; so does a change by a
    # root user who is no admin.
    with pytest.raises(AccessDenied):
        await accounts.get(root, "alice")
    with pytest.raises(AccessDenied):
        await accounts.update_meta(Principal(tenant="root", user="u"), "alice", {"x": "1"})


async def test_unchecked_reads_of_container_settings(core: Core) -> None:
    await core.store.buckets.create_container("alice", "box")
    address = container_address("alice", "box")
    await core.store.containers.update_meta(ALICE, address, {"temp-url-key": "k"})
    await core.store.objects.put(ALICE, address, "k", body(b"123"), WriteOptions())
    assert await core.store.containers.stored_meta(address) == {"temp-url-key": "k"}
    usage = await core.store.containers.stored_usage(address)
    assert (usage.objects, usage.bytes) == (1, 3)
    with pytest.raises(NoSuchBucket):
        await core.store.containers.stored_meta(container_address("alice", "none"))


async def test_container_metadata_and_usage(core: Core) -> None:
    await core.store.buckets.create_container("alice", "box")
    address = container_address("alice", "box")
    await core.store.containers.update_meta(ALICE, address, {"color": "red"})
    await core.store.objects.put(ALICE, address, "k", body(b"12345"), WriteOptions())
    bucket, usage = await core.store.containers.describe(ALICE, address)
    assert (usage.objects, usage.bytes) == (1, 5)
    from dolium.core.buckets.container_meta import metadata

    assert metadata(bucket) == {"color": "red"}
    with pytest.raises(AccessDenied):
        await core.store.containers.update_meta(BOB, address, {"x": "1"})
    with pytest.raises(NoSuchBucket):
        await core.store.containers.describe(ALICE, container_address("alice", "none"))


async def test_expiry_hides_the_object_once_past(core: Core) -> None:
    await core.store.buckets.create_container("alice", "box")
    address = container_address("alice", "box")
    version = await core.store.objects.put(ALICE, address, "k", body(b"x"), WriteOptions())
    await core.store.expiry.set(ALICE, address, "k", core.clock() + 10)
    assert await core.store.expiry.check(version) == core.clock() + 10
    core.clock.advance(10)
    with pytest.raises(NoSuchKey):
        await core.store.expiry.check(version)
    await core.store.expiry.set(ALICE, address, "k", None)
    assert await core.store.expiry.check(version) is None
    with pytest.raises(AccessDenied):
        await core.store.expiry.set(BOB, address, "k", None)


async def test_user_secrets_match_active_keys_only(core: Core) -> None:
    from dolium.core.accounts.service import AccountService

    service = AccountService(core.meta, core.clock)
    await service.create_tenant("acme")
    first = await service.create_user("acme", "alice", secret_key="first-secret-0000")
    second = await service.create_key("acme", "alice", secret_key="second-secret-000")
    secrets = core.store.user_secrets
    assert await secrets.verify("acme", "alice", "first-secret-0000") == first
    assert await secrets.verify("acme", "alice", "second-secret-000") == second
    assert await secrets.verify("acme", "alice", "wrong") is None
    assert await secrets.verify("acme", "bob", "first-secret-0000") is None
    await service.revoke_key(first.access_key)
    assert await secrets.verify("acme", "alice", "first-secret-0000") is None


def test_swift_acl_entries_and_grants() -> None:
    from dolium.core.access.actions import Action
    from dolium.core.access.swift_acl import SwiftAcl, grants, parse_entries
    from dolium.errors import InvalidArgument
    from dolium.model import Principal

    assert parse_entries(" acme , acme:bob,,*:eve,.r:*,acme", read=True) == (
        "acme",
        "acme:bob",
        "*:eve",
        ".r:*",
    )
    for bad, read in [(".r:example.com", True), (".r:*", False), ("a:b:c", False), ("*", True)]:
        with pytest.raises(InvalidArgument):
            parse_entries(bad, read=read)
    bob = Principal(tenant="acme", user="bob")
    eve = Principal(tenant="evil", user="eve")
    anon = Principal(tenant="", user="")
    acl = SwiftAcl(read=("acme:bob", ".r:*"), write=("*:eve",))
    assert grants(acl, bob, Action.READ) and grants(acl, bob, Action.LIST)
    assert grants(acl, anon, Action.READ) and not grants(acl, anon, Action.LIST)
    assert grants(SwiftAcl(read=(".r:*", ".rlistings")), anon, Action.LIST)
    assert grants(acl, eve, Action.WRITE) and grants(acl, eve, Action.DELETE)
    assert not grants(acl, bob, Action.WRITE)
    assert not grants(acl, anon, Action.WRITE)
    assert not grants(acl, eve, Action.DELETE_CONTAINER)


async def test_swift_acl_is_the_owners_to_set(core: Core) -> None:
    await core.store.buckets.create_container("alice", "box")
    address = container_address("alice", "box")
    updated = await core.store.containers.set_swift_acl(ALICE, address, "bob", None)
    from dolium.core.access.swift_acl import stored_acl

    assert stored_acl(updated).read == ("bob",)
    with pytest.raises(AccessDenied):
        await core.store.containers.set_swift_acl(BOB, address, "", "")
    await core.store.containers.set_swift_acl(ALICE, address, "", None)
    bucket, _ = await core.store.containers.describe(ALICE, address)
    assert stored_acl(bucket).read == ()
