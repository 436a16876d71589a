"""Pithos' `?meta=` on a container listing: only the objects whose user
metadata (`X-Object-Meta-*`) passes every term.

Terms are comma separated and all must hold: `key` (the object has it),
`!key` (it has not), `key<op>value` with op one of `=`, `!=`, `<=`, `>=`,
`<`, `>` (it has the key, and its value compares so, as strings). Keys are
matched without regard to case, as header names are; a term of another
form is passed over, as Pithos passes it over.

The meta store keeps no index of metadata: the listing walks the
container's current objects in pages, so it costs what the range listed
holds, not what matches.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire.listings import Entry
from dolium.model import ListedObject, ObjectVersion

PARAMETER = "meta"
# Current objects are read in pages of this many.
_PAGE = 1000
_TERM = re.compile(r"^(?P<neg>!)?(?P<key>[^=!<>]+)(?:(?P<op>!=|<=|>=|=|<|>)(?P<value>.*))?$")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True, slots=True)
class MetaFilter:
    present: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    compared: tuple[tuple[str, str, str], ...] = ()  # (key, op, value)

    @classmethod
    def parse(cls, text: str) -> MetaFilter:
        present: list[str] = []
        absent: list[str] = []
        compared: list[tuple[str, str, str]] = []
        for raw in text.split(","):
            term = raw.strip()
            found = _TERM.match(term) if term else None
            if found is None:
                continue
            key = found["key"].strip().lower()
            if found["neg"]:
                if found["op"] is None:
                    absent.append(key)
            elif found["op"] is not None:
                compared.append((key, found["op"], found["value"]))
            else:
                present.append(key)
        return cls(tuple(present), tuple(absent), tuple(compared))

    def admits(self, meta: Mapping[str, str]) -> bool:
        if any(key not in meta for key in self.present):
            return False
        if any(key in meta for key in self.absent):
            return False
        return all(
            key in meta and _OPERATORS[op](meta[key], value) for key, op, value in self.compared
        )


def asked(request: SwiftRequest) -> MetaFilter | None:
    text = request.query.get(PARAMETER)
    return None if text is None else MetaFilter.parse(text)


async def matching(
    request: SwiftRequest,
    query: ListingQuery,
    wanted: MetaFilter,
    entry: Callable[[ListedObject], Entry],
) -> list[Entry]:
    """The listing's page of objects that pass the filter, rolled up by the
    delimiter into the subdirs that hold such objects."""
    found: list[Entry] = []
    seen: set[str] = set()
    cursor = query.lower()
    upper = query.upper()
    while True:
        page: Sequence[ObjectVersion] = await request.store.listing.current(
            request.principal, request.address, prefix=query.prefix, start_after=cursor,
            limit=_PAGE,
        )  # fmt: skip
        for version in page:
            if upper and version.key >= upper:
                return query.window(found)
            if not wanted.admits(version.meta):
                continue
            cut = version.key.find(query.delimiter, len(query.prefix)) if query.delimiter else -1
            if cut < 0:
                found.append(entry(ListedObject.of(version)))
            elif (subdir := version.key[: cut + 1]) not in seen:
                seen.add(subdir)
                found.append(subdir)
        if len(page) < _PAGE or (not query.reverse and len(found) >= query.limit):
            return query.window(found)
        cursor = page[-1].key
