"""The AuditStore contract against every audit store, and what persists in the SQLite one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dolium.backends.audit_files import FileAuditStore
from dolium.backends.audit_memory import MemoryAuditStore
from dolium.backends.audit_postgres import PostgresAuditStore
from dolium.backends.audit_sqlite import SqliteAuditStore
from dolium.core.audit import merkle
from dolium.errors import AppendConflict
from dolium.protocols.audit import AuditStore
from dolium.testing.audit_contract import TestAuditStore, entry, grow
from support.postgres import postgres

__all__ = ["TestAuditStore"]


async def _open(name: str, tmp_path: Path) -> AuditStore:
    if name == "memory":
        return MemoryAuditStore()
    if name == "sqlite":
        return SqliteAuditStore(tmp_path / "audit.db")
    if name == "files":
        return await FileAuditStore.open(root=str(tmp_path / "audit"))
    return await PostgresAuditStore.open(dsn=postgres().database(str(tmp_path)))


@pytest.fixture(params=["memory", "sqlite", "postgres", "files"])
async def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuditStore]:
    store = await _open(request.param, tmp_path)
    yield store
    await store.close()


async def test_two_postgres_sealers_never_interleave(tmp_path: Path) -> None:
    first, second = await _open("postgres", tmp_path), await _open("postgres", tmp_path)
    try:
        rows = [entry(i) for i in range(3)]
        await first.append(rows, grow(merkle.Frontier(), rows))
        with pytest.raises(AppendConflict):
            await second.append([entry(0)], {})
        assert await second.size() == 3 and await second.entries(0, 3) == rows
    finally:
        await first.close()
        await second.close()


async def test_sqlite_keeps_everything_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteAuditStore(path)
    rows = [entry(i) for i in range(9)]
    nodes = grow(merkle.Frontier(), rows)
    await store.append(rows, nodes)
    await store.put_checkpoint(9, "note")
    await store.close()
    again = SqliteAuditStore(path)
    try:
        assert await again.size() == 9 and await again.last_seq() == 9
        assert await again.entries(0, 9) == rows
        assert await again.nodes(list(nodes)) == nodes
        assert await again.checkpoints() == [(9, "note")]
    finally:
        await again.close()


async def test_files_cut_off_an_append_a_crash_left_half_done(tmp_path: Path) -> None:
    root = tmp_path / "audit"
    store = await FileAuditStore.open(root=str(root))
    frontier = merkle.Frontier()
    rows = [entry(i) for i in range(5)]
    await store.append(rows, grow(frontier, rows))
    # A process died in its next append: data written, the size never committed.
    for name in ("entries.log", "entries.idx", "nodes-0.bin", "nodes-1.bin"):
        with open(root / name, "ab") as f:
            f.write(b"\x01" * 40)
    again = await FileAuditStore.open(root=str(root))
    assert await again.size() == 5 and await again.entries(0, 10) == rows
    more = [entry(i) for i in range(5, 8)]
    await again.append(more, grow(frontier, more))
    assert await again.entries(0, 10) == rows + more
    leaves = [merkle.leaf_hash(e.record) for e in rows + more]
    assert (await again.nodes([(3, 0)]))[(3, 0)] == merkle.root_of(leaves)
    # Files only ever grew, by whole entries: the log of 5 is a prefix of the log of 8.
    assert (root / "nodes-0.bin").stat().st_size == 8 * merkle.HASH_SIZE
