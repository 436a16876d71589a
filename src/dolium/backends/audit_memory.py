"""An AuditStore in memory: for tests of the core, and a server with a memory meta store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

from dolium.errors import AppendConflict
from dolium.protocols.audit import AuditEntry, AuditQuery, NodeKey


def matches(entry: AuditEntry, query: AuditQuery) -> bool:
    """Whether `entry` answers `query`, as every store must decide it."""
    if query.term and query.term not in entry.record.decode("utf-8", "replace"):
        return False
    if query.since is not None and entry.time < query.since:
        return False
    if query.until is not None and entry.time >= query.until:
        return False
    if query.actor and entry.actor != query.actor:
        return False
    resource = query.resource.rstrip("/")
    return not resource or entry.resource == resource or entry.resource.startswith(resource + "/")


class MemoryAuditStore:
    @classmethod
    async def open(cls) -> Self:
        return cls()

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._first = 0  # index of self._entries[0]: those before were pruned
        self._nodes: dict[NodeKey, bytes] = {}
        self._checkpoints: dict[int, str] = {}

    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        size = self._first + len(self._entries)
        if entries and entries[0].index != size:
            raise AppendConflict(f"the log holds {size} entries, not {entries[0].index}")
        self._entries.extend(entries)
        self._nodes.update(nodes)

    async def size(self) -> int:
        return self._first + len(self._entries)

    async def last_seq(self) -> int:
        return self._entries[-1].seq if self._entries else 0

    async def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return {k: self._nodes[k] for k in keys if k in self._nodes}

    async def entries(self, first: int, end: int) -> list[AuditEntry]:
        lo, hi = max(first - self._first, 0), max(end - self._first, 0)
        return self._entries[lo:hi]

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        held = self._entries[max(query.after + 1 - self._first, 0) :]
        found = [e for e in held if matches(e, query)]
        return found[: query.limit]

    async def prune(self, end: int) -> int:
        end = min(end, self._first + len(self._entries) - 1)  # the newest entry stays
        cut = max(end - self._first, 0)
        del self._entries[:cut]
        self._first += cut
        return cut

    async def put_checkpoint(self, size: int, note: str) -> None:
        self._checkpoints[size] = note

    async def checkpoints(self) -> list[tuple[int, str]]:
        return sorted(self._checkpoints.items())

    async def close(self) -> None:
        pass
