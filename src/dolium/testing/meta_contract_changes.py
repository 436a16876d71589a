"""Contract suite for the change log of MetaStore implementations.

Each call that changes state appends exactly its record, in the same
transaction: a call that fails appends none. Serials increase, and the
feed reads back in serial order from any point. Used as the other contract
modules are (see `meta_contract`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dolium.conditions import WriteCondition
from dolium.errors import DoliumError
from dolium.model import (
    AccessKey,
    Actor,
    Bucket,
    Change,
    ChangeAction,
    Lock,
    LockMode,
    Sharing,
    Tenant,
    User,
    Versioning,
)
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_objects import make_bucket, part, upload, version

ALICE = Actor(tenant="t1", user="alice", access_key="AK1", address="192.0.2.1", request_id="R1")


async def _new(meta: MetaStore, call: Awaitable[Any]) -> list[Change]:
    """The records a call appends."""
    last = await _last(meta)
    await call
    return await meta.changes(last)


async def _last(meta: MetaStore) -> int:
    serial = 0
    while page := await meta.changes(serial, 1000):
        serial = page[-1].serial
    return serial


def _about(change: Change) -> tuple[Any, ...]:
    return (change.action, change.tenant, change.bucket, change.key, change.name)


class TestChangeLog:
    async def test_account_writes_append_their_records(self, meta: MetaStore) -> None:
        calls: list[tuple[Callable[[], Awaitable[Any]], tuple[Any, ...]]] = [
            (
                lambda: meta.create_tenant(Tenant("t1", "c1", "T1"), actor=ALICE),
                (ChangeAction.TENANT_CREATE, "t1", "", "", ""),
            ),
            (
                lambda: meta.create_user(User("t1", "u1"), actor=ALICE),
                (ChangeAction.USER_CREATE, "t1", "", "", "u1"),
            ),
            (
                lambda: meta.create_key(AccessKey("AK2", "s", "t1", "u1"), actor=ALICE),
                (ChangeAction.KEY_CREATE, "t1", "", "", "AK2"),
            ),
            (
                lambda: meta.revoke_key("AK2", actor=ALICE),
                (ChangeAction.KEY_REVOKE, "t1", "", "", "AK2"),
            ),
            (
                lambda: meta.delete_tenant("t1", actor=ALICE),
                (ChangeAction.TENANT_DELETE, "t1", "", "", ""),
            ),
        ]
        for call, about in calls:
            (change,) = await _new(meta, call())
            assert _about(change) == about
            assert change.actor == ALICE

    async def test_bucket_writes_append_their_records(self, meta: MetaStore) -> None:
        (created,) = await _new(meta, make_bucket(meta, "b1"))
        assert _about(created) == (ChangeAction.BUCKET_CREATE, "t1", "b1", "", "")
        bucket = await meta.get_bucket("b1")
        assert bucket is not None
        enabled = dataclasses.replace(bucket, versioning=Versioning.ENABLED)
        (updated,) = await _new(meta, meta.update_bucket(enabled, actor=ALICE))
        assert _about(updated) == (ChangeAction.BUCKET_UPDATE, "t1", "b1", "", "")
        (config,) = await _new(meta, meta.set_bucket_config("b1", "cors", "[]", actor=ALICE))
        assert _about(config) == (ChangeAction.BUCKET_CONFIG_SET, "t1", "b1", "", "cors")
        (removed,) = await _new(meta, meta.set_bucket_config("b1", "cors", None, actor=ALICE))
        assert _about(removed) == (ChangeAction.BUCKET_CONFIG_DELETE, "t1", "b1", "", "cors")
        (deleted,) = await _new(meta, meta.delete_bucket("b1", actor=ALICE))
        assert _about(deleted) == (ChangeAction.BUCKET_DELETE, "t1", "b1", "", "")
        assert {c.actor for c in (updated, config, removed, deleted)} == {ALICE}

    async def test_version_writes_append_their_records(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        given = version("b1", "k", "v1", size=5, etag="e1", top_hash="ab")
        (put,) = await _new(meta, meta.put_version(given, actor=ALICE))
        assert _about(put) == (ChangeAction.OBJECT_PUT, "", "b1", "k", "")
        assert (put.version_id, put.size, put.etag, put.top_hash) == ("v1", 5, "e1", "ab")
        assert put.actor == ALICE
        copy = version("b1", "k", "v2", size=5, etag="e1")
        (copied,) = await _new(meta, meta.put_version(copy, action=ChangeAction.OBJECT_COPY))
        assert (copied.action, copied.version_id) == (ChangeAction.OBJECT_COPY, "v2")
        marker = version("b1", "k", "v3", delete_marker=True)
        (marked,) = await _new(meta, meta.put_version(marker, actor=ALICE))
        assert (marked.action, marked.version_id, marked.size) == (
            ChangeAction.OBJECT_MARKER,
            "v3",
            None,
        )
        held = version("b1", "k", "v1", lock=Lock(LockMode.NONE, 0.0, True))
        (updated,) = await _new(meta, meta.update_version(held, {"legal_hold"}, actor=ALICE))
        assert _about(updated) == (ChangeAction.OBJECT_UPDATE, "", "b1", "k", "legal_hold")
        assert updated.version_id == "v1"
        (removed,) = await _new(meta, meta.delete_version("b1", "k", "v1", actor=ALICE))
        assert _about(removed) == (ChangeAction.OBJECT_DELETE, "", "b1", "k", "")
        assert (removed.version_id, removed.size, removed.etag) == ("v1", 5, "e1")

    async def test_a_refusal_is_recorded_and_changes_nothing(self, meta: MetaStore) -> None:
        epoch = await meta.config_epoch()
        before = await meta.changes(0, 10_000)
        refusal = Change(
            0, 5.0, ChangeAction.REQUEST_DENIED, ALICE, bucket="b1", key="k", name="PUT ?acl"
        )
        await meta.record_refusal(refusal)
        [got] = (await meta.changes(0, 10_000))[len(before) :]
        assert got == dataclasses.replace(refusal, serial=got.serial)
        assert got.serial > max((c.serial for c in before), default=0)
        assert await meta.config_epoch() == epoch

    async def test_a_delete_of_nothing_is_recorded(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        (change,) = await _new(meta, meta.delete_version("b1", "k", "null", actor=ALICE))
        assert _about(change) == (ChangeAction.OBJECT_DELETE, "", "b1", "k", "")
        assert (change.version_id, change.size) == ("null", None)

    async def test_upload_writes_append_their_records(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        (created,) = await _new(meta, meta.create_upload(upload("b1", "k", "u1"), actor=ALICE))
        assert _about(created) == (ChangeAction.UPLOAD_CREATE, "", "b1", "k", "u1")
        (stored,) = await _new(meta, meta.put_part("b1", part("u1", 2), actor=ALICE))
        assert _about(stored) == (ChangeAction.UPLOAD_PART, "", "b1", "k", "u1/2")
        done = version("b1", "k", "v1", size=9, etag="x-1")
        (completed,) = await _new(meta, meta.complete_upload("b1", "u1", done, actor=ALICE))
        assert _about(completed) == (ChangeAction.OBJECT_COMPLETE, "", "b1", "k", "u1")
        assert (completed.version_id, completed.size, completed.etag) == ("v1", 9, "x-1")
        await meta.create_upload(upload("b1", "j", "u2"))
        (aborted,) = await _new(meta, meta.abort_upload("b1", "u2", actor=ALICE))
        assert _about(aborted) == (ChangeAction.UPLOAD_ABORT, "", "b1", "j", "u2")
        assert {c.actor for c in (created, stored, completed, aborted)} == {ALICE}

    async def test_account_data_writes_append_their_records(self, meta: MetaStore) -> None:
        (meta_set,) = await _new(meta, meta.set_account_meta("t1", {"quota": "9"}, actor=ALICE))
        assert _about(meta_set) == (ChangeAction.ACCOUNT_META_SET, "t1", "", "", "")
        friends = meta.set_group("t1", "friends", ["t2", "t3:bob"], actor=ALICE)
        (group_set,) = await _new(meta, friends)
        assert _about(group_set) == (ChangeAction.ACCOUNT_GROUP_SET, "t1", "", "", "friends")
        (group_gone,) = await _new(meta, meta.set_group("t1", "friends", [], actor=ALICE))
        assert _about(group_gone) == (ChangeAction.ACCOUNT_GROUP_SET, "t1", "", "", "friends")
        assert {c.actor for c in (meta_set, group_set, group_gone)} == {ALICE}

    async def test_a_container_created_by_account_is_recorded(self, meta: MetaStore) -> None:
        made = meta.create_container(Bucket("pithos", "t1", created=1.0), claim=False, actor=ALICE)
        (created,) = await _new(meta, made)
        assert _about(created) == (ChangeAction.BUCKET_CREATE, "t1", "t1:pithos", "", "")
        assert created.actor == ALICE

    async def test_path_writes_append_their_records(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await make_bucket(meta, "b2")
        await meta.put_version(version("b1", "k", "v1", size=5))
        shared = meta.set_sharing("b1", "k", Sharing(read=("t2",)), actor=ALICE)
        (sharing,) = await _new(meta, shared)
        assert _about(sharing) == (ChangeAction.PATH_SHARING_SET, "", "b1", "k", "")
        (public,) = await _new(meta, meta.set_public("b1", "k", "pub1", actor=ALICE))
        assert _about(public) == (ChangeAction.PATH_PUBLIC_SET, "", "b1", "k", "")
        (expiry,) = await _new(meta, meta.set_delete_at("b1", "k", 99.0, actor=ALICE))
        assert _about(expiry) == (ChangeAction.PATH_DELETE_AT_SET, "", "b1", "k", "")
        (moved,) = await _new(meta, meta.move("b1", "k", "b2", "d/k", actor=ALICE))
        assert _about(moved) == (ChangeAction.OBJECT_MOVE, "", "b1", "k", "b2/d/k")
        assert {c.actor for c in (sharing, public, expiry, moved)} == {ALICE}

    async def test_failed_writes_append_nothing(self, meta: MetaStore) -> None:
        await meta.create_tenant(Tenant("t1", "c1", "T1"))
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", "v1"))
        await meta.create_upload(upload("b1", "k", "u1"))
        await meta.put_version(version("b1", "taken", "v1"))
        await meta.set_public("b1", "taken", "pub1")
        last = await _last(meta)

        def refuse(_: object) -> None:
            raise DoliumError("refused")

        failing: list[Callable[[], Awaitable[Any]]] = [
            lambda: meta.create_tenant(Tenant("t1", "c1", "T1")),  # exists
            lambda: meta.create_user(User("nobody", "u")),
            lambda: meta.revoke_key("nope"),
            lambda: meta.delete_tenant("nobody"),
            lambda: make_bucket(meta, "b1"),
            lambda: meta.delete_bucket("b1"),  # not empty
            lambda: meta.set_bucket_config("nope", "cors", "[]"),
            lambda: meta.put_version(version("nope", "k", "v")),
            lambda: meta.put_version(version("b1", "k", "v2"), WriteCondition(if_none_match=True)),
            lambda: meta.update_version(version("b1", "k", "gone"), {"tags"}),
            lambda: meta.update_version(version("b1", "k", "v1"), {"tags"}, refuse),
            lambda: meta.delete_version("b1", "k", "v1", refuse),
            lambda: meta.put_part("b1", part("nope", 1)),
            lambda: meta.complete_upload("b1", "nope", version("b1", "k", "v3")),
            lambda: meta.abort_upload("b1", "nope"),
            lambda: meta.create_container(Bucket("b1", "t1", created=1.0), claim=False),
            lambda: meta.set_sharing("b1", "nope", Sharing(read=("t2",))),
            lambda: meta.set_public("b1", "nope", "pub2"),
            lambda: meta.set_public("b1", "k", "pub1"),  # another path has it
            lambda: meta.set_delete_at("b1", "nope", 1.0),
            lambda: meta.move("b1", "nope", "b1", "elsewhere"),
            lambda: meta.move("b1", "k", "b1", "taken"),  # occupied
            lambda: meta.move("b1", "k", "nope", "k"),
        ]
        for call in failing:
            with pytest.raises(DoliumError):
                await call()
        assert await meta.changes(last) == []
        assert await meta.get_upload("b1", "u1") is not None

    async def test_concurrent_losers_append_nothing(self, meta: MetaStore) -> None:
        """Writes committed together (as a store may group them): only the winners log."""
        await make_bucket(meta, "b1")
        last = await _last(meta)
        only = WriteCondition(if_none_match=True)
        writes = [
            meta.put_version(version("b1", f"k{n}", f"v{who}"), only)
            for n in range(10)
            for who in range(2)
        ]
        results = await asyncio.gather(*writes, return_exceptions=True)
        won = {(r.key, r.version_id) for r in results if not isinstance(r, BaseException)}
        assert len(won) == 10
        logged = await meta.changes(last)
        assert {(c.key, c.version_id) for c in logged} == won
        assert len(logged) == 10

    async def test_serials_increase_and_the_feed_pages(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await asyncio.gather(*(meta.put_version(version("b1", f"k{n}", "v")) for n in range(20)))
        everything = await meta.changes(0, 1000)
        serials = [c.serial for c in everything]
        assert serials == sorted(set(serials)) and serials[0] > 0
        assert sorted(c.key for c in everything if c.action is ChangeAction.OBJECT_PUT) == sorted(
            f"k{n}" for n in range(20)
        )
        paged: list[Change] = []
        while page := await meta.changes(paged[-1].serial if paged else 0, 7):
            assert len(page) <= 7
            paged += page
        assert paged == everything
        assert await meta.changes(serials[-1]) == []
        assert await meta.changes(0, 0) == []

    async def test_cursors_only_move_forward(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        assert await meta.cursor("delivery") == 0
        await meta.advance_cursor("delivery", 5)
        await meta.advance_cursor("delivery", 3)
        assert await meta_peer.cursor("delivery") == 5
        assert await meta.cursor("audit") == 0
        await make_bucket(meta, "b1")
        last = await _last(meta)
        await meta.advance_cursor("audit", last)
        assert await meta.changes(last) == []  # moving a cursor is not a change
