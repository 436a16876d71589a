"""The sharing evaluator: Pithos sharing, who besides the owner may read or write.

A sharing document lists readers and writers. A grantee is
- an account (`alice`): every user of that account;
- a user (`alice:bob`): that user of that account;
- a group (`alice:friends`): the members of the group account `alice`
  defines (members are accounts or users again, never groups);
- `*`: every authenticated caller (anonymous reads go by public links).
Write implies read. `alice:x` names a user and a group alike; it matches
either.

An object's sharing is the sharing of the nearest path that has one, among
the object itself and the directory objects that enclose it: for `a/b/c`,
`a/b/c`, then `a/b/`, `a/b`, `a/`, `a`. A path ending in "/" is a folder by
its name; one without counts only when its latest version is a directory
object (`SharedPath.directory`, as Pithos's `application/directory`).

Sharing only allows, and only reads and writes of objects: never deletes,
listings or settings, and it never denies. The owner's own rights are not
its rule (the S3 evaluator's owner rule allows the owner's tenant).

Where sharing documents and groups come from is the `SharingLookup`'s
business; this module holds the rules, no storage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dolium.core.access.actions import Action, Decision, Resource
from dolium.model import Bucket, Principal

EVERYONE = "*"

# The only actions sharing grants.
SHARED_ACTIONS = frozenset({Action.READ, Action.WRITE})


@dataclass(frozen=True, slots=True)
class Sharing:
    """One sharing document: grantees as written (`*`, accounts, `account:name`)."""

    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SharedPath:
    sharing: Sharing
    # The path's latest version is a directory object; paths ending in "/"
    # are folders whatever this says.
    directory: bool = False


class SharingLookup(Protocol):
    async def sharing(self, container: Bucket, paths: Sequence[str]) -> Mapping[str, SharedPath]:
        """The sharing recorded at those of `paths` that have one (the others left out)."""
        ...

    async def group_members(self, account: str, group: str) -> Collection[str]:
        """The members of `account`'s group (empty when it has no such group)."""
        ...


def candidate_paths(key: str) -> list[str]:
    """The paths whose sharing may apply to `key`, nearest first."""
    paths = [key]
    end = len(key) - 1 if key.endswith("/") else len(key)
    cut = key.rfind("/", 0, end)
    while cut >= 0:
        paths += [key[: cut + 1], key[:cut]] if cut else [key[:1]]
        cut = key.rfind("/", 0, cut)
    return list(dict.fromkeys(paths))  # "a//b" names "a/" twice


def nearest(key: str, found: Mapping[str, SharedPath]) -> tuple[str, Sharing] | None:
    """The path whose sharing applies to `key`, and that sharing: the nearest that counts."""
    for path in candidate_paths(key):
        shared = found.get(path)
        if shared is not None and (path == key or path.endswith("/") or shared.directory):
            return path, shared.sharing
    return None


def governing(key: str, found: Mapping[str, SharedPath]) -> Sharing | None:
    """The sharing that applies to `key`: the nearest path's that counts."""
    near = nearest(key, found)
    return None if near is None else near[1]


def _names(entry: str, principal: Principal) -> bool:
    """Whether an account or user entry names `principal`."""
    account, _, user = entry.partition(":")
    return account == principal.tenant and (not user or user == principal.user)


class SharingEvaluator:
    def __init__(self, lookup: SharingLookup) -> None:
        self.lookup = lookup

    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        key = resource.key
        if action not in SHARED_ACTIONS or key is None or principal.anonymous:
            return Decision.NONE
        found = await self.lookup.sharing(resource.container, candidate_paths(key))
        sharing = governing(key, found)
        if sharing is None:
            return Decision.NONE
        # Write implies read.
        grantees = sharing.read | sharing.write if action is Action.READ else sharing.write
        return Decision.ALLOW if await self._granted(grantees, principal) else Decision.NONE

    async def _granted(self, grantees: frozenset[str], principal: Principal) -> bool:
        if EVERYONE in grantees or any(_names(g, principal) for g in grantees):
            return True
        groups = sorted(g for g in grantees if ":" in g)
        if any(g in principal.groups for g in groups):
            return True
        for entry in groups:  # the I/O last, and only as far as needed
            account, _, group = entry.partition(":")
            members = await self.lookup.group_members(account, group)
            if any(_names(member, principal) for member in members):
                return True
        return False
