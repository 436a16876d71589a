"""Contract tests of a MetaStore's namespace: containers by account and their
global names, path records and moves, account data, usage, and listings as
of a past time.

Part of `dolium.testing.meta_contract` (import the suite from there). The
tests speak through the protocol only.
"""

from __future__ import annotations

import asyncio

import pytest

from dolium.errors import BucketAlreadyExists, Conflict, NoSuchBucket, NoSuchKey
from dolium.model import Bucket, MultipartUpload, Sharing, Usage
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_objects import make_bucket, version


def _container(name: str, owner: str) -> Bucket:
    return Bucket(name, owner, created=1.0)


class TestContainers:
    async def test_a_container_is_unique_per_account_not_globally(self, meta: MetaStore) -> None:
        a = await meta.create_container(_container("pithos", "alice"), claim=True)
        b = await meta.create_container(_container("pithos", "bob"), claim=True)
        assert (a.name, b.name) == ("pithos", "bob:pithos")  # alice claimed the global name
        assert a.id != b.id
        with pytest.raises(BucketAlreadyExists):
            await meta.create_container(_container("pithos", "bob"), claim=True)
        found = await meta.get_bucket("bob:pithos")
        assert found is not None
        assert (found.name, found.owner, found.container, found.id) == (
            "bob:pithos",
            "bob",
            "pithos",
            b.id,
        )

    async def test_both_addresses_reach_a_container_holding_its_global_name(
        self, meta: MetaStore
    ) -> None:
        made = await meta.create_bucket(_container("photos", "alice"))
        assert made.name == "photos"
        await meta.put_version(version("alice:photos", "k", "v1", size=3))
        via_global = await meta.get_version("photos", "k")
        assert via_global is not None
        assert via_global.version_id == "v1"
        for address in ("photos", "alice:photos"):
            found = await meta.get_bucket(address)
            assert found is not None
            assert (found.name, found.id) == ("photos", made.id)
        assert await meta.get_bucket("bob:photos") is None

    async def test_s3_creation_needs_the_global_name(self, meta: MetaStore) -> None:
        await meta.create_container(_container("shared", "alice"), claim=True)
        with pytest.raises(BucketAlreadyExists):
            await meta.create_bucket(_container("shared", "bob"))
        assert await meta.get_bucket("bob:shared") is None

    async def test_names_that_are_no_s3_name_stay_local(self, meta: MetaStore) -> None:
        name = "Ünïcode name: 256 bytes at most, any but a slash"
        made = await meta.create_container(_container(name, "alice"), claim=False)
        assert made.name == f"alice:{name}"
        assert [b.name for b in await meta.list_buckets("alice")] == [made.name]
        assert await meta.get_bucket(name) is None

    async def test_deleting_a_container_frees_its_global_name(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1", owner="alice")
        await meta.delete_bucket("b1")
        made = await meta.create_bucket(_container("b1", "bob"))
        assert made.name == "b1"
        found = await meta.get_bucket("b1")
        assert found is not None
        assert found.owner == "bob"
        assert await meta.get_bucket("alice:b1") is None

    async def test_listing_names_containers_by_address(self, meta: MetaStore) -> None:
        await make_bucket(meta, "zeta", owner="alice")
        await meta.create_container(_container("pithos", "alice"), claim=False)
        await meta.create_container(_container("trash", "bob"), claim=False)
        assert [b.name for b in await meta.list_buckets("alice")] == ["alice:pithos", "zeta"]
        assert [b.name for b in await meta.list_buckets()] == [
            "alice:pithos",
            "bob:trash",
            "zeta",
        ]

    async def test_an_unknown_address_is_no_container(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        assert await meta.get_bucket("nobody:b1") is None
        with pytest.raises(NoSuchBucket):
            await meta.put_version(version("nobody:b1", "k", "v1"))
        assert await meta.list_objects("nobody:b1") == []


class TestPaths:
    async def test_the_first_version_makes_the_record_and_the_last_removes_it(
        self, meta: MetaStore
    ) -> None:
        await make_bucket(meta, "b1")
        assert await meta.get_path("b1", "k") is None
        await meta.put_version(version("b1", "k", "v1"))
        first = await meta.get_path("b1", "k")
        assert first is not None
        await meta.put_version(version("b1", "k", "v2"))
        again = await meta.get_path("b1", "k")
        assert again is not None
        assert again.uuid == first.uuid  # overwrites keep the UUID
        await meta.delete_version("b1", "k", "v2")
        await meta.delete_version("b1", "k", "v1")
        assert await meta.get_path("b1", "k") is None
        await meta.put_version(version("b1", "k", "v3"))
        reborn = await meta.get_path("b1", "k")
        assert reborn is not None
        assert reborn.uuid != first.uuid

    async def test_paths_are_read_together(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        for key in ("a", "a/", "a/b"):
            await meta.put_version(version("b1", key, "v1"))
        await meta.set_sharing("b1", "a/", Sharing(read=("t2",)))
        found = await meta.get_paths("b1", ["a/b", "a/", "a", "nope", "a/"])
        assert sorted(found) == ["a", "a/", "a/b"]
        for key, record in found.items():
            assert record == await meta.get_path("b1", key)
        assert found["a/"].sharing == Sharing(read=("t2",))
        assert await meta.get_paths("b1", []) == {}
        assert await meta.get_paths("nope", ["a"]) == {}

    async def test_uuids_differ_between_paths(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        for key in ("a", "b", "c"):
            await meta.put_version(version("b1", key, "v1"))
        records = [await meta.get_path("b1", k) for k in ("a", "b", "c")]
        assert len({r.uuid for r in records if r is not None}) == 3

    async def test_sharing_public_id_and_delete_at(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v1"))
        sharing = Sharing(read=("t2", "t1:team", "*"), write=("t3:bob",))
        await meta.set_sharing("b1", "k", sharing)
        await meta.set_public("b1", "k", "pub-1")
        await meta.set_delete_at("b1", "k", 1900000000.5)
        await meta.put_version(version("b1", "k", "v2"))  # survives an overwrite
        record = await meta.get_path("b1", "k")
        assert record is not None
        assert (record.sharing, record.public_id, record.delete_at) == (
            sharing,
            "pub-1",
            1900000000.5,
        )
        resolved = await meta.resolve_public("pub-1")
        assert resolved == record
        await meta.set_public("b1", "k", None)
        assert await meta.resolve_public("pub-1") is None

    async def test_a_public_id_names_one_path(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "v1"))
        await meta.put_version(version("b1", "b", "v1"))
        await meta.set_public("b1", "a", "pub")
        with pytest.raises(Conflict):
            await meta.set_public("b1", "b", "pub")
        resolved = await meta.resolve_public("pub")
        assert resolved is not None
        assert (resolved.bucket, resolved.key) == ("b1", "a")

    async def test_changing_a_path_without_versions_fails(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        with pytest.raises(NoSuchKey):
            await meta.set_sharing("b1", "k", Sharing(read=("*",)))
        with pytest.raises(NoSuchKey):
            await meta.set_delete_at("b1", "k", 1.0)

    async def test_resolving_a_public_id_names_the_container_by_address(
        self, meta: MetaStore
    ) -> None:
        await meta.create_container(_container("pithos", "alice"), claim=False)
        await meta.put_version(version("alice:pithos", "k", "v1"))
        await meta.set_public("alice:pithos", "k", "p")
        resolved = await meta.resolve_public("p")
        assert resolved is not None
        assert (resolved.bucket, resolved.key) == ("alice:pithos", "k")

    async def test_move_carries_every_version_and_the_record(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "b2")
        await meta.put_version(version("b1", "src", "v1", size=10))
        await meta.put_version(version("b1", "src", "v2", size=20))
        await meta.set_public("b1", "src", "pub")
        before = await meta.get_path("b1", "src")
        assert before is not None
        moved = await meta.move("b1", "src", "b2", "dst")
        assert (moved.bucket, moved.key, moved.uuid) == ("b2", "dst", before.uuid)
        assert await meta.get_path("b1", "src") is None
        assert await meta.get_version("b1", "src") is None
        assert [v.version_id for v in await meta.list_versions("b2")] == ["v2", "v1"]
        assert [v.key for v in await meta.list_objects("b2")] == ["dst"]
        assert await meta.list_objects("b1") == []
        resolved = await meta.resolve_public("pub")
        assert resolved is not None
        assert (resolved.bucket, resolved.key) == ("b2", "dst")
        assert await meta.get_usage("b1") == Usage(0, 0)
        assert await meta.get_usage("b2") == Usage(30, 1)

    async def test_move_refuses_an_occupied_destination(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "v1"))
        await meta.put_version(version("b1", "b", "v1"))
        with pytest.raises(Conflict):
            await meta.move("b1", "a", "b1", "b")
        with pytest.raises(NoSuchKey):
            await meta.move("b1", "missing", "b1", "c")
        with pytest.raises(NoSuchBucket):
            await meta.move("b1", "a", "nobody:b9", "c")
        assert [v.key for v in await meta.list_objects("b1")] == ["a", "b"]

    async def test_concurrent_moves_of_one_key_move_it_once(
        self, meta: MetaStore, meta_peer: MetaStore
    ) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "src", "v1"))
        results = await asyncio.gather(
            meta.move("b1", "src", "b1", "x"),
            meta_peer.move("b1", "src", "b1", "y"),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in results) == 1
        assert all(isinstance(r, NoSuchKey) for r in results if isinstance(r, BaseException))
        assert len(await meta.list_objects("b1")) == 1


class TestUsage:
    async def test_every_write_keeps_container_and_account_usage(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1", owner="alice")
        await make_bucket(meta, "b2", owner="alice")
        await meta.put_version(version("b1", "a", "v1", size=100))
        await meta.put_version(version("b1", "a", "v2", size=50))  # a second version
        await meta.put_version(version("b1", "b", "null", size=7))
        await meta.put_version(version("b1", "b", "null", size=9))  # replaces "null"
        await meta.put_version(version("b2", "c", "v1", size=1))
        assert await meta.get_usage("b1") == Usage(159, 2)
        await meta.put_version(version("b1", "a", "m1", delete_marker=True))
        assert await meta.get_usage("b1") == Usage(159, 1)
        await meta.delete_version("b1", "a", "m1")  # the object is back
        assert await meta.get_usage("b1") == Usage(159, 2)
        await meta.delete_version("b1", "a", "v1")  # a noncurrent version
        assert await meta.get_usage("b1") == Usage(59, 2)
        assert (await meta.get_account("alice")).usage == Usage(60, 3)

    async def test_completing_an_upload_counts_its_object(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(MultipartUpload("b1", "k", "u1", 1.0, "t1"))
        assert await meta.get_usage("b1") == Usage(0, 0)
        await meta.complete_upload("b1", "u1", version("b1", "k", "v1", size=77))
        assert await meta.get_usage("b1") == Usage(77, 1)

    async def test_usage_of_a_missing_container(self, meta: MetaStore) -> None:
        with pytest.raises(NoSuchBucket):
            await meta.get_usage("b9")
        assert (await meta.get_account("nobody")).usage == Usage(0, 0)


class TestAccountData:
    async def test_metadata(self, meta: MetaStore) -> None:
        assert (await meta.get_account("alice")).meta == {}
        await meta.set_account_meta("alice", {"quota-note": "é", "colour": "blue"})
        await meta.set_account_meta("bob", {"x": "1"})
        assert dict((await meta.get_account("alice")).meta) == {"quota-note": "é", "colour": "blue"}
        await meta.set_account_meta("alice", {})
        assert (await meta.get_account("alice")).meta == {}
        assert dict((await meta.get_account("bob")).meta) == {"x": "1"}

    async def test_groups(self, meta: MetaStore) -> None:
        await meta.set_group("alice", "team", ["carol", "bob", "bob"])
        await meta.set_group("alice", "admins", ["dave"])
        await meta.set_group("bob", "team", ["x"])
        assert await meta.get_groups("alice") == {"admins": ("dave",), "team": ("bob", "carol")}
        await meta.set_group("alice", "team", ["erin"])
        await meta.set_group("alice", "admins", [])
        assert await meta.get_groups("alice") == {"team": ("erin",)}
        assert await meta.get_groups("nobody") == {}


class TestUntil:
    async def test_the_container_as_it_was(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        put = meta.put_version
        await put(version("b1", "a", "a1", modified=10.0, user="u1"))
        await put(version("b1", "b", "b1", modified=11.0))
        await put(version("b1", "a", "a2", modified=20.0, user="u2"))
        await put(version("b1", "b", "bm", modified=21.0, delete_marker=True))
        await put(version("b1", "c", "c1", modified=30.0))

        async def at(until: float, **kw: object) -> list[tuple[str, str, str]]:
            found = await meta.list_objects_at("b1", until, **kw)  # type: ignore[arg-type]
            return [(v.key, v.version_id, v.user) for v in found]

        assert await at(5.0) == []
        assert await at(10.0) == [("a", "a1", "u1")]
        assert await at(15.0) == [("a", "a1", "u1"), ("b", "b1", "")]
        assert await at(25.0) == [("a", "a2", "u2")]
        assert await at(99.0) == [("a", "a2", "u2"), ("c", "c1", "")]
        assert await at(99.0, start_after="a") == [("c", "c1", "")]
        assert await at(15.0, prefix="b") == [("b", "b1", "")]
        assert await at(99.0, limit=1) == [("a", "a2", "u2")]

    async def test_each_version_keeps_its_writer(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v1", user="carol", modified=5.5))
        found = await meta.get_version("b1", "k")
        assert found is not None
        assert (found.user, found.modified) == ("carol", 5.5)
