"""Pithos sharing: grantees, groups, inheritance from directory objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pytest

from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.access.sharing import (
    SharedPath,
    Sharing,
    SharingEvaluator,
    SharingLookup,
    candidate_paths,
)
from dolium.model import Bucket, Principal

BUCKET = Bucket(name="docs", owner="alice", created=0.0)
BOB = Principal(tenant="bob", user="bob")
BOBS_OTHER_USER = Principal(tenant="bob", user="carol")
DAVE = Principal(tenant="dave", user="dave")
ANONYMOUS = Principal(tenant="", user="")


class MemorySharing:
    """Sharing documents by path and groups by account, as a test sets them."""

    def __init__(self) -> None:
        self.paths: dict[str, SharedPath] = {}
        self.groups: dict[tuple[str, str], frozenset[str]] = {}
        self.group_lookups = 0

    def share(self, path: str, *, read: str = "", write: str = "", directory: bool = False) -> None:
        sharing = Sharing(frozenset(read.split()), frozenset(write.split()))
        self.paths[path] = SharedPath(sharing, directory)

    async def sharing(self, container: Bucket, paths: Sequence[str]) -> Mapping[str, SharedPath]:
        assert container == BUCKET
        return {p: self.paths[p] for p in paths if p in self.paths}

    async def group_members(self, account: str, group: str) -> Collection[str]:
        self.group_lookups += 1
        return self.groups.get((account, group), frozenset())


def _conforms(lookup: MemorySharing) -> SharingLookup:  # mypy fails if it drifts
    return lookup


@pytest.fixture
def lookup() -> MemorySharing:
    return MemorySharing()


async def decide(
    lookup: MemorySharing, principal: Principal, action: Action, key: str | None
) -> Decision:
    return await SharingEvaluator(lookup).evaluate(principal, action, Resource(BUCKET, key))


async def may_read(lookup: MemorySharing, principal: Principal, key: str) -> bool:
    return await decide(lookup, principal, Action.READ, key) is Decision.ALLOW


async def may_write(lookup: MemorySharing, principal: Principal, key: str) -> bool:
    return await decide(lookup, principal, Action.WRITE, key) is Decision.ALLOW


def test_candidates_are_the_object_then_its_folders_nearest_first() -> None:
    assert candidate_paths("a/b/c") == ["a/b/c", "a/b/", "a/b", "a/", "a"]
    assert candidate_paths("a/b/") == ["a/b/", "a/", "a"]
    assert candidate_paths("top") == ["top"]
    assert candidate_paths("/x") == ["/x", "/"]
    assert candidate_paths("a//b") == ["a//b", "a//", "a/", "a"]


async def test_readers_read_and_do_not_write(lookup: MemorySharing) -> None:
    lookup.share("report.pdf", read="bob")
    assert await may_read(lookup, BOB, "report.pdf")
    assert not await may_write(lookup, BOB, "report.pdf")
    assert not await may_read(lookup, DAVE, "report.pdf")


async def test_write_implies_read(lookup: MemorySharing) -> None:
    lookup.share("report.pdf", write="bob")
    assert await may_write(lookup, BOB, "report.pdf")
    assert await may_read(lookup, BOB, "report.pdf")
    assert not await may_write(lookup, DAVE, "report.pdf")


async def test_an_account_names_all_its_users_and_account_user_one(
    lookup: MemorySharing,
) -> None:
    lookup.share("all", read="bob")
    lookup.share("one", read="bob:carol")
    assert await may_read(lookup, BOB, "all")
    assert await may_read(lookup, BOBS_OTHER_USER, "all")
    assert await may_read(lookup, BOBS_OTHER_USER, "one")
    assert not await may_read(lookup, BOB, "one")
    # The same user name in another account is someone else.
    assert not await may_read(lookup, Principal(tenant="dave", user="carol"), "one")


async def test_groups_are_resolved_through_the_owning_account(lookup: MemorySharing) -> None:
    lookup.share("plans", write="alice:team")
    lookup.groups["alice", "team"] = frozenset({"bob", "dave:dave"})
    lookup.groups["dave", "team"] = frozenset({"bob:carol"})
    assert await may_write(lookup, BOB, "plans")
    assert await may_write(lookup, BOBS_OTHER_USER, "plans")  # every user of account bob
    assert await may_write(lookup, DAVE, "plans")
    assert not await may_write(lookup, Principal(tenant="dave", user="erin"), "plans")
    # dave's group of the same name is not alice's.
    lookup.groups["alice", "team"] = frozenset()
    assert not await may_write(lookup, BOBS_OTHER_USER, "plans")


async def test_groups_the_principal_carries_need_no_lookup(lookup: MemorySharing) -> None:
    lookup.share("plans", read="alice:team")
    member = Principal(tenant="erin", user="erin", groups=frozenset({"alice:team"}))
    assert await may_read(lookup, member, "plans")
    assert lookup.group_lookups == 0
    assert not await may_read(lookup, DAVE, "plans")
    assert lookup.group_lookups == 1


async def test_everyone_means_every_authenticated_caller(lookup: MemorySharing) -> None:
    lookup.share("notice", read="*")
    assert await may_read(lookup, DAVE, "notice")
    assert not await may_write(lookup, DAVE, "notice")
    assert not await may_read(lookup, ANONYMOUS, "notice")


async def test_sharing_is_inherited_from_enclosing_folders(lookup: MemorySharing) -> None:
    lookup.share("projects/", read="bob")
    assert await may_read(lookup, BOB, "projects/x/y.txt")
    assert await may_read(lookup, BOB, "projects/readme")
    assert not await may_read(lookup, BOB, "projectsX/readme")
    assert not await may_read(lookup, BOB, "other/readme")


async def test_the_nearest_path_with_sharing_decides(lookup: MemorySharing) -> None:
    lookup.share("projects/", read="bob")
    lookup.share("projects/secret/", read="dave")
    assert not await may_read(lookup, BOB, "projects/secret/plan")
    assert await may_read(lookup, DAVE, "projects/secret/plan")
    # The object's own sharing is nearer than any folder's.
    lookup.share("projects/secret/open", read="bob")
    assert await may_read(lookup, BOB, "projects/secret/open")
    assert not await may_read(lookup, DAVE, "projects/secret/open")


async def test_a_path_without_slash_counts_only_as_a_directory_object(
    lookup: MemorySharing,
) -> None:
    lookup.share("photos", read="bob")
    assert not await may_read(lookup, BOB, "photos/cat.jpg")
    lookup.share("photos", read="bob", directory=True)
    assert await may_read(lookup, BOB, "photos/cat.jpg")
    # A folder by name is nearer than the directory object of the same name.
    lookup.share("photos/", read="dave")
    assert not await may_read(lookup, BOB, "photos/cat.jpg")


@pytest.mark.parametrize(
    "action",
    [Action.DELETE, Action.LIST, Action.WRITE_ACL, Action.READ_TAGS, Action.ABORT_UPLOAD],
)
async def test_sharing_grants_reads_and_writes_only(lookup: MemorySharing, action: Action) -> None:
    lookup.share("k", write="*")
    lookup.share("k/", write="*")
    assert await decide(lookup, BOB, action, "k") is Decision.NONE
    setting = Resource(BUCKET, None, Setting.CORS)
    evaluator = SharingEvaluator(lookup)
    assert await evaluator.evaluate(BOB, Action.READ_SETTING, setting) is Decision.NONE


async def test_without_sharing_nothing_is_said(lookup: MemorySharing) -> None:
    assert await decide(lookup, BOB, Action.READ, "k") is Decision.NONE
    assert await decide(lookup, BOB, Action.READ, None) is Decision.NONE
