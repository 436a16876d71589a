"""The SQLite meta store of a release 0002 data directory, after migration 0003.

What S3 cannot show: every bucket keeps its name as its global name, every
key with a version has a path record with its own UUID, and usage is
counted from the versions. The bytes themselves are checked through S3 in
tests/functional/test_upgrade.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dolium.backends.meta_sqlite import SqliteMetaStore
from dolium.model import ObjectVersion, Usage

ARCHIVE = Path(__file__).parents[1] / "functional" / "releases" / "release-0002.tar.gz"


async def _open_release(tmp_path: Path) -> SqliteMetaStore:
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    return await SqliteMetaStore.open(path=str(tmp_path / "data" / "meta.sqlite3"))


async def test_upgrade_keeps_names_and_makes_paths_and_usage(tmp_path: Path) -> None:
    store = await _open_release(tmp_path)
    try:
        buckets = await store.list_buckets()
        assert [(b.name, b.owner) for b in buckets] == [
            ("release-history", "root"),
            ("release-others", "other"),
            ("release-plain", "root"),
        ]
        assert len({b.id for b in buckets}) == 3
        uuids = set()
        keys = 0
        totals: dict[str, list[int]] = {}
        for bucket in buckets:
            everything = await store.list_versions(bucket.name, limit=10_000)
            current = await store.list_objects(bucket.name, limit=10_000)
            expected = Usage(sum(v.size for v in everything), len(current))
            assert await store.get_usage(bucket.name) == expected
            account = totals.setdefault(bucket.owner, [0, 0])
            account[0] += expected.bytes
            account[1] += expected.objects
            keys += len({v.key for v in everything})
            for key in {v.key for v in everything}:
                record = await store.get_path(bucket.name, key)
                assert record is not None
                uuids.add(record.uuid)
                assert len(record.uuid) == 36
                assert record.uuid[14] == "4"  # a version 4 UUID
        assert len(uuids) == keys
        for owner, (size, objects) in totals.items():
            assert (await store.get_account(owner)).usage == Usage(size, objects)
    finally:
        await store.close()


async def test_serials_are_not_reused_across_the_rebuild(tmp_path: Path) -> None:
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    db = tmp_path / "data" / "meta.sqlite3"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        # As if the newest version had been deleted: the release's sequence
        # stays above every serial left in the table.
        highest = conn.execute("SELECT MAX(serial) FROM versions").fetchone()[0]
        conn.execute("DELETE FROM versions WHERE serial = ?", (highest,))
        conn.commit()
    store = await SqliteMetaStore.open(path=str(db))
    try:
        put = await store.put_version(ObjectVersion("release-history", "after", "v-after"))
    finally:
        await store.close()
    assert put.serial == highest + 1


async def test_listing_at_a_time_seeks_each_key(tmp_path: Path) -> None:
    """list_objects_at walks ix_versions_bucket_key_serial, never a scan or a sort."""
    store = await _open_release(tmp_path)
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    try:
        sa.event.listen(store._readers.engine, "before_cursor_execute", record)
        found = await store.list_objects_at("release-history", 4_000_000_000.0)
    finally:
        await store.close()
    assert [v.key for v in found] == ["back", "big", "doc"]
    with contextlib.closing(sqlite3.connect(tmp_path / "data" / "meta.sqlite3")) as db:
        for sql, params in statements:
            plan = " / ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "USING INDEX ix_versions_bucket_key_serial" in plan, plan
            assert "SCAN versions" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan
