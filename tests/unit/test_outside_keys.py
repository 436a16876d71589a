"""Keys of an outside key store (a key file here), acting for accounts of the
meta store: made on first use, the admin flag the key store's, the meta
store's own keys after the outside ones, and no falling through when the
outside store cannot answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dolium.backends.keys_file import FileKeyStore
from dolium.backends.keys_meta import MetaKeyStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.access.cached_keys import CachedKeyStore
from dolium.core.access.outside_keys import OutsideKeyStore
from dolium.core.caches import Caches
from dolium.errors import KeyStoreUnavailable
from dolium.model import AccessKey, Tenant, User
from support.key_sources import write_key_file

ALICE = {"access_key": "DKALICE", "secret_key": "alice-secret", "tenant": "acme", "user": "alice"}


async def keys_over(path: Path) -> tuple[OutsideKeyStore, MemoryMetaStore]:
    meta = MemoryMetaStore()
    caches = Caches(meta)
    outside = await FileKeyStore.open(str(path), check_interval=0)
    inside = CachedKeyStore(MetaKeyStore(meta), caches, meta)
    return OutsideKeyStore(outside, inside, meta, caches, lambda: 1000.0), meta


async def test_a_tenant_and_user_are_made_on_first_use(tmp_path: Path) -> None:
    write_key_file(tmp_path / "k.json", [ALICE])
    keys, meta = await keys_over(tmp_path / "k.json")
    assert await meta.get_tenant("acme") is None
    found = await keys.lookup("DKALICE")
    assert found is not None
    key, principal = found
    tenant = await meta.get_tenant("acme")
    assert tenant is not None and tenant.display_name == "acme" and tenant.created == 1000.0
    assert (principal.tenant, principal.user, principal.access_key) == ("acme", "alice", "DKALICE")
    assert principal.canonical_id == tenant.canonical_id
    assert principal.display_name == "acme"
    assert await meta.get_user("acme", "alice") is not None
    assert key.secret_key == "alice-secret"
    # The key itself is never copied into the meta store.
    assert await meta.get_key("DKALICE") is None
    again = await keys.lookup("DKALICE")
    assert again is not None and again[1].canonical_id == tenant.canonical_id


async def test_an_existing_tenant_keeps_its_canonical_id(tmp_path: Path) -> None:
    write_key_file(tmp_path / "k.json", [ALICE])
    keys, meta = await keys_over(tmp_path / "k.json")
    await meta.create_tenant(Tenant("acme", canonical_id="acme-id", display_name="Acme Inc."))
    found = await keys.lookup("DKALICE")
    assert found is not None
    assert (found[1].canonical_id, found[1].display_name) == ("acme-id", "Acme Inc.")


async def test_the_admin_flag_is_the_key_stores(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, [{**ALICE, "admin": True}])
    keys, _ = await keys_over(path)
    found = await keys.lookup("DKALICE")
    assert found is not None and found[1].admin is True
    write_key_file(path, [{**ALICE, "admin": False}])
    os.utime(path, ns=(1, 1))  # a new identity whatever the clock's grain
    found = await keys.lookup("DKALICE")
    assert found is not None and found[1].admin is False


async def test_keys_the_store_does_not_know_are_the_meta_stores(tmp_path: Path) -> None:
    write_key_file(tmp_path / "k.json", [ALICE])
    keys, meta = await keys_over(tmp_path / "k.json")
    await meta.create_tenant(Tenant("root", canonical_id="r", display_name="root"))
    await meta.create_user(User("root", "root", admin=True))
    await meta.create_key(AccessKey("DKROOT", "root-secret", "root", "root"))
    found = await keys.lookup("DKROOT")
    assert found is not None and found[1].tenant == "root" and found[1].admin is True
    assert await keys.lookup("DKNONE") is None


async def test_an_outside_key_hides_a_meta_key_of_the_same_id(tmp_path: Path) -> None:
    write_key_file(tmp_path / "k.json", [ALICE])
    keys, meta = await keys_over(tmp_path / "k.json")
    await meta.create_tenant(Tenant("other", canonical_id="o", display_name="other"))
    await meta.create_user(User("other", "bob"))
    await meta.create_key(AccessKey("DKALICE", "meta-secret", "other", "bob"))
    found = await keys.lookup("DKALICE")
    assert found is not None and found[0].secret_key == "alice-secret"
    assert found[1].tenant == "acme"


async def test_a_store_that_cannot_answer_never_falls_through(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, [ALICE])
    keys, meta = await keys_over(path)
    await meta.create_tenant(Tenant("root", canonical_id="r", display_name="root"))
    await meta.create_user(User("root", "root", admin=True))
    await meta.create_key(AccessKey("DKROOT", "root-secret", "root", "root"))
    path.write_text("{ not json")
    with pytest.raises(KeyStoreUnavailable):
        await keys.lookup("DKROOT")
    with pytest.raises(KeyStoreUnavailable):
        await keys.lookup("DKALICE")


@pytest.mark.parametrize(("tenant", "user"), [("Acme Corp", "alice"), ("acme", "al/ice")])
async def test_a_key_naming_an_impossible_account_is_unknown(
    tmp_path: Path, tenant: str, user: str
) -> None:
    write_key_file(tmp_path / "k.json", [{**ALICE, "tenant": tenant, "user": user}])
    keys, meta = await keys_over(tmp_path / "k.json")
    assert await keys.lookup("DKALICE") is None
    assert await meta.list_tenants() == []


async def test_identity_policies_of_the_user_apply(tmp_path: Path) -> None:
    write_key_file(tmp_path / "k.json", [ALICE])
    keys, meta = await keys_over(tmp_path / "k.json")
    assert await keys.lookup("DKALICE") is not None  # makes the account
    statement = '{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}'
    document = '{"Version": "2012-10-17", "Statement": [' + statement + "]}"
    await meta.put_user_policy("acme", "alice", "deny-all", document)
    found = await keys.lookup("DKALICE")
    assert found is not None and found[1].policies == (document,)
