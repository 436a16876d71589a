"""Where the audit log keeps its entries, its tree and its signed heads.

A store is dumb on purpose: the core computes every hash (leaves, the
perfect subtrees each append completes) and every proof; the store keeps
them, atomically per append, and answers lookups and queries. So three
stores (a database, another database, files) can be checked against one
contract and cannot disagree on what the log proves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One record of the audit log: leaf `index` of its Merkle tree.

    `record` is the canonical JSON the leaf hashes; `seq` the serial of the
    change it records; `actor` and `resource` repeat what the record says,
    for queries.
    """

    index: int
    seq: int
    time: float
    actor: str
    resource: str
    record: bytes


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Entries whose record holds `term`, in [since, until), of `actor`, under `resource`."""

    term: str = ""
    since: float | None = None
    until: float | None = None
    actor: str = ""
    resource: str = ""  # a prefix: "bucket" or "bucket/key"
    after: int = -1  # index of the last entry of the previous page
    limit: int = 100


# A node of the audit tree: (level, index): the root of leaves
# [index * 2**level, (index + 1) * 2**level); level 0 holds the leaves.
NodeKey = tuple[int, int]


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
