"""Swift container ACLs: who besides the owner may read or write a container.

A container's ACL is two lists, kept in its configs under "swift_acl" as
JSON `{"read": [...], "write": [...]}`. Entries:

- `tenant`, `tenant:user`, `tenant:*`, `*:user`: users, by account and name;
- `.r:*` (read only): anyone, also without credentials, may read objects;
- `.rlistings` (read only, with `.r:*`): anyone may also list the container.

Read grants GET and HEAD of objects and the listing; write grants PUT,
POST, COPY to and DELETE of objects. Neither grants the container's own
settings, which stay its owner's. Referrer rules other than `.r:*` are
refused: there is no referrer a server can trust.

The evaluator only ever allows (the authorizer asks it as a grantor). The
users of the owning tenant who are not its admins are members of the
account: Swift gives them only what the ACL grants, which `member_allows`
answers for the front end, since every other rule treats them as the owner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dolium.core.access.actions import Action, Decision, Resource
from dolium.errors import InvalidArgument
from dolium.model import Bucket, Principal

CONFIG = "swift_acl"
PUBLIC = ".r:*"
LISTINGS = ".rlistings"

READ_ACTIONS = frozenset({Action.READ})
WRITE_ACTIONS = frozenset({Action.WRITE, Action.DELETE})


@dataclass(frozen=True, slots=True)
class SwiftAcl:
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()

    def dump(self) -> str | None:
        if not self.read and not self.write:
            return None
        return json.dumps({"read": list(self.read), "write": list(self.write)})


def stored_acl(bucket: Bucket) -> SwiftAcl:
    text = bucket.configs.get(CONFIG)
    if not text:
        return SwiftAcl()
    loaded = json.loads(text)
    return SwiftAcl(tuple(loaded.get("read", ())), tuple(loaded.get("write", ())))


def parse_entries(text: str, *, read: bool) -> tuple[str, ...]:
    """The entries of one ACL header value; InvalidArgument for one it cannot honour."""
    entries: list[str] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if entry.startswith("."):
            if not read or entry not in (PUBLIC, LISTINGS):
                raise InvalidArgument(f"ACL entry {entry!r} is not supported")
        elif entry.count(":") > 1 or entry in ("*", "*:*") or not entry.strip(":"):
            raise InvalidArgument(f"ACL entry {entry!r} is not a user or an account")
        if entry not in entries:
            entries.append(entry)
    return tuple(entries)


def names_principal(principal: Principal, entry: str) -> bool:
    if principal.anonymous or entry.startswith("."):
        return False
    tenant, colon, user = entry.partition(":")
    if not colon:
        return principal.tenant == tenant
    return tenant in ("*", principal.tenant) and user in ("*", principal.user)


def grants(acl: SwiftAcl, principal: Principal, action: Action) -> bool:
    if action in READ_ACTIONS:
        return PUBLIC in acl.read or any(names_principal(principal, e) for e in acl.read)
    if action is Action.LIST:
        if PUBLIC in acl.read and LISTINGS in acl.read:
            return True
        return any(names_principal(principal, e) for e in acl.read)
    if action in WRITE_ACTIONS:
        return any(names_principal(principal, e) for e in acl.write)
    return False


def member_allows(principal: Principal, bucket: Bucket, action: Action) -> bool:
    """Whether the container's ACL lets `principal` (a member of its account) do `action`."""
    return grants(stored_acl(bucket), principal, action)


class SwiftAclEvaluator:
    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        if resource.setting is not None or CONFIG not in resource.container.configs:
            return Decision.NONE
        acl = stored_acl(resource.container)
        return Decision.ALLOW if grants(acl, principal, action) else Decision.NONE
