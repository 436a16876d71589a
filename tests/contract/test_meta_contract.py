"""The MetaStore contract, run against every installed meta store (see conftest)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.schema import CreateIndex, CreateTable

from dolium.backends.meta_sql.schema import metadata
from dolium.backends.meta_sqlite import SqliteMetaStore
from dolium.errors import ConfigError
from dolium.model import MultipartUpload
from dolium.testing.meta_contract import (
    TestAccountData,
    TestAccounts,
    TestBlockRefs,
    TestBuckets,
    TestConcurrency,
    TestConditions,
    TestConfigEpoch,
    TestContainers,
    TestIdentityPolicies,
    TestJobLeases,
    TestListObjects,
    TestListVersions,
    TestPaths,
    TestQuotas,
    TestReferences,
    TestUntil,
    TestUploads,
    TestUsage,
    TestVersions,
)
from dolium.testing.meta_contract_changes import TestChangeLog
from dolium.testing.meta_contract_objects import extents, make_bucket, version

# Module names start with a digit, as Alembic's revision files do.
_MIGRATIONS = "dolium.backends.meta_sql.migrations.versions."
# Applied in order: each revision's upgrade().
REVISIONS: list[Callable[[], None]] = [
    importlib.import_module(_MIGRATIONS + name).upgrade
    for name in (
        "0001_initial",
        "0002_attributes",
        "0003_containers",
        "0004_changes",
        "0005_blocks",
        "0006_one_latest",
        "0007_config_epoch",
        "0008_identity_policies",
        "0009_job_leases",
        "0010_config_notify",
    )
]
_blocks = importlib.import_module(_MIGRATIONS + "0005_blocks")
# Columns added in place (ALTER TABLE ... ADD COLUMN) by a revision after the
# one that last created their table, as (table, column, PostgreSQL type).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = tuple(
    (t, "policy", "VARCHAR(64) DEFAULT 'standard' NOT NULL") for t in _blocks.POLICY_TABLES
)


__all__ = [
    "TestAccountData",
    "TestAccounts",
    "TestBlockRefs",
    "TestBuckets",
    "TestChangeLog",
    "TestConcurrency",
    "TestConditions",
    "TestConfigEpoch",
    "TestContainers",
    "TestIdentityPolicies",
    "TestJobLeases",
    "TestListObjects",
    "TestListVersions",
    "TestQuotas",
    "TestPaths",
    "TestReferences",
    "TestUntil",
    "TestUploads",
    "TestUsage",
    "TestVersions",
]


# -- SQLite: checks of this implementation beyond the contract ------------------------


async def test_sqlite_migration_creates_exactly_the_schema(tmp_path: Path) -> None:
    store = await SqliteMetaStore.open(path=str(tmp_path / "migrated.sqlite3"))
    await store.close()
    reference = sa.create_engine(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    metadata.create_all(reference)
    reference.dispose()
    assert _ddl(tmp_path / "migrated.sqlite3") == _ddl(tmp_path / "reference.sqlite3")


def _ddl(path: Path) -> set[tuple[str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT type, name, sql FROM sqlite_master"
            " WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'alembic%'"
        ).fetchall()
    return {(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows}


async def test_sqlite_reopen_keeps_data_and_settings(tmp_path: Path) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = await SqliteMetaStore.open(path=path)
    await make_bucket(store, "b1")
    stored = await store.put_version(version("b1", "k", "v1"))
    await store.close()
    store = await SqliteMetaStore.open(path=path)  # migrations are applied once
    try:
        assert await store.get_version("b1", "k") == stored

        def read_pragmas(conn: sa.Connection) -> list[Any]:
            try:
                return [
                    conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys")
                ]
            finally:
                conn.rollback()

        pragmas = await store._writer.call(read_pragmas)  # the write path's own settings
        assert pragmas == ["wal", 2, 1]  # 2 = FULL
    finally:
        await store.close()


async def test_sqlite_open_reports_a_bad_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        await SqliteMetaStore.open(path=str(tmp_path / "missing" / "meta.sqlite3"))
    with pytest.raises(ConfigError, match="is a directory"):
        await SqliteMetaStore.open(path=str(tmp_path))


async def test_sqlite_queries_use_their_indexes(tmp_path: Path) -> None:
    """Listings are range scans of the right index, with no sort: cost follows `limit`."""
    store = await SqliteMetaStore.open(path=str(tmp_path / "meta.sqlite3"))
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    try:
        await make_bucket(store, "b1")
        await store.put_version(version("b1", "k", "v1"))
        await store.create_upload(MultipartUpload("b1", "k", "u1", 1.0, "t1"))
        sa.event.listen(store._readers.engine, "before_cursor_execute", record)
        await store.list_objects("b1", prefix="a", start_after="ab")
        await store.list_versions("b1", prefix="k", after=("k", 5))
        await store.get_version("b1", "k")
        await store.get_version("b1", "k", "v1")
        await store.list_uploads("b1", after_key="k", after_upload_id="u1")
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "meta.sqlite3")) as db:
        plans = [
            " / ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]
    expected = [
        "ix_versions_listing",
        "ix_versions_bucket_key_serial",
        "ix_versions_bucket_key_serial",
        "uq_versions_bucket_version_id_key",
        "ix_uploads_bucket_key_serial",
    ]
    assert len(plans) == len(expected)
    for plan, index in zip(plans, expected, strict=True):
        assert f"USING INDEX {index}" in plan or f"COVERING INDEX {index}" in plan, plan
        assert "SCAN versions" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan


_WRITER = """
import asyncio, sys
from dolium.backends.meta_sqlite import SqliteMetaStore
from dolium.errors import PreconditionFailed
from dolium.model import ObjectVersion
from dolium.conditions import WriteCondition

