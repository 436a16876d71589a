"""The AuditStore contract against every audit store, and what persists in the SQLite one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dolium.backends.audit_memory import MemoryAuditStore
from dolium.backends.audit_sqlite import SqliteAuditStore
from dolium.core.audit import merkle
from dolium.protocols.audit import AuditStore
from dolium.testing.audit_contract import TestAuditStore, entry, grow

__all__ = ["TestAuditStore"]


@pytest.fixture(params=["memory", "sqlite"])
async def audit_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AuditStore]:
    store: AuditStore = (
        MemoryAuditStore() if request.param == "memory" else SqliteAuditStore(tmp_path / "audit.db")
    )
    yield store
    await store.close()


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
