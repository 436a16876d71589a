"""Swift account ACLs: who besides the owner may use a whole account.

The ACL is Swift's JSON document `{"admin": [...], "read-write": [...],
"read-only": [...]}`, kept in the account's metadata under a name no
`X-Account-Meta-*` header can reach. Entries name users as container ACLs
do (`tenant`, `tenant:user`, `tenant:*`, `*:user`). The levels, as
tempauth grants them:

- read-only: list the account's containers and their objects, read
  objects and the containers' metadata;
- read-write: that, and write and delete objects, create and delete
  containers, change their metadata and versioning; not their ACLs nor
  anything of the account;
- admin: everything the owner may, the account's metadata and ACL included.

The evaluator only ever allows (the authorizer asks it as a grantor); what
is the account's own (its metadata, its container list) asks `level`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.access.swift_acl import names_principal
from dolium.errors import InvalidArgument
from dolium.model import Principal
from dolium.protocols.meta import MetaStore

# An account metadata name: a ":" keeps it out of X-Account-Meta-* both ways.
META_NAME = "sysmeta:access-control"
ADMIN, READ_WRITE, READ_ONLY = "admin", "read-write", "read-only"
LEVELS = (ADMIN, READ_WRITE, READ_ONLY)  # strongest first

_READ = frozenset({Action.LIST, Action.READ})
_READ_SETTINGS = frozenset({Setting.METADATA, Setting.VERSIONING})
_WRITE = _READ | {Action.WRITE, Action.DELETE, Action.DELETE_CONTAINER}


@dataclass(frozen=True, slots=True)
class AccountAcl:
    entries: Mapping[str, tuple[str, ...]]  # level -> entries

    def dump(self) -> str | None:
        shown = {level: list(self.entries[level]) for level in LEVELS if self.entries.get(level)}
        return json.dumps(shown, sort_keys=True) if shown else None


NO_ACL = AccountAcl({})


def parse(text: str) -> AccountAcl:
    """The ACL a header value sets; InvalidArgument for anything but Swift's form."""
    if not text.strip():
        return NO_ACL
    try:
        loaded = json.loads(text)
    except ValueError:
        raise InvalidArgument("Syntax error: the ACL is not JSON") from None
    if not isinstance(loaded, dict):
        raise InvalidArgument("Syntax error: the ACL is not a JSON object")
    entries: dict[str, tuple[str, ...]] = {}
    for level, members in loaded.items():
        if level not in LEVELS:
            raise InvalidArgument(f"Key {level!r} not recognized")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise InvalidArgument(f"Value for key {level!r} must be a list of strings")
        for member in members:
            if not member or member.startswith(".") or member.count(":") > 1:
                raise InvalidArgument(f"ACL entry {member!r} is not a user or an account")
        entries[level] = tuple(dict.fromkeys(members))
    return AccountAcl(entries)


def stored(meta: Mapping[str, str]) -> AccountAcl:
    text = meta.get(META_NAME)
    return parse(text) if text else NO_ACL


def level(acl: AccountAcl, principal: Principal) -> str | None:
    """The strongest level the ACL gives `principal`; None: none."""
    for name in LEVELS:
        if any(names_principal(principal, entry) for entry in acl.entries.get(name, ())):
            return name
    return None


def grants(granted: str | None, action: Action, setting: Setting | None) -> bool:
    if granted == ADMIN:
        return True
    if granted not in (READ_WRITE, READ_ONLY):
        return False
    if setting is not None:
        if setting not in _READ_SETTINGS:
            return False
        return action is Action.READ_SETTING or (
            granted == READ_WRITE and action in (Action.WRITE_SETTING, Action.DELETE_SETTING)
        )
    return action in (_WRITE if granted == READ_WRITE else _READ)


async def level_in(meta: MetaStore, principal: Principal, account: str) -> str | None:
    """The level `principal` holds on `account` (None: none, or anonymous)."""
    if principal.anonymous:
        return None
    found = await meta.get_account(account)
    return level(stored(found.meta), principal)


class SwiftAccountAclEvaluator:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        if principal.anonymous:
            return Decision.NONE
        granted = await level_in(self.meta, principal, resource.container.owner)
        return Decision.ALLOW if grants(granted, action, resource.setting) else Decision.NONE
