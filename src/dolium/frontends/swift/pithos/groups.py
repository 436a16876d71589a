"""Account groups (`X-Account-Group-<name>: member,member`), which sharing
documents name as `<account>:<name>`.

As Pithos: a POST of the account with group headers sets those groups; with
`?update` the others stay (an empty value removes one), without it they are
replaced by what is sent. Names are lower-cased and may not hold "-" or "_"
(a header name cannot tell them apart); spaces in member lists are dropped.
Only the owner sees or changes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dolium.frontends.swift.errors import SwiftError

PREFIX = "x-account-group-"
MAX_GROUPS = 32
MAX_MEMBERS = 32
MAX_NAME = 256


def requested(headers: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """The groups a request sets, name -> members (none: removed); 400 when bad."""
    groups: dict[str, tuple[str, ...]] = {}
    for header, value in headers:
        if not header.lower().startswith(PREFIX):
            continue
        name = header.lower()[len(PREFIX) :]
        if not name or "-" in name or "_" in name or len(name) > MAX_NAME:
            raise SwiftError(400, "Bad characters in group name")
        members = tuple(sorted({m for m in value.replace(" ", "").split(",") if m}))
        if len(members) > MAX_MEMBERS or any(len(m) > MAX_NAME for m in members):
            raise SwiftError(400, "Too many members or too long a member in a group")
        if any(m.count(":") > 1 or m.startswith(":") or m.endswith(":") for m in members):
            raise SwiftError(400, "Bad group member")
        groups[name] = members
    if len(groups) > MAX_GROUPS:
        raise SwiftError(400, "Too many groups")
    return groups


def response_headers(groups: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    return [
        (f"X-Account-Group-{name.capitalize()}", ",".join(members))
        for name, members in sorted(groups.items())
    ]
