"""The SQLite meta store commits leases without waiting for the disk, and
everything else durably.

What SQLite itself executes is traced on the writer's connection (its own
trace hook, no stand-in): the synchronous level in force at each COMMIT is
the one that commit was made with. In WAL mode, NORMAL commits without an
fsync; FULL syncs the log first.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection

from dolium.backends.meta_sqlite import SqliteMetaStore
from dolium.model import BlockRef
from dolium.testing.meta_contract_objects import digest, make_bucket

_LEVEL = re.compile(r"PRAGMA synchronous\s*=\s*(\w+)", re.IGNORECASE)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteMetaStore]:
    opened = await SqliteMetaStore.open(path=str(tmp_path / "meta.sqlite3"))
    yield opened
    await opened.close()


async def _trace(store: SqliteMetaStore) -> list[str]:
    """Every statement SQLite runs on the writer connection from now on."""
    statements: list[str] = []

    def trace(conn: Connection) -> None:
        conn.connection.driver_connection.set_trace_callback(statements.append)

    await store._writer.call(trace)
    return statements


def _commit_levels(statements: list[str]) -> list[str]:
    level, levels = "FULL", []
    for statement in statements:
        if match := _LEVEL.match(statement.strip()):
            level = match.group(1).upper()
        elif statement.strip().upper() == "COMMIT":
            levels.append(level)
    return levels


async def test_a_lease_commits_without_a_sync_and_the_next_write_with_one(
    store: SqliteMetaStore,
) -> None:
    statements = await _trace(store)
    ref = BlockRef("default", digest(1))

    assert await store.lease_blocks({ref}, "w1", now=1.0, until=100.0) == set()
    assert _commit_levels(statements) == ["NORMAL"]

    await make_bucket(store, "b1")
    assert _commit_levels(statements) == ["NORMAL", "FULL"]

    # The level changed back: a write after a lease is durable again.
    assert await store.lease_blocks({ref}, "w1", now=2.0, until=200.0) == set()
    assert await store.claim_garbage(now=300.0, stale_before=0.0, limit=10) == [ref]
    assert _commit_levels(statements) == ["NORMAL", "FULL", "NORMAL", "FULL"]


async def test_a_lease_still_keeps_its_block_from_the_collector(store: SqliteMetaStore) -> None:
    ref = BlockRef("default", digest(2))
    await store.lease_blocks({ref}, "w1", now=1.0, until=100.0)
    assert await store.claim_garbage(now=50.0, stale_before=0.0, limit=10) == []
    assert await store.claim_garbage(now=150.0, stale_before=0.0, limit=10) == [ref]
