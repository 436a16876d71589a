"""Contract suite for AuditStore implementations.

A test module imports `TestAuditStore` and provides an `audit_store`
fixture (an empty store) and `reopen` (a callable giving a new store over
the same data, or None where nothing persists).
"""

from __future__ import annotations

import json

import pytest

from dolium.core.audit import merkle
from dolium.errors import AppendConflict, StorageError
from dolium.protocols.audit import AuditEntry, AuditQuery, AuditStore, NodeKey


def entry(
    index: int, *, time: float = 0.0, actor: str = "t:alice", resource: str = "b/k"
) -> AuditEntry:
    record = json.dumps({"seq": index + 1, "action": "object.put", "resource": resource}).encode()
    return AuditEntry(index, index + 1, 1000.0 + index, actor, resource, record)


def grow(frontier: merkle.Frontier, entries: list[AuditEntry]) -> dict[NodeKey, bytes]:
    nodes: dict[NodeKey, bytes] = {}
    for e in entries:
        for level, at, value in frontier.append(merkle.leaf_hash(e.record)):
            nodes[(level, at)] = value
    return nodes


class TestAuditStore:
    async def test_empty(self, audit_store: AuditStore) -> None:
        assert await audit_store.size() == 0
        assert await audit_store.last_seq() == 0
        assert await audit_store.entries(0, 10) == []
        assert await audit_store.checkpoints() == []

    async def test_append_and_read_back(self, audit_store: AuditStore) -> None:
        frontier = merkle.Frontier()
        first = [entry(i) for i in range(5)]
        await audit_store.append(first, grow(frontier, first))
        more = [entry(i) for i in range(5, 7)]
        await audit_store.append(more, grow(frontier, more))
        assert await audit_store.size() == 7
        assert await audit_store.last_seq() == 7
        assert await audit_store.entries(2, 5) == first[2:5]
        assert await audit_store.entries(5, 100) == more
        # The perfect subtrees an append completed, and the leaves.
        nodes = await audit_store.nodes([(0, 6), (2, 0), (1, 2), (2, 1), (3, 0)])
        assert set(nodes) == {(0, 6), (2, 0), (1, 2)}
        leaves = [merkle.leaf_hash(e.record) for e in first + more]
        assert nodes[(2, 0)] == merkle.root_of(leaves[:4])
        assert nodes[(1, 2)] == merkle.root_of(leaves[4:6])

    async def test_an_append_at_the_wrong_index_is_refused_and_leaves_nothing(
        self, audit_store: AuditStore
    ) -> None:
        frontier = merkle.Frontier()
        await audit_store.append([entry(0)], grow(frontier, [entry(0)]))
        with pytest.raises(AppendConflict):
            await audit_store.append([entry(0)], {})  # another sealer got there first
        with pytest.raises(AppendConflict):
            await audit_store.append([entry(5)], {})
        assert await audit_store.size() == 1
        assert await audit_store.entries(0, 10) == [entry(0)]

    async def test_search(self, audit_store: AuditStore) -> None:
        rows = [
            entry(0, actor="t:alice", resource="photos/a.jpg"),
            entry(1, actor="t:bob", resource="photos/b.jpg"),
            entry(2, actor="t:alice", resource="photos"),
            entry(3, actor="t:alice", resource="photosynthesis/x"),
            entry(4, actor="t:bob", resource="docs/100%_done"),
        ]
        await audit_store.append(rows, grow(merkle.Frontier(), rows))

        async def found(**kw: object) -> list[int]:
            return [e.index for e in await audit_store.search(AuditQuery(**kw))]  # type: ignore[arg-type]

        assert await found() == [0, 1, 2, 3, 4]
        assert await found(actor="t:alice") == [0, 2, 3]
        assert await found(resource="photos") == [0, 1, 2]  # a prefix of path segments
        assert await found(resource="photos/") == [0, 1, 2]
        assert await found(term="b.jpg") == [1]
        assert await found(term="100%_") == [4]  # no wildcards in a term
        assert await found(term="100%x") == []
        assert await found(since=1001.0, until=1003.0) == [1, 2]
        assert await found(actor="t:alice", after=0, limit=1) == [2]
        assert await found(actor="t:alice", after=2, limit=5) == [3]

    async def test_checkpoints(self, audit_store: AuditStore) -> None:
        await audit_store.put_checkpoint(3, "three")
        await audit_store.put_checkpoint(1, "one")
        await audit_store.put_checkpoint(3, "three again")
        assert await audit_store.checkpoints() == [(1, "one"), (3, "three again")]

    async def test_prune_drops_old_entries_but_keeps_the_tree(
        self, audit_store: AuditStore
    ) -> None:
        rows = [entry(i) for i in range(6)]
        nodes = grow(merkle.Frontier(), rows)
        await audit_store.append(rows, nodes)
        try:
            dropped = await audit_store.prune(4)
        except StorageError:
            pytest.skip("this store keeps every entry (append-only)")
        assert dropped == 4
        assert await audit_store.entries(0, 10) == rows[4:]
        assert await audit_store.size() == 6 and await audit_store.last_seq() == 6
        assert await audit_store.nodes(list(nodes)) == nodes  # proofs can still be made
        assert [e.index for e in await audit_store.search(AuditQuery())] == [4, 5]
        # The newest entry always stays: the log's size and last serial live in it.
        assert await audit_store.prune(100) == 1
        assert await audit_store.entries(0, 10) == rows[5:]
        more = [entry(6)]
        await audit_store.append(more, {})
        assert await audit_store.size() == 7
