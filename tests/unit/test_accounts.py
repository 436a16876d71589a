"""The account service: tenants, users, keys and the root account."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dolium.config import Config
from dolium.core.accounts.service import (
    AccountService,
    check_name,
    new_access_key,
    new_canonical_id,
    new_secret_key,
)
from dolium.errors import (
    AccessKeyExists,
    ConfigError,
    InvalidArgument,
    NoSuchAccessKey,
    NoSuchTenant,
    NoSuchUser,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import Bucket
from dolium.plugins import open_meta
from dolium.protocols import MetaStore


@pytest.fixture(params=["memory", "sqlite"])
async def meta(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MetaStore]:
    config = Config(data_dir=tmp_path, meta={"use": request.param})  # type: ignore[arg-type]
    store = await open_meta(config)
    yield store
    await store.close()


@pytest.fixture
def accounts(meta: MetaStore) -> AccountService:
    return AccountService(meta, time.time)


def test_generated_credentials_look_like_aws() -> None:
    keys = {new_access_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"DK[A-Z0-9]{18}", k) for k in keys)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", new_secret_key())
    assert re.fullmatch(r"[0-9a-f]{64}", new_canonical_id())


@pytest.mark.parametrize("name", ["a", "acme", "acme-corp_2", "x" * 64])
def test_good_names(name: str) -> None:
    assert check_name("tenant", name) == name


@pytest.mark.parametrize("name", ["", "Acme", "a b", "a:b", "é", "x" * 65, "a/b"])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidArgument, match=r"tenant name .* is invalid: use 1-64 lowercase"):
        check_name("tenant", name)


async def test_tenant_lifecycle(accounts: AccountService) -> None:
    before = time.time()
    t = await accounts.create_tenant("acme", email="ops@acme.example")
    assert t.display_name == "acme"
    assert re.fullmatch(r"[0-9a-f]{64}", t.canonical_id)
    assert t.created >= before
    assert await accounts.get_tenant("acme") == t
    other = await accounts.create_tenant("beta", canonical_id="c0ffee", display_name="Beta Inc")
    assert (other.canonical_id, other.display_name) == ("c0ffee", "Beta Inc")
    assert [x.name for x in await accounts.list_tenants()] == ["acme", "beta"]
    with pytest.raises(TenantExists):
        await accounts.create_tenant("acme")
    with pytest.raises(TenantExists, match="canonical id"):
        await accounts.create_tenant("gamma", canonical_id="c0ffee")
    await accounts.delete_tenant("acme")
    assert [x.name for x in await accounts.list_tenants()] == ["beta"]
    with pytest.raises(NoSuchTenant):
        await accounts.delete_tenant("acme")


async def test_tenant_arguments_are_checked(accounts: AccountService) -> None:
    with pytest.raises(InvalidArgument, match="tenant name"):
        await accounts.create_tenant("Bad")
    with pytest.raises(InvalidArgument, match="canonical id"):
        await accounts.create_tenant("ok", canonical_id="no spaces")
    with pytest.raises(InvalidArgument, match="email"):
        await accounts.create_tenant("ok", email="nobody")
    with pytest.raises(InvalidArgument, match="display name"):
        await accounts.create_tenant("ok", display_name="  ")
    assert await accounts.list_tenants() == []


async def test_delete_refuses_tenant_with_buckets(
    accounts: AccountService, meta: MetaStore
) -> None:
    await accounts.create_tenant("acme")
    await meta.create_bucket(Bucket(name="photos", owner="acme", created=time.time()))
    with pytest.raises(TenantNotEmpty, match="photos"):
        await accounts.delete_tenant("acme")
    await meta.delete_bucket("photos")
    await accounts.delete_tenant("acme")


async def test_delete_removes_users_and_keys(accounts: AccountService) -> None:
    await accounts.create_tenant("acme")
    key = await accounts.create_user("acme", "alice")
    await accounts.delete_tenant("acme")
    assert await accounts.list_users() == []
    with pytest.raises(NoSuchAccessKey):
        await accounts.get_key(key.access_key)


async def test_root_tenant_cannot_be_deleted(accounts: AccountService) -> None:
    await accounts.ensure_root("ROOTKEY", "rootsecret")
    with pytest.raises(InvalidArgument, match="root"):
        await accounts.delete_tenant("root")


async def test_users_and_keys(accounts: AccountService) -> None:
    await accounts.create_tenant("acme")
    key = await accounts.create_user("acme", "alice", admin=True)
    assert (key.tenant, key.user, key.active) == ("acme", "alice", True)
    assert re.fullmatch(r"DK[A-Z0-9]{18}", key.access_key)
    assert len(key.secret_key) == 40
    assert (await accounts.get_user("acme", "alice")).admin
    given = await accounts.create_user("acme", "bob", access_key="BOBKEY", secret_key="bobsecret")
    assert (given.access_key, given.secret_key) == ("BOBKEY", "bobsecret")
    users = await accounts.list_users("acme")
    assert [(u.name, u.admin) for u in users] == [("alice", True), ("bob", False)]
    with pytest.raises(UserExists):
        await accounts.create_user("acme", "alice")
    with pytest.raises(NoSuchTenant):
        await accounts.create_user("nope", "alice")
    with pytest.raises(NoSuchTenant):
        await accounts.list_users("nope")
    with pytest.raises(AccessKeyExists):
        await accounts.create_user("acme", "carol", access_key="BOBKEY")
    assert [u.name for u in await accounts.list_users()] == ["alice", "bob"]

    second = await accounts.create_key("acme", "alice")
    assert second.access_key != key.access_key
    with pytest.raises(AccessKeyExists):
        await accounts.create_key("acme", "alice", access_key="BOBKEY")
    with pytest.raises(NoSuchUser):
        await accounts.create_key("acme", "nobody")
    listed = await accounts.list_keys("acme")
    assert {k.access_key for k in listed} == {key.access_key, second.access_key, "BOBKEY"}

    revoked = await accounts.revoke_key(second.access_key)
    assert revoked.user == "alice"
    assert not (await accounts.get_key(second.access_key)).active
    with pytest.raises(NoSuchAccessKey):
        await accounts.revoke_key("NOSUCHKEY")


async def test_key_arguments_are_checked(accounts: AccountService) -> None:
    await accounts.create_tenant("acme")
    with pytest.raises(InvalidArgument, match="user name"):
        await accounts.create_user("acme", "Alice")
    with pytest.raises(InvalidArgument, match="access key"):
        await accounts.create_user("acme", "alice", access_key="has/slash")
    with pytest.raises(InvalidArgument, match="secret key is invalid") as info:
        await accounts.create_user("acme", "alice", secret_key="short")
    assert "short" not in info.value.message  # secrets never appear in errors
    assert await accounts.list_users() == []


async def test_ensure_root_is_idempotent(accounts: AccountService) -> None:
    key = await accounts.ensure_root("ROOTACCESSKEY", "rootsecretkey")
    again = await accounts.ensure_root("ROOTACCESSKEY", "rootsecretkey")
    assert (key.access_key, key.secret_key) == (again.access_key, again.secret_key)
    assert (key.tenant, key.user) == ("root", "root")
    assert (await accounts.get_user("root", "root")).admin
    assert [t.name for t in await accounts.list_tenants()] == ["root"]
    assert len(await accounts.list_keys("root")) == 1


async def test_ensure_root_adds_a_new_root_key(accounts: AccountService) -> None:
    await accounts.ensure_root("ROOTKEY1", "rootsecret1")
    await accounts.ensure_root("ROOTKEY2", "rootsecret2")
    keys = await accounts.list_keys("root")
    assert {k.access_key for k in keys} == {"ROOTKEY1", "ROOTKEY2"}


async def test_ensure_root_refuses_conflicting_keys(accounts: AccountService) -> None:
    await accounts.ensure_root("ROOTKEY", "rootsecret")
    with pytest.raises(ConfigError, match="different secret") as info:
        await accounts.ensure_root("ROOTKEY", "othersecret")
    assert "secret" in info.value.message and "othersecret" not in info.value.message
    await accounts.create_tenant("acme")
    await accounts.create_user("acme", "alice", access_key="ALICEKEY", secret_key="alicesecret")
    with pytest.raises(ConfigError, match="belongs to acme:alice"):
        await accounts.ensure_root("ALICEKEY", "alicesecret")
    await accounts.revoke_key("ROOTKEY")
    with pytest.raises(ConfigError, match="revoked"):
        await accounts.ensure_root("ROOTKEY", "rootsecret")
