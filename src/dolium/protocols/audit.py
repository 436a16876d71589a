"""Where the audit log keeps its entries, its tree and its signed heads.

A store is dumb on purpose: the core computes every hash (leaves, the
perfect subtrees each append completes) and every proof; the store keeps
them, atomically per append, and answers lookups and queries. So three
stores (a database, another database, files) can be checked against one
contract and cannot disagree on what the log proves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from dolium.model import AuditEntry, AuditQuery, NodeKey


class AuditStore(Protocol):
    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        """Add entries (the next indexes, in order) and the tree nodes they complete, at once.

        Durable when it returns. AppendConflict when the first index is not
        the store's size (another writer appended meanwhile).
        """

    async def size(self) -> int:
        """How many entries the log holds (pruned ones included)."""

    async def last_seq(self) -> int:
        """The change serial of the last entry (0 when empty)."""

    async def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """The hashes of those nodes that are stored."""

    async def entries(self, first: int, end: int) -> list[AuditEntry]:
        """Entries with indexes in [first, end) still held, in order."""

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching `query`, by index, after `query.after`, at most `query.limit`."""

    async def prune(self, end: int) -> int:
        """Drop the entries before index `end` (offloaded), but never the newest one;
        the tree's nodes and the signed heads stay, so every proof can still be made.
        How many were dropped. StorageError where a store cannot drop entries."""

    async def put_checkpoint(self, size: int, note: str) -> None:
        """Keep a signed head of the tree of `size` entries."""

    async def checkpoints(self) -> list[tuple[int, str]]:
        """Every signed head kept, (size, note), oldest first."""

    async def close(self) -> None: ...
