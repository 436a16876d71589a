"""The AuditStore contract against every audit store, and what persists in the SQLite one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
    return await PostgresAuditStore.open(dsn=postgres().database(str(tmp_path)))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
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
