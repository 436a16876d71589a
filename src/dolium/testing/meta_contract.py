"""Contract suite for MetaStore implementations, shipped for plugin authors.

Use it from a test module of your own::

    from dolium.testing.meta_contract import *  # noqa: F403

and provide two async fixtures: `meta`, an open, empty store (closed after
the test), and `meta_peer`, a second store opened on the same data (as a
second process would), or `meta` itself for a store that cannot be shared.
Tests need pytest-asyncio in auto mode. They speak through the protocol
only: no test may look at a store's internals.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from dolium.conditions import WriteCondition
from dolium.errors import (
    AccessKeyExists,
    BucketAlreadyExists,
    BucketNotEmpty,
    NoSuchAccessKey,
    NoSuchBucket,
    NoSuchTenant,
    NoSuchUpload,
    NoSuchUser,
    PreconditionFailed,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import (
    UNVERSIONED_ID,
    AccessKey,
    Bucket,
    Extent,
    MultipartUpload,
    Part,
    Tenant,
    User,
    Versioning,
)
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_blocks import TestBlockRefs
from dolium.testing.meta_contract_identity import TestIdentityPolicies
from dolium.testing.meta_contract_leases import TestJobLeases
from dolium.testing.meta_contract_namespace import (
    TestAccountData,
    TestContainers,
    TestPaths,
    TestUntil,
    TestUsage,
)
from dolium.testing.meta_contract_objects import (
    TestConcurrency,
    TestConditions,
    TestListObjects,
    TestListVersions,
    TestVersions,
    digest,
    epoch_moved,
    extents,
    make_bucket,
    part,
    upload,
    version,
)
from dolium.testing.meta_contract_quotas import TestQuotas

__all__ = [
    "TestAccountData",
    "TestAccounts",
    "TestBlockRefs",
    "TestBuckets",
    "TestConcurrency",
    "TestConditions",
    "TestConfigEpoch",
    "TestContainers",
    "TestIdentityPolicies",
    "TestJobLeases",
    "TestListObjects",
    "TestListVersions",
    "TestQuotas",
    "TestPaths",
    "TestReferences",
    "TestUntil",
    "TestUploads",
    "TestUsage",
    "TestVersions",
]


async def _tenant_with_user(meta: MetaStore, tenant: str = "t1", user: str = "u1") -> None:
    await meta.create_tenant(Tenant(tenant, f"canon-{tenant}", f"Tenant {tenant}", "a@b.c", 1.5))
    await meta.create_user(User(tenant, user, admin=False, created=2.5))


class TestAccounts:
    async def test_tenant_round_trip(self, meta: MetaStore) -> None:
        tenant = Tenant("t1", "canon", "Tenant ü", "a@b.c", 1.25)
        await meta.create_tenant(tenant)
        assert await meta.get_tenant("t1") == tenant
        assert await meta.get_tenant("t2") is None
        with pytest.raises(TenantExists):
            await meta.create_tenant(Tenant("t1", "other", "Other", ""))

    async def test_tenants_listed_by_name(self, meta: MetaStore) -> None:
        for name in ("b", "c", "a"):
            await meta.create_tenant(Tenant(name, name, name))
        assert [t.name for t in await meta.list_tenants()] == ["a", "b", "c"]

    async def test_users(self, meta: MetaStore) -> None:
        await _tenant_with_user(meta, "t2", "zed")
        await _tenant_with_user(meta, "t1", "u2")
        await meta.create_user(User("t1", "u1", admin=True, created=3.0))
        await meta.create_user(User("t2", "u1"))  # the same name in another tenant
        assert await meta.get_user("t1", "u1") == User("t1", "u1", admin=True, created=3.0)
        assert await meta.get_user("t1", "zed") is None
        with pytest.raises(UserExists):
            await meta.create_user(User("t1", "u1"))
        with pytest.raises(NoSuchTenant):
            await meta.create_user(User("nobody", "u1"))
        everyone = [(u.tenant, u.name) for u in await meta.list_users()]
        assert everyone == [("t1", "u1"), ("t1", "u2"), ("t2", "u1"), ("t2", "zed")]
        assert [u.name for u in await meta.list_users("t2")] == ["u1", "zed"]
        assert await meta.list_users("nobody") == []

    async def test_keys(self, meta: MetaStore) -> None:
        await _tenant_with_user(meta, "t1", "u1")
        await _tenant_with_user(meta, "t2", "u1")
        key = AccessKey("AK2", "secret/+=", "t1", "u1", created=4.0)
        await meta.create_key(key)
        await meta.create_key(AccessKey("AK1", "s", "t2", "u1"))
        await meta.create_key(AccessKey("AK3", "s", "t1", "u1"))
        assert await meta.get_key("AK2") == key
        assert await meta.get_key("nope") is None
        with pytest.raises(AccessKeyExists):
            await meta.create_key(AccessKey("AK2", "s", "t2", "u1"))
        with pytest.raises(NoSuchUser):
            await meta.create_key(AccessKey("AK9", "s", "t1", "nobody"))
        with pytest.raises(NoSuchUser):
            await meta.create_key(AccessKey("AK9", "s", "nobody", "u1"))
        assert [k.access_key for k in await meta.list_keys()] == ["AK1", "AK2", "AK3"]
        assert [k.access_key for k in await meta.list_keys("t1")] == ["AK2", "AK3"]

    async def test_revoke_key(self, meta: MetaStore) -> None:
        await _tenant_with_user(meta)
        key = AccessKey("AK1", "s", "t1", "u1", created=5.0)
        await meta.create_key(key)
        await meta.revoke_key("AK1")
        assert await meta.get_key("AK1") == dataclasses.replace(key, active=False)
        assert [k.active for k in await meta.list_keys("t1")] == [False]
        with pytest.raises(NoSuchAccessKey):
            await meta.revoke_key("AK2")

    async def test_delete_tenant(self, meta: MetaStore) -> None:
        await _tenant_with_user(meta, "t1", "u1")
        await _tenant_with_user(meta, "t2", "u1")
        await meta.create_key(AccessKey("AK1", "s", "t1", "u1"))
        await meta.create_key(AccessKey("AK2", "s", "t2", "u1"))
        await make_bucket(meta, "b1", owner="t1")
        with pytest.raises(TenantNotEmpty):
            await meta.delete_tenant("t1")
        await meta.delete_bucket("b1")
        await meta.delete_tenant("t1")
        assert await meta.get_tenant("t1") is None
        assert await meta.get_user("t1", "u1") is None
        assert await meta.get_key("AK1") is None
        assert [k.access_key for k in await meta.list_keys()] == ["AK2"]
        assert [u.tenant for u in await meta.list_users()] == ["t2"]
        with pytest.raises(NoSuchTenant):
            await meta.delete_tenant("t1")
        # The name is free again, with no users or keys left over.
        await meta.create_tenant(Tenant("t1", "c", "d"))
        assert await meta.list_users("t1") == []


class TestBuckets:
    async def test_round_trip(self, meta: MetaStore) -> None:
        bucket = Bucket(
            "b1",
            owner="t1",
            created=10.5,
            region="eu-west-1",
            versioning=Versioning.ENABLED,
            object_lock=True,
            block_size=1 << 20,
            hash_algorithm="blake3",
        )
        await meta.create_bucket(bucket)
        assert await meta.get_bucket("b1") == bucket
        assert await meta.get_bucket("b2") is None

    async def test_name_is_global(self, meta: MetaStore) -> None:
        # Owners need not be tenants of this store: they may live in another key store.
        await make_bucket(meta, "b1", owner="t1")
        for owner in ("t1", "t2"):
            with pytest.raises(BucketAlreadyExists):
                await make_bucket(meta, "b1", owner=owner)

    async def test_list(self, meta: MetaStore) -> None:
        for name, owner in (("c", "t1"), ("a", "t2"), ("b", "t1")):
            await make_bucket(meta, name, owner=owner)
        assert [b.name for b in await meta.list_buckets()] == ["a", "b", "c"]
        assert [b.name for b in await meta.list_buckets("t1")] == ["b", "c"]
        assert await meta.list_buckets("t3") == []

    async def test_update(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        changed = Bucket("b1", "t1", 1.0, versioning=Versioning.SUSPENDED, region="r")
        await meta.update_bucket(changed)
        assert await meta.get_bucket("b1") == changed
        with pytest.raises(NoSuchBucket):
            await meta.update_bucket(Bucket("b2", "t1", 1.0))

    async def test_configs(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        updated = await meta.set_bucket_config("b1", "cors", '{"rules":[]}')
        assert dict(updated.configs) == {"cors": '{"rules":[]}'}
        await meta.set_bucket_config("b1", "policy", '{"é":1}')
        # Settings changes keep the configs: they are written by their own call.
        await meta.update_bucket(Bucket("b1", "t1", 1.0, versioning=Versioning.ENABLED))
        found = await meta.get_bucket("b1")
        assert found is not None
        assert found.versioning == Versioning.ENABLED
        assert dict(found.configs) == {"cors": '{"rules":[]}', "policy": '{"é":1}'}
        assert (await meta.set_bucket_config("b1", "cors", None)).configs == {"policy": '{"é":1}'}
        await meta.set_bucket_config("b1", "absent", None)
        assert [dict(b.configs) for b in await meta.list_buckets()] == [{"policy": '{"é":1}'}]
        with pytest.raises(NoSuchBucket):
            await meta.set_bucket_config("b2", "cors", "{}")

    async def test_concurrent_configs_all_land(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        await make_bucket(meta, "b1")
        names = [f"c{n}" for n in range(8)]
        await asyncio.gather(
            *(
                (meta if n % 2 else meta_peer).set_bucket_config("b1", name, "{}")
                for n, name in enumerate(names)
            )
        )
        found = await meta.get_bucket("b1")
        assert found is not None
        assert sorted(found.configs) == names

    async def test_delete(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        with pytest.raises(NoSuchBucket):
            await meta.delete_bucket("b2")
        await meta.put_version(version("b1", "k", "v1"))
        with pytest.raises(BucketNotEmpty):
            await meta.delete_bucket("b1")
        await meta.put_version(version("b1", "k", "dm", delete_marker=True))
        await meta.delete_version("b1", "k", "v1")
        with pytest.raises(BucketNotEmpty):  # a delete marker still counts
            await meta.delete_bucket("b1")
        await meta.delete_version("b1", "k", "dm")
        await meta.delete_bucket("b1")
        assert await meta.get_bucket("b1") is None
        with pytest.raises(NoSuchBucket):
            await meta.delete_bucket("b1")

    async def test_delete_drops_uploads(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(1)))
        await meta.delete_bucket("b1")
        await make_bucket(meta, "b1")
        assert await meta.get_upload("b1", "up1") is None
        assert await meta.list_uploads("b1") == []
        assert await meta.list_parts("b1", "up1") == []
        assert [d async for d in meta.referenced_digests()] == []


class TestUploads:
    async def test_round_trip(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "b2")
        made = MultipartUpload(
            "b1", "dir/ké", "up1", 3.5, "t1", "text/plain", {"a": "1"}, {"cache-control": "no"},
            checksum_algorithm="CRC32", checksum_type="COMPOSITE",
        )  # fmt: skip
        await meta.create_upload(made)
        assert await meta.get_upload("b1", "up1") == made
        assert await meta.get_upload("b2", "up1") is None
        assert await meta.get_upload("b1", "up2") is None
        with pytest.raises(NoSuchBucket):
            await meta.create_upload(upload("nobucket", "k", "up9"))

    async def test_list_by_key_then_creation(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        # Created in this order; ids deliberately not in creation order.
        made = [("é", "u5"), ("b", "u9"), ("a", "u3"), ("b", "u1"), ("z", "u2"), ("b", "u4")]
        for key, upload_id in made:
            await meta.create_upload(upload("b1", key, upload_id))
        everything = [("a", "u3"), ("b", "u9"), ("b", "u1"), ("b", "u4"), ("z", "u2"), ("é", "u5")]
        listed = await meta.list_uploads("b1")
        assert [(u.key, u.upload_id) for u in listed] == everything
        assert [u.upload_id for u in await meta.list_uploads("b1", prefix="b")] == [
            "u9",
            "u1",
            "u4",
        ]
        after_b = await meta.list_uploads("b1", after_key="b")
        assert [u.upload_id for u in after_b] == ["u2", "u5"]
        resumed = await meta.list_uploads("b1", after_key="b", after_upload_id="u9", limit=2)
        assert [u.upload_id for u in resumed] == ["u1", "u4"]
        # Page through with limit 1, as a front end resuming from its markers.
        pages: list[tuple[str, str]] = []
        marker = ("", "")
        while page := await meta.list_uploads(
            "b1", after_key=marker[0], after_upload_id=marker[1], limit=1
        ):
            pages.append((page[0].key, page[0].upload_id))
            marker = pages[-1]
        assert pages == everything
        assert await meta.list_uploads("b1", limit=0) == []
        assert await meta.list_uploads("nobucket") == []

    async def test_parts(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        for number in (3, 1, 10, 2):
            await meta.put_part("b1", part("up1", number, digest(number)))
        assert [p.number for p in await meta.list_parts("b1", "up1")] == [1, 2, 3, 10]
        assert [p.number for p in await meta.list_parts("b1", "up1", after=2, limit=2)] == [3, 10]
        replaced = Part("up1", 2, size=7, etag="new", modified=9.0)
        await meta.put_part("b1", replaced)
        parts = await meta.list_parts("b1", "up1")
        assert parts[1] == replaced
        assert parts[0] == part("up1", 1, digest(1))
        assert len(parts) == 4
        with pytest.raises(NoSuchUpload):
            await meta.put_part("b1", part("up2", 1))
        with pytest.raises(NoSuchUpload):
            await meta.put_part("b2", part("up1", 1))
        assert await meta.list_parts("b1", "up2") == []

    async def test_abort(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(1)))
        await meta.abort_upload("b1", "up1")
        assert await meta.get_upload("b1", "up1") is None
        assert await meta.list_parts("b1", "up1") == []
        with pytest.raises(NoSuchUpload):
            await meta.abort_upload("b1", "up1")
        with pytest.raises(NoSuchUpload):
            await meta.put_part("b1", part("up1", 2))

    async def test_complete(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(1)))
        target = version("b1", "k", UNVERSIONED_ID, extents=(Extent(digest(1), 5),), parts=(5,))
        done = await meta.complete_upload("b1", "up1", target)
        assert done.is_latest
        assert done.serial > 0
        assert await meta.get_version("b1", "k") == done
        assert await meta.get_upload("b1", "up1") is None
        assert await meta.list_parts("b1", "up1") == []
        with pytest.raises(NoSuchUpload):
            await meta.complete_upload("b1", "up1", version("b1", "k", "v2"))
        assert [v.version_id for v in await meta.list_versions("b1")] == [UNVERSIONED_ID]

    async def test_complete_checks_condition_and_keeps_upload(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v1"))
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(1)))
        with pytest.raises(PreconditionFailed):
            await meta.complete_upload(
                "b1", "up1", version("b1", "k", "v2"), WriteCondition(if_none_match=True)
            )
        assert await meta.get_upload("b1", "up1") is not None
        assert len(await meta.list_parts("b1", "up1")) == 1
        assert [v.version_id for v in await meta.list_versions("b1")] == ["v1"]
        with pytest.raises(NoSuchUpload):
            await meta.complete_upload("b1", "nope", version("b1", "k", "v3"))
        assert [v.version_id for v in await meta.list_versions("b1")] == ["v1"]


class TestReferences:
    async def test_versions_and_parts(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "b2")
        await meta.put_version(version("b1", "a", "v1", extents=extents(1, 2)))
        await meta.put_version(version("b1", "a", "v2", extents=extents(2, 3)))
        await meta.put_version(version("b2", "é", "v1", extents=extents(4), inline=None))
        await meta.put_version(version("b2", "x", "v1", inline=b"small"))
        await meta.create_upload(upload("b1", "m", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(5), digest(6)))
        found = [d async for d in meta.referenced_digests()]
        assert set(found) == {digest(n) for n in (1, 2, 3, 4, 5, 6)}
        await meta.delete_version("b1", "a", "v1")
        await meta.abort_upload("b1", "up1")
        assert {d async for d in meta.referenced_digests()} == {digest(n) for n in (2, 3, 4)}

    async def test_many(self, meta: MetaStore) -> None:
        # More rows than a store would sensibly fetch at once.
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "m", "up1"))
        for n in range(1, 601):
            await meta.put_part("b1", part("up1", n, digest(n)))
        for n in range(601, 1202):
            await meta.put_version(version("b1", f"k{n}", "v", extents=extents(n)))
        found = [d async for d in meta.referenced_digests()]
        assert sorted(found) == sorted(digest(n) for n in range(1, 1202))


class TestConfigEpoch:
    """The config epoch moves with every change a cache of principals or
    containers could hold, as a second process sees it, and with nothing else.

    A second process may learn of a move by notification (PostgreSQL): it
    then sees it within a round trip, and within a second at most."""

    async def test_moves_with_accounts_keys_and_containers(
        self, meta: MetaStore, meta_peer: MetaStore
    ) -> None:
        seen = [await meta_peer.config_epoch()]

        async def moved() -> bool:
            if not await epoch_moved(meta_peer, seen[-1]):
                return False
            seen.append(await meta_peer.config_epoch())
            return True

        await meta.create_tenant(Tenant("t1", "canon", "T"))
        assert await moved()
        await meta.create_user(User("t1", "u1"))
        assert await moved()
        await meta.create_key(AccessKey("AK1", "s", "t1", "u1"))
        assert await moved()
        await meta.revoke_key("AK1")
        assert await moved()
        await make_bucket(meta, "b1")
        assert await moved()
        bucket = await meta.get_bucket("b1")
        assert bucket is not None
        await meta.update_bucket(dataclasses.replace(bucket, versioning=Versioning.ENABLED))
        assert await moved()
        await meta.set_bucket_config("b1", "cors", "{}")
        assert await moved()
        await meta.set_group("t1", "friends", ["u1"])
        assert await moved()
        await meta.delete_bucket("b1")
        assert await moved()

    async def test_stays_with_objects_and_uploads(self, meta: MetaStore) -> None:
        await _tenant_with_user(meta)
        await make_bucket(meta, "b1")
        before = await meta.config_epoch()
        await meta.put_version(version("b1", "k", "v1", size=10))
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1))
        await meta.delete_version("b1", "k", "v1")
        assert await meta.config_epoch() == before
