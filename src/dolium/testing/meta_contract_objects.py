"""Contract tests of a MetaStore's object versions, conditions, listings and
concurrent writers, with the helpers the whole suite uses.

Part of `dolium.testing.meta_contract` (import the suite from there). The
tests speak through the protocol only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import itertools
from collections.abc import Sequence
from typing import Any

import pytest

from dolium.conditions import WriteCondition
from dolium.errors import NoSuchBucket, NoSuchKey, NoSuchUpload, NoSuchVersion, PreconditionFailed
from dolium.model import (
    HASHMAP,
    UNVERSIONED_ID,
    Bucket,
    Extent,
    Hashmap,
    ListedObject,
    Lock,
    LockMode,
    MultipartUpload,
    ObjectVersion,
    Part,
)
from dolium.protocols.meta import MetaStore

# Byte order differs from UTF-16 order (U+E000 sorts before the emoji there)
# and from any locale's collation.
KEYS = ["z", "a", "é", "b", "\u00ff", "\U0001f600", "\ue000", "ab", "a/b", "A", "a b", "\uffef"]
BYTE_ORDER = sorted(KEYS, key=lambda k: k.encode())


def digest(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


async def epoch_moved(peer: MetaStore, before: int) -> bool:
    """Whether `peer` sees the config epoch move from `before`: at once, or
    within a second where it learns of moves by notification (PostgreSQL)."""
    for _ in range(200):
        if await peer.config_epoch() != before:
            return True
        await asyncio.sleep(0.01)
    return False


async def make_bucket(meta: MetaStore, name: str, owner: str = "t1") -> None:
    await meta.create_bucket(Bucket(name, owner, created=1.0))


def version(bucket: str, key: str, version_id: str, **fields: Any) -> ObjectVersion:
    fields.setdefault("etag", f"etag-{key}-{version_id}")
    return ObjectVersion(bucket, key, version_id, **fields)


def upload(bucket: str, key: str, upload_id: str, initiated: float = 1.0) -> MultipartUpload:
    return MultipartUpload(bucket, key, upload_id, initiated, owner="t1", meta={"m": "é"})


def part(upload_id: str, number: int, *digests: bytes) -> Part:
    return Part(
        upload_id,
        number,
        size=5,
        etag=f"etag{number}",
        modified=2.5,
        extents=tuple(Extent(d, 5) for d in digests),
        checksums={"CRC32": "AAAAAA=="},
    )


def extents(*numbers: int) -> tuple[Extent, ...]:
    return tuple(Extent(digest(n), 100 + n) for n in numbers)


def _ids(versions: Sequence[ObjectVersion | ListedObject]) -> list[tuple[str, str]]:
    return [(v.key, v.version_id) for v in versions]


class TestVersions:
    async def test_round_trip(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        full = version(
            "b1", "dir/ké y", "v1", size=12, etag="0123abcd-2", modified=1700000000.25,
            owner="t1", content_type="text/plain; charset=utf-8",
            extents=(Extent(digest(1), 4 << 20), Extent(digest(2), 17)), inline=None,
            top_hash="ab" * 32, meta={"name": "välue", "x": ""}, headers={"cache-control": "no"},
            checksums={"CRC32": "AAAAAA==", "SHA256": "x" * 44}, checksum_type="COMPOSITE",
            parts=(4 << 20, 17),
        )  # fmt: skip
        stored = await meta.put_version(full)
        assert stored.serial > 0
        assert stored.is_latest
        assert stored == dataclasses.replace(full, serial=stored.serial)
        assert await meta.get_version("b1", "dir/ké y") == stored
        assert await meta.get_version("b1", "dir/ké y", "v1") == stored
        inline = await meta.put_version(version("b1", "small", "v1", size=3, inline=b"\0ab"))
        assert await meta.get_version("b1", "small") == inline
        # A listing shows what it needs of each, checksum names in their order.
        assert await meta.list_objects("b1") == [ListedObject.of(stored), ListedObject.of(inline)]
        assert ListedObject.of(stored).checksum_algorithms == ("CRC32", "SHA256")

    async def test_attributes_round_trip(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        full = version(
            "b1", "k", "v1", tags={"a": "é", "b": ""}, acl='[{"g":"x"}]',
            lock=Lock(LockMode.COMPLIANCE, 1800000000.5, legal_hold=True),
            sse={"algorithm": "AES256", "key": "wrapped"},
        )  # fmt: skip
        stored = await meta.put_version(full)
        assert stored == dataclasses.replace(full, serial=stored.serial)
        assert await meta.get_version("b1", "k") == stored
        [listed] = await meta.list_objects("b1")
        assert listed == ListedObject.of(stored)

    async def test_update_version(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        v1 = await meta.put_version(version("b1", "k", "v1", meta={"m": "1"}, size=3))
        v2 = await meta.put_version(version("b1", "k", "v2"))
        tags = {"t": "1"}
        changed = dataclasses.replace(
            v1, tags=tags, acl="[]", lock=Lock(LockMode.GOVERNANCE, 5.0), size=99, etag="x"
        )
        await meta.update_version(changed)
        tags["t"] = "2"
        found = await meta.get_version("b1", "k", "v1")
        # Only the mutable attributes change; the version keeps its place.
        assert found == dataclasses.replace(
            v1, is_latest=False, tags={"t": "1"}, acl="[]", lock=Lock(LockMode.GOVERNANCE, 5.0)
        )
        assert await meta.get_version("b1", "k") == v2
        await meta.update_version(dataclasses.replace(found, lock=Lock()))
        again = await meta.get_version("b1", "k", "v1")
        assert again is not None
        assert again.lock == Lock()
        assert dict(again.tags) == {"t": "1"}
        with pytest.raises(NoSuchVersion):
            await meta.update_version(version("b1", "k", "nope"))
        with pytest.raises(NoSuchVersion):
            await meta.update_version(version("b1", "other", "v1"))

    async def test_update_named_attributes_only(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        stale = await meta.put_version(version("b1", "k", "v1", sse={"mode": "SSE-S3"}))
        # Two callers change different attributes of what they both read.
        await meta.update_version(dataclasses.replace(stale, tags={"t": "1"}), ("tags",))
        held = Lock(legal_hold=True)
        await meta.update_version(dataclasses.replace(stale, lock=held, acl="x"), ("legal_hold",))
        # A retention set from the same stale read keeps the hold: half a lock each.
        kept = Lock(LockMode.COMPLIANCE, 9.0, legal_hold=False)
        returned = await meta.update_version(dataclasses.replace(stale, lock=kept), ("retention",))
        found = await meta.get_version("b1", "k", "v1")
        assert found is not None
        both = Lock(LockMode.COMPLIANCE, 9.0, legal_hold=True)
        assert (dict(found.tags), found.lock, found.acl) == ({"t": "1"}, both, "")
        assert dict(found.sse) == {"mode": "SSE-S3"}
        assert returned == found

    async def test_hashmap_is_kept_by_name_only(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        stored = await meta.put_version(version("b1", "k", "v1", tags={"t": "1"}, size=9))
        computed = Hashmap(4, "sha256", (digest(1), digest(2), digest(3)))
        # Not among the attributes an update changes unless it names it.
        await meta.update_version(dataclasses.replace(stored, hashmap=computed))
        assert (await meta.get_version("b1", "k", "v1")) == stored
        await meta.update_version(
            dataclasses.replace(stored, hashmap=computed, tags={}), (HASHMAP,)
        )
        found = await meta.get_version("b1", "k", "v1")
        assert found == dataclasses.replace(stored, hashmap=computed)

    async def test_legal_hold_off_is_not_unset(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        for name, hold in (("never", None), ("off", False), ("on", True)):
            await meta.put_version(version("b1", name, "v1", lock=Lock(legal_hold=hold)))
            found = await meta.get_version("b1", name)
            assert found is not None
            assert found.lock.legal_hold is hold

    async def test_guards_abort_the_change(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        stored = await meta.put_version(version("b1", "k", "v1", tags={"t": "1"}))
        seen: list[ObjectVersion] = []

        def refuse(found: ObjectVersion) -> None:
            seen.append(found)
            raise RuntimeError("refused")

        with pytest.raises(RuntimeError):
            await meta.update_version(dataclasses.replace(stored, tags={}), ("tags",), refuse)
        with pytest.raises(RuntimeError):
            await meta.delete_version("b1", "k", "v1", refuse)
        assert seen == [stored, stored]  # each guard saw the stored version
        assert await meta.get_version("b1", "k", "v1") == stored
        assert await meta.delete_version("b1", "k", "v1", seen.append) == stored
        assert await meta.get_version("b1", "k") is None

    async def test_unusual_extents(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        many = tuple(Extent(digest(n), n) for n in range(2000))
        mixed = (Extent(b"\x01" * 20, 1), Extent(digest(1), 1 << 40), Extent(b"\x02" * 64, 0))
        for key, extents in (("many", many), ("mixed", mixed)):
            await meta.put_version(version("b1", key, "v", extents=extents))
            found = await meta.get_version("b1", key)
            assert found is not None
            assert found.extents == extents

    async def test_stored_maps_are_copies(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        user_meta = {"a": "1"}
        await meta.put_version(version("b1", "k", "v1", meta=user_meta))
        user_meta["a"] = "2"
        found = await meta.get_version("b1", "k")
        assert found is not None
        assert dict(found.meta) == {"a": "1"}

    async def test_missing(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        assert await meta.get_version("b1", "k") is None
        assert await meta.get_version("b1", "k", "v1") is None
        assert await meta.get_version("nobucket", "k") is None
        assert await meta.delete_version("b1", "k", "v1") is None
        with pytest.raises(NoSuchBucket):
            await meta.put_version(version("nobucket", "k", "v1"))

    async def test_serials_increase_across_the_store(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "b2")
        serials = [
            (await meta.put_version(version(b, k, "v"))).serial
            for b, k in (("b1", "z"), ("b2", "a"), ("b1", "a"), ("b1", "z"))
        ]
        assert serials == sorted(serials)
        assert len(set(serials)) == 4

    async def test_same_version_id_replaces(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        first = await meta.put_version(version("b1", "k", UNVERSIONED_ID, etag="e1"))
        second = await meta.put_version(version("b1", "k", UNVERSIONED_ID, etag="e2"))
        assert second.serial > first.serial
        assert await meta.list_versions("b1") == [second]
        # A null version below newer versions is replaced and becomes latest.
        v2 = await meta.put_version(version("b1", "k", "v2"))
        third = await meta.put_version(version("b1", "k", UNVERSIONED_ID, etag="e3"))
        listed = await meta.list_versions("b1")
        assert _ids(listed) == [("k", UNVERSIONED_ID), ("k", "v2")]
        assert [v.is_latest for v in listed] == [True, False]
        assert listed[0] == third
        assert listed[1].serial == v2.serial

    async def test_versions_and_latest(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        v1 = await meta.put_version(version("b1", "k", "v1"))
        v2 = await meta.put_version(version("b1", "k", "v2"))
        assert await meta.get_version("b1", "k") == v2
        old = await meta.get_version("b1", "k", "v1")
        assert old is not None
        assert not old.is_latest
        assert old.serial == v1.serial

    async def test_delete_promotes_newest_remaining(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        for n in (1, 2, 3):
            await meta.put_version(version("b1", "k", f"v{n}"))
        removed = await meta.delete_version("b1", "k", "v3")
        assert removed is not None
        assert removed.version_id == "v3"
        latest = await meta.get_version("b1", "k")
        assert latest is not None
        assert (latest.version_id, latest.is_latest) == ("v2", True)
        await meta.delete_version("b1", "k", "v1")  # not the latest: nothing moves
        assert [(v.version_id, v.is_latest) for v in await meta.list_versions("b1")] == [
            ("v2", True)
        ]
        await meta.delete_version("b1", "k", "v2")
        assert await meta.get_version("b1", "k") is None
        assert await meta.list_versions("b1") == []

    async def test_delete_marker(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v1"))
        marker = await meta.put_version(version("b1", "k", "dm", delete_marker=True))
        assert await meta.get_version("b1", "k") == marker
        assert marker.delete_marker
        assert await meta.list_objects("b1") == []
        assert _ids(await meta.list_versions("b1")) == [("k", "dm"), ("k", "v1")]
        await meta.delete_version("b1", "k", "dm")
        assert _ids(await meta.list_objects("b1")) == [("k", "v1")]


class TestConditions:
    async def test_if_none_match(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        cond = WriteCondition(if_none_match=True)
        await meta.put_version(version("b1", "k", "v1"), cond)
        with pytest.raises(PreconditionFailed):
            await meta.put_version(version("b1", "k", "v2"), cond)
        assert _ids(await meta.list_versions("b1")) == [("k", "v1")]
        await meta.put_version(version("b1", "k", "dm", delete_marker=True))
        created = await meta.put_version(version("b1", "k", "v3"), cond)
        assert await meta.get_version("b1", "k") == created

    async def test_if_match(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        with pytest.raises(NoSuchKey):
            await meta.put_version(version("b1", "k", "v1"), WriteCondition(if_match="e1"))
        await meta.put_version(version("b1", "k", "v1", etag="e1"))
        with pytest.raises(PreconditionFailed):
            await meta.put_version(version("b1", "k", "v2"), WriteCondition(if_match="zz"))
        assert _ids(await meta.list_versions("b1")) == [("k", "v1")]
        await meta.put_version(version("b1", "k", "v2", etag="e2"), WriteCondition(if_match="e1"))
        # A quoted ETag, as HTTP sends it, and "*" (any current object) match too.
        await meta.put_version(version("b1", "k", "v3"), WriteCondition(if_match='"e2"'))
        await meta.put_version(version("b1", "k", "v4"), WriteCondition(if_match="*"))
        await meta.put_version(version("b1", "k", "dm", delete_marker=True))
        for tag in ("*", "etag-k-v4"):
            with pytest.raises(NoSuchKey):
                await meta.put_version(version("b1", "k", "v5"), WriteCondition(if_match=tag))
        assert len(await meta.list_versions("b1")) == 5

    async def test_etag_lists_size_and_time(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        # An If-None-Match list holds where there is no object; If-Match lists need one.
        await meta.put_version(
            version("b1", "k", "v1", etag="e1", size=3, modified=10.5),
            WriteCondition(if_none_match='"e0", "e1"'),
        )
        fails = [
            WriteCondition(if_none_match='"e0", "e1"'),
            WriteCondition(if_none_match="e1"),
            WriteCondition(if_match='"e0", "e2"'),
            WriteCondition(size=4),
            WriteCondition(modified=11),
            WriteCondition(if_match="e1", size=3, modified=9),
        ]
        for condition in fails:
            with pytest.raises(PreconditionFailed):
                await meta.put_version(version("b1", "k", "v2"), condition)
        holds = WriteCondition(if_match='"e0", W/"e1"', if_none_match='"e2"', size=3, modified=10)
        await meta.put_version(version("b1", "k", "v2", etag="e2"), holds)
        # Size and time alone hold where there is no object (conditional deletes).
        await meta.put_version(version("b1", "k", "dm", delete_marker=True))
        await meta.put_version(version("b1", "k", "v3"), WriteCondition(size=99, modified=1))
        assert len(await meta.list_versions("b1")) == 4


class TestListObjects:
    async def _fill(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "other")
        for key in KEYS:
            await meta.put_version(version("b1", key, "v1"))
            await meta.put_version(version("other", key + "-x", "v1"))

    async def test_byte_order(self, meta: MetaStore) -> None:
        await self._fill(meta)
        listed = await meta.list_objects("b1")
        assert [v.key for v in listed] == BYTE_ORDER
        for v in listed:  # each the key's latest version
            latest = await meta.get_version("b1", v.key)
            assert latest is not None and v == ListedObject.of(latest)
        assert await meta.list_objects("nobucket") == []

    async def test_prefix(self, meta: MetaStore) -> None:
        await self._fill(meta)
        for prefix in ("a", "é", "\U0001f600", "\uffef", "a/", "q", ""):
            got = [v.key for v in await meta.list_objects("b1", prefix=prefix)]
            assert got == [k for k in BYTE_ORDER if k.startswith(prefix)], prefix

    async def test_start_after_and_pages(self, meta: MetaStore) -> None:
        await self._fill(meta)
        for at, key in enumerate(BYTE_ORDER):
            got = [v.key for v in await meta.list_objects("b1", start_after=key)]
            assert got == BYTE_ORDER[at + 1 :], key
        # Not a key itself; before the prefix; past the prefix.
        assert [v.key for v in await meta.list_objects("b1", start_after="aa")] == [
            k for k in BYTE_ORDER if k.encode() > b"aa"
        ]
        in_prefix = await meta.list_objects("b1", prefix="a", start_after="A")
        assert [v.key for v in in_prefix] == ["a", "a b", "a/b", "ab"]
        assert await meta.list_objects("b1", prefix="a", start_after="b") == []
        for limit in (1, 2, 5):
            keys: list[str] = []
            while page := await meta.list_objects(
                "b1", start_after=keys[-1] if keys else "", limit=limit
            ):
                assert len(page) <= limit
                keys += [v.key for v in page]
            assert keys == BYTE_ORDER
        assert await meta.list_objects("b1", limit=0) == []

    async def test_only_current_objects(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        for key in ("a", "b", "c", "d"):
            await meta.put_version(version("b1", key, "v1"))
        await meta.put_version(version("b1", "b", "v2"))
        await meta.put_version(version("b1", "c", "dm", delete_marker=True))
        listed = await meta.list_objects("b1", limit=3)
        assert _ids(listed) == [("a", "v1"), ("b", "v2"), ("d", "v1")]


class TestListVersions:
    async def _fill(self, meta: MetaStore) -> list[tuple[str, str]]:
        await make_bucket(meta, "b1")
        expected: list[tuple[str, str]] = []
        for key in KEYS:
            count = 1 + len(key.encode()) % 3
            for n in range(count):
                marker = n == 1 and key.startswith("a")
                await meta.put_version(version("b1", key, f"v{n}", delete_marker=marker))
        for key in BYTE_ORDER:
            count = 1 + len(key.encode()) % 3
            expected += [(key, f"v{n}") for n in reversed(range(count))]
        return expected

    async def test_order(self, meta: MetaStore) -> None:
        expected = await self._fill(meta)
        listed = await meta.list_versions("b1")
        assert _ids(listed) == expected
        for prev, cur in itertools.pairwise(listed):
            if prev.key == cur.key:
                assert prev.serial > cur.serial
                assert not cur.is_latest
            else:
                assert cur.is_latest
        assert any(v.delete_marker for v in listed)

    async def test_prefix(self, meta: MetaStore) -> None:
        expected = await self._fill(meta)
        for prefix in ("a", "\U0001f600", "zz"):
            got = _ids(await meta.list_versions("b1", prefix=prefix))
            assert got == [e for e in expected if e[0].startswith(prefix)]

    async def test_resume(self, meta: MetaStore) -> None:
        expected = await self._fill(meta)
        for limit in (1, 2, 3, 7):
            got: list[ObjectVersion] = []
            while page := await meta.list_versions(
                "b1", after=(got[-1].key, got[-1].serial) if got else None, limit=limit
            ):
                assert len(page) <= limit
                got += page
            assert _ids(got) == expected
        # (key, 0) resumes at the next key.
        next_keys = _ids(await meta.list_versions("b1", after=("a", 0)))
        assert next_keys == [e for e in expected if e[0].encode() > b"a"]
        in_prefix = await meta.list_versions("b1", prefix="a", after=("a", 0), limit=100)
        assert {v.key for v in in_prefix} == {"a b", "a/b", "ab"}
        assert await meta.list_versions("b1", limit=0) == []


class TestConcurrency:
    N = 16

    @staticmethod
    def _outcomes(results: Sequence[object]) -> tuple[int, int]:
        ok = sum(isinstance(r, ObjectVersion) for r in results)
        failed = sum(isinstance(r, PreconditionFailed) for r in results)
        return ok, failed

    async def test_if_none_match_one_winner(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        await make_bucket(meta, "b1")
        stores = [meta, meta_peer]
        results = await asyncio.gather(
            *(
                stores[i % 2].put_version(
                    version("b1", "k", f"v{i}", etag=f"e{i}"), WriteCondition(if_none_match=True)
                )
                for i in range(self.N)
            ),
            return_exceptions=True,
        )
        assert self._outcomes(results) == (1, self.N - 1), results
        assert len(await meta.list_versions("b1")) == 1

    async def test_if_match_one_winner(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v0", etag="e0"))
        stores = [meta, meta_peer]
        results = await asyncio.gather(
            *(
                stores[i % 2].put_version(
                    version("b1", "k", f"v{i + 1}", etag=f"e{i + 1}"), WriteCondition(if_match="e0")
                )
                for i in range(self.N)
            ),
            return_exceptions=True,
        )
        assert self._outcomes(results) == (1, self.N - 1), results

    async def test_unconditional_writes_all_land(
        self, meta: MetaStore, meta_peer: MetaStore
    ) -> None:
        await make_bucket(meta, "b1")
        stores = [meta, meta_peer]
        await asyncio.gather(
            *(stores[i % 2].put_version(version("b1", "k", f"v{i}")) for i in range(self.N))
        )
        listed = await meta.list_versions("b1")
        assert len(listed) == self.N
        assert [v.is_latest for v in listed] == [True] + [False] * (self.N - 1)
        serials = [v.serial for v in listed]
        assert serials == sorted(serials, reverse=True)
        assert len(set(serials)) == self.N

    async def test_complete_once(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        results = await asyncio.gather(
            meta.complete_upload("b1", "up1", version("b1", "k", "v1")),
            meta_peer.complete_upload("b1", "up1", version("b1", "k", "v2")),
            meta.abort_upload("b1", "up1"),
            return_exceptions=True,
        )
        assert sum(isinstance(r, NoSuchUpload) for r in results) == 2, results
        assert len(await meta.list_versions("b1")) == sum(
            isinstance(r, ObjectVersion) for r in results
        )

    async def test_part_against_abort(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        results = await asyncio.gather(
            *(meta_peer.put_part("b1", part("up1", n, digest(n))) for n in range(1, 5)),
            meta.abort_upload("b1", "up1"),
            *(meta.put_part("b1", part("up1", n, digest(n))) for n in range(5, 9)),
            return_exceptions=True,
        )
        assert all(r is None or isinstance(r, NoSuchUpload) for r in results), results
        # Whatever landed went with the upload: nothing is left referencing blocks.
        assert [d async for d in meta.referenced_digests()] == []
        assert await meta.list_parts("b1", "up1") == []
