"""Meta store contract: deleting users, and the identity policies of users and groups."""

from __future__ import annotations

import pytest

from dolium.errors import NoSuchAccessKey, NoSuchPolicy, NoSuchTenant, NoSuchUser
from dolium.model import AccessKey, ChangeAction, Tenant, User
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_objects import epoch_moved

DOC = '{"Version":"2012-10-17","Statement":[]}'


async def _user(meta: MetaStore, tenant: str = "t1", user: str = "u1") -> None:
    if await meta.get_tenant(tenant) is None:
        await meta.create_tenant(Tenant(tenant, f"canon-{tenant}", tenant))
    await meta.create_user(User(tenant, user))


class TestIdentityPolicies:
    async def test_user_policies_round_trip(self, meta: MetaStore) -> None:
        await _user(meta)
        assert await meta.get_user_policies("t1", "u1") == {}
        await meta.put_user_policy("t1", "u1", "zeta", DOC)
        await meta.put_user_policy("t1", "u1", "alpha", "{}")
        await meta.put_user_policy("t1", "u1", "zeta", DOC + " ")  # replaced
        assert await meta.get_user_policies("t1", "u1") == {"alpha": "{}", "zeta": DOC + " "}
        await meta.delete_user_policy("t1", "u1", "alpha")
        assert list(await meta.get_user_policies("t1", "u1")) == ["zeta"]
        with pytest.raises(NoSuchPolicy):
            await meta.delete_user_policy("t1", "u1", "alpha")
        assert await meta.get_user_policies("t1", "nobody") == {}

    async def test_user_policy_needs_the_user(self, meta: MetaStore) -> None:
        await _user(meta)
        with pytest.raises(NoSuchUser):
            await meta.put_user_policy("t1", "nobody", "p", DOC)
        with pytest.raises(NoSuchUser):
            await meta.put_user_policy("t2", "u1", "p", DOC)

    async def test_group_policies_round_trip(self, meta: MetaStore) -> None:
        await _user(meta)
        await meta.put_group_policy("t1", "devs", "read", DOC)
        await meta.put_group_policy("t1", "devs", "extra", "{}")
        await meta.put_group_policy("t1", "ops", "all", DOC)
        assert await meta.get_group_policies("t1") == {
            "devs": {"extra": "{}", "read": DOC},
            "ops": {"all": DOC},
        }
        await meta.delete_group_policy("t1", "ops", "all")
        assert list(await meta.get_group_policies("t1")) == ["devs"]
        with pytest.raises(NoSuchPolicy):
            await meta.delete_group_policy("t1", "ops", "all")
        with pytest.raises(NoSuchTenant):
            await meta.put_group_policy("t9", "devs", "p", DOC)
        assert await meta.get_group_policies("t9") == {}

    async def test_delete_user_takes_keys_and_policies(self, meta: MetaStore) -> None:
        await _user(meta)
        await _user(meta, user="u2")
        await meta.create_key(AccessKey("AK1", "secret-1", "t1", "u1"))
        await meta.create_key(AccessKey("AK2", "secret-2", "t1", "u2"))
        await meta.put_user_policy("t1", "u1", "p", DOC)
        await meta.delete_user("t1", "u1")
        assert await meta.get_user("t1", "u1") is None
        assert await meta.get_key("AK1") is None
        assert await meta.get_key("AK2") is not None
        assert await meta.get_user_policies("t1", "u1") == {}
        with pytest.raises(NoSuchUser):
            await meta.delete_user("t1", "u1")
        # A user of the same name starts without the old one's policies.
        await meta.create_user(User("t1", "u1"))
        assert await meta.get_user_policies("t1", "u1") == {}

    async def test_delete_key(self, meta: MetaStore) -> None:
        await _user(meta)
        await meta.create_key(AccessKey("AK1", "secret-1", "t1", "u1"))
        await meta.create_key(AccessKey("AK2", "secret-2", "t1", "u1"))
        await meta.revoke_key("AK2")
        await meta.delete_key("AK1")
        await meta.delete_key("AK2")  # revoked keys too
        assert await meta.get_key("AK1") is None
        assert await meta.list_keys("t1") == []
        with pytest.raises(NoSuchAccessKey):
            await meta.delete_key("AK1")

    async def test_delete_tenant_takes_policies(self, meta: MetaStore) -> None:
        await _user(meta)
        await meta.put_user_policy("t1", "u1", "p", DOC)
        await meta.put_group_policy("t1", "devs", "p", DOC)
        await meta.delete_tenant("t1")
        await _user(meta)
        assert await meta.get_user_policies("t1", "u1") == {}
        assert await meta.get_group_policies("t1") == {}

    async def test_changes_move_the_epoch_for_a_peer(
        self, meta: MetaStore, meta_peer: MetaStore
    ) -> None:
        await _user(meta)
        steps = [
            meta.put_user_policy("t1", "u1", "p", DOC),
            meta.delete_user_policy("t1", "u1", "p"),
            meta.put_group_policy("t1", "devs", "p", DOC),
            meta.delete_group_policy("t1", "devs", "p"),
            meta.create_key(AccessKey("AK1", "secret-1", "t1", "u1")),
            meta.delete_key("AK1"),
            meta.delete_user("t1", "u1"),
        ]
        for step in steps:
            before = await meta_peer.config_epoch()
            await step
            assert await epoch_moved(meta_peer, before)

    async def test_changes_are_recorded(self, meta: MetaStore) -> None:
        await _user(meta)
        start = await meta.changes()
        after = start[-1].serial if start else 0
        await meta.put_user_policy("t1", "u1", "p", DOC)
        await meta.delete_user_policy("t1", "u1", "p")
        await meta.put_group_policy("t1", "devs", "g", DOC)
        await meta.delete_group_policy("t1", "devs", "g")
        await meta.delete_user("t1", "u1")
        seen = [(c.action, c.tenant, c.name) for c in await meta.changes(after)]
        assert seen == [
            (ChangeAction.USER_POLICY_SET, "t1", "u1/p"),
            (ChangeAction.USER_POLICY_DELETE, "t1", "u1/p"),
            (ChangeAction.ACCOUNT_GROUP_POLICY_SET, "t1", "devs/g"),
            (ChangeAction.ACCOUNT_GROUP_POLICY_DELETE, "t1", "devs/g"),
            (ChangeAction.USER_DELETE, "t1", "u1"),
        ]
