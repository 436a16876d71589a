"""The query of a listing (limit, marker, end_marker, prefix, delimiter, path,
reverse) and the window it selects from names in order.

Swift's reverse listing walks down from `marker` to `end_marker`; the core
lists forward only, so a reverse listing reads its range forward and keeps
the last `limit` entries: its cost grows with the range, not the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.wire.listings import Entry, entry_name

LISTING_LIMIT = 10000


@dataclass(frozen=True, slots=True)
class ListingQuery:
    limit: int = LISTING_LIMIT
    marker: str = ""
    end_marker: str = ""
    prefix: str = ""
    delimiter: str = ""
    reverse: bool = False
    # `path=`: only the objects directly under this pseudo-directory.
    path: str | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ListingQuery:
        limit = LISTING_LIMIT
        if query.get("limit"):
            try:
                limit = int(query["limit"])
            except ValueError:
                raise SwiftError(400, "Invalid limit") from None
            if limit < 0:
                raise SwiftError(400, "Invalid limit")
            if limit > LISTING_LIMIT:
                raise SwiftError(412, f"Maximum limit is {LISTING_LIMIT}")
        delimiter = query.get("delimiter", "")
        if len(delimiter) > 1:
            raise SwiftError(412, "Bad delimiter")
        prefix = query.get("prefix", "")
        path = query.get("path")
        if path is not None:
            # As Swift: path=a/b lists what lies directly under "a/b/".
            prefix = path if not path or path.endswith("/") else path + "/"
            delimiter = "/"
        reverse = query.get("reverse", "").lower() in ("true", "1", "yes", "on", "t", "y")
        return cls(
            limit=limit,
            marker=query.get("marker", ""),
            end_marker=query.get("end_marker", ""),
            prefix=prefix,
            delimiter=delimiter,
            reverse=reverse,
            path=path,
        )

    def lower(self) -> str:
        """Names must sort after this (exclusive)."""
        return self.end_marker if self.reverse else self.marker

    def upper(self) -> str:
        """Names must sort before this (exclusive); "" for no bound."""
        return self.marker if self.reverse else self.end_marker

    def window(self, entries: Iterable[Entry]) -> list[Entry]:
        """The page out of entries in name order, from `lower()` on."""
        low, high = self.lower(), self.upper()
        picked: list[Entry] = []
        for entry in entries:
            name = entry_name(entry)
            if low and name <= low:
                continue
            if high and name >= high:
                break
            if self.path is not None and isinstance(entry, str):
                continue  # path= shows objects only, not deeper pseudo-directories
            picked.append(entry)
            if not self.reverse and len(picked) >= self.limit:
                break
        if self.reverse:
            picked = picked[::-1][: self.limit]
        return picked