async def main(path, name):
    store = await SqliteMetaStore.open(path=path)
    won = []
    for n in range(40):
        try:
            await store.put_version(
                ObjectVersion("b1", f"k{n}", name), WriteCondition(if_none_match=True)
            )
            won.append(n)
        except PreconditionFailed:
            pass
    await store.close()
    print(" ".join(map(str, won)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_sqlite_if_none_match_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "meta.sqlite3")
    store = await SqliteMetaStore.open(path=path)
    await make_bucket(store, "b1")
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WRITER, path, f"p{i}", stdout=asyncio.subprocess.PIPE
        )
        for i in range(3)
    ]
    outputs = [(await p.communicate())[0].decode().split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    won = sorted(int(n) for out in outputs for n in out)
    assert won == list(range(40))  # each key created exactly once
    listed = await store.list_versions("b1", limit=1000)
    await store.close()
    assert len(listed) == 40


def test_migrations_match_the_schema_on_postgresql() -> None:
    """The migrations' PostgreSQL DDL gives the schema (no server needed: offline mode).

    The script is played forward on a model of the database's tables and
    indexes: what a later revision drops is gone, and a table changed in
    place (ALTER) must be dropped and created anew by a later revision.
    """
    out = io.StringIO()
    context = MigrationContext.configure(
        dialect_name="postgresql", opts={"as_sql": True, "output_buffer": out}
    )
    with Operations.context(context):
        for upgrade in REVISIONS:
            upgrade()
    tables: dict[str, str] = {}
    indexes: dict[str, tuple[str, str]] = {}
    added: dict[str, list[str]] = {}
    altered: set[str] = set()
    for statement in _statements(out.getvalue(), ordered=True):
        words = statement.split()
        if statement.startswith("CREATE TABLE") and words[3] == "(":
            tables[words[2]] = statement
            added.pop(words[2], None)
            altered.discard(words[2])
        elif statement.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX")):
            name = words[words.index("INDEX") + 1]
            indexes[name] = (words[words.index("ON") + 1], statement)
        elif statement.startswith("DROP TABLE"):
            tables.pop(words[2], None)
            added.pop(words[2], None)
            indexes = {n: (t, s) for n, (t, s) in indexes.items() if t != words[2]}
        elif statement.startswith("DROP INDEX"):
            indexes.pop(words[2], None)
        elif statement.startswith("ALTER TABLE") and words[3:5] == ["ADD", "COLUMN"]:
            added.setdefault(words[2], []).append(statement)
        elif statement.startswith("ALTER TABLE"):
            altered.add(words[2])
    assert not altered & set(tables), (
        "tables changed in place, other than by added columns, must be rebuilt"
    )
    dialect = PGDialect()  # type: ignore[no-untyped-call]
    created: list[str] = []
    alters: list[str] = []
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        for name, column, kind in ADDED_COLUMNS:
            if name == table.name:
                ddl = ddl.replace(f", \n\t{column} {kind}", "")
                alters.append(f"ALTER TABLE {name} ADD COLUMN {column} {kind}")
        created.append(ddl)
    created += [
        str(CreateIndex(i).compile(dialect=dialect))
        for t in metadata.sorted_tables
        for i in t.indexes
    ]
    found = [*tables.values(), *(s for _, s in indexes.values())]
    assert sorted(found) == _statements(";".join(created))
    assert sorted(s for made in added.values() for s in made) == sorted(alters)


def _statements(script: str, *, ordered: bool = False) -> list[str]:
    found = [" ".join(s.split()) for s in script.split(";") if s.strip()]
    return found if ordered else sorted(found)


# -- SQLite: block references of a data directory written before they existed ---------


async def test_sqlite_upgrade_counts_the_references_already_stored(tmp_path: Path) -> None:
    from alembic import command

    from dolium.backends.meta_sql.codec import pack_extents
    from dolium.backends.meta_sql.migrate import config
    from dolium.model import BlockRef, Extent
    from dolium.testing.meta_contract_objects import digest

    path = tmp_path / "meta.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(config(conn), "0002")
        conn.execute(
            sa.text(
                "INSERT INTO buckets (name, owner, created, region, versioning, object_lock,"
                " block_size, hash_algorithm) VALUES ('b1', 't1', 1, '', '', 0, 4194304, 'sha256')"
            )
        )
        for n, blocks in enumerate(((1, 2, 2), (2, 3))):
            packed = pack_extents([Extent(digest(d), 10) for d in blocks])
            conn.execute(
                sa.text(
                    "INSERT INTO versions (bucket, key, version_id, is_latest, delete_marker,"
                    " size, etag, modified, owner, content_type, extents, checksum_type)"
                    " VALUES ('b1', :k, 'v1', 1, 0, 10, 'e', 1, 't1', 'x', :x, '')"
                ),
                {"k": f"k{n}".encode(), "x": packed},
            )
        conn.execute(
            sa.text(
                "INSERT INTO uploads (bucket, upload_id, key, initiated, owner, content_type,"
                " checksum_algorithm, checksum_type) VALUES ('b1', 'up1', :k, 1, 't1', 'x', '', '')"
            ),
            {"k": b"m"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO parts (bucket, upload_id, number, size, etag, modified, extents)"
                " VALUES ('b1', 'up1', 1, 10, 'e', 1, :x)"
            ),
            {"x": pack_extents([Extent(digest(3), 10), Extent(digest(4), 10)])},
        )
    engine.dispose()

    store = await SqliteMetaStore.open(path=str(path))  # upgraded in place
    try:
        stored = await store.get_version("b1", "k0")
        assert stored is not None and stored.policy == "standard"
        assert [p.policy for p in await store.list_parts("b1", "up1")] == ["standard"]
        claim = {"now": 10.0, "stale_before": 0.0, "limit": 100}
        assert await store.claim_garbage(**claim) == []
        await store.delete_version("b1", "k0", "v1")
        await store.abort_upload("b1", "up1")
        found = set(await store.claim_garbage(**claim))
        assert found == {BlockRef("standard", digest(1)), BlockRef("standard", digest(4))}
    finally:
        await store.close()


async def test_sqlite_garbage_is_found_through_its_own_index(tmp_path: Path) -> None:
    """The collector's query reads only unreferenced blocks: its cost follows the garbage."""
    store = await SqliteMetaStore.open(path=str(tmp_path / "meta.sqlite3"))
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        if sql.startswith("SELECT"):
            statements.append((sql, params))

    try:
        await make_bucket(store, "b1")
        await store.put_version(version("b1", "k", "v1", extents=extents(1, 2)))
        sa.event.listen(store._writer.engine, "before_cursor_execute", record)
        await store.claim_garbage(now=10.0, stale_before=0.0, limit=100)
    finally:
        await store.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "meta.sqlite3")) as db:
        [(sql, params)] = statements
        plan = " / ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    # A scan of the partial index, which holds only blocks with no reference;
    # leases are looked up by key.
    assert "SCAN block_refs USING INDEX ix_block_refs_garbage" in plan, plan
    assert "SEARCH block_leases USING" in plan, plan
