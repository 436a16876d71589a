"""`X-Object-Sharing` both ways: what a write asks for, what a read shows.

The header is Pithos': `read=<entries>;write=<entries>`, either part or
both, entries comma separated (`*`, an account, `account:user` or
`account:group`); an empty value removes the object's sharing. A grantee
in both lists is kept in `write` only, which implies read. Entries keep
their case: Dolium's account and user names are case sensitive, where
Pithos' (UUIDs) were lower-cased.

Who may set sharing, and what it grants, is the core's to judge
(`Store.shares` and the authorizer); this module only reads and writes the
wire form.
"""

from __future__ import annotations

from dolium.core.access.sharing import EVERYONE
from dolium.core.objects.shares import Governing
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.request import ACCOUNT_PREFIX, SwiftRequest
from dolium.model import NO_SHARING, ObjectVersion, Sharing

HEADER = "x-object-sharing"
# Pithos' limits on what one list may name, and on one name.
MAX_ENTRY_LENGTH = 256


def _entries(text: str) -> tuple[str, ...]:
    found = {entry for entry in text.split(",") if entry}
    if not found:
        raise SwiftError(400, "Bad X-Object-Sharing header value: invalid length")
    for entry in found:
        account, colon, name = entry.partition(":")
        if len(entry) > MAX_ENTRY_LENGTH or not account or (colon and not name) or ":" in name:
            raise SwiftError(400, f"Bad X-Object-Sharing header value: bad entry {entry!r}")
    if EVERYONE in found:
        return (EVERYONE,)
    return tuple(sorted(found))


def parse(value: str) -> Sharing:
    """The sharing a header value asks for; 400 for anything else."""
    value = value.replace(" ", "").replace("~", "")
    if not value:
        return NO_SHARING
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    for part in value.split(";"):
        if part.startswith("read="):
            read = _entries(part[len("read=") :])
        elif part.startswith("write="):
            write = _entries(part[len("write=") :])
        else:
            raise SwiftError(400, "Bad X-Object-Sharing header value: unknown operation")
    # Write implies read: a grantee of both is kept as a writer only.
    read = tuple(entry for entry in read if entry not in write or entry == EVERYONE)
    return Sharing(read, write)


def requested(request: SwiftRequest) -> Sharing | None:
    """The sharing the request sets (None: it leaves sharing alone)."""
    value = request.http.headers.get(HEADER)
    return None if value is None else parse(value)


def render(sharing: Sharing) -> str:
    parts = []
    if sharing.read:
        parts.append("read=" + ",".join(sharing.read))
    if sharing.write:
        parts.append("write=" + ",".join(sharing.write))
    return ";".join(parts)


async def read_headers(
    request: SwiftRequest, version: ObjectVersion, governing: Governing | None
) -> list[tuple[str, str]]:
    """Who else may reach the object, as Pithos shows it: the sharing that
    applies, where it comes from when inherited from a folder, and what the
    caller may do when it is not the owner."""
    if governing is None or governing.sharing == NO_SHARING:
        return []
    headers = [("X-Object-Sharing", render(governing.sharing))]
    if governing.key != version.key:
        path = f"{ACCOUNT_PREFIX}{request.account}/{request.container}/{governing.key}"
        headers.append(("X-Object-Shared-By", path))
    if not request.is_owner:
        may_write = await request.store.shares.may_write(request.principal, version)
        headers.append(("X-Object-Allowed-To", "write" if may_write else "read"))
    return headers
