"""The PostgreSQL meta store beyond the contract: its schema on a real server,
byte order where the database collates otherwise, what the database itself
refuses, how it reports a full disk and a bad address, and writers racing
through separate connection pools."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from dolium.backends.meta_postgres import PostgresMetaStore
from dolium.backends.meta_sql.schema import metadata
from dolium.errors import ConfigError, StorageFull
from dolium.model import BlockRef, Tenant
from dolium.testing.meta_contract_objects import digest, make_bucket, version
from support.postgres import Postgres, postgres


@pytest.fixture
def server() -> Postgres:
    return postgres()


@pytest.fixture
async def store(server: Postgres) -> Any:
    opened = await PostgresMetaStore.open(dsn=server.database())
    yield opened
    await opened.close()


def _dsn_of(store: PostgresMetaStore) -> str:
    url = store._engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


_SCHEMA = """
SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
  SELECT format('%s.%s %s %s %s', table_name, column_name, data_type, is_nullable,
                coalesce(collation_name, '')) AS line
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'
  UNION ALL
  SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'alembic_version'
  UNION ALL
  SELECT format('%s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint
  WHERE connamespace = 'public'::regnamespace AND conname NOT LIKE 'alembic%'
) AS schema
"""


async def test_migrations_create_exactly_the_schema(server: Postgres, store: Any) -> None:
    reference = server.database()
    engine = create_async_engine(make_url(reference).set(drivername="postgresql+asyncpg"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    migrated = server.sql(_SCHEMA, _dsn_of(store))
    assert "uq_versions_latest" in migrated
    assert migrated == server.sql(_SCHEMA, reference)


async def test_reopen_and_concurrent_first_opens(server: Postgres) -> None:
    dsn = server.database()
    # Two processes starting together on a new database: one migrates, the other waits.
    first, second = await asyncio.gather(
        PostgresMetaStore.open(dsn=dsn), PostgresMetaStore.open(dsn=dsn)
    )
    await make_bucket(first, "b1")
    stored = await first.put_version(version("b1", "k", "v1"))
    await first.close()
    await second.close()
    again = await PostgresMetaStore.open(dsn=dsn)
    try:
        assert await again.get_version("b1", "k") == stored
    finally:
        await again.close()


async def test_names_listed_in_byte_order(store: Any) -> None:
    """Text sorts by bytes, whatever the database's collation (ICU en-US sorts
    "a" before "B" and ignores case first; bytes put "B" and "_" before "a")."""
    names = ["b", "B", "_x", "a", "Ab", "a-b", "ab", "é"]
    for name in names:
        await store.create_tenant(Tenant(name, f"id-{name}", name, "", 1.0))
        await make_bucket(store, f"bucket{name}", owner=name)
    byte_order = sorted(names, key=str.encode)
    assert [t.name for t in await store.list_tenants()] == byte_order
    assert [b.name for b in await store.list_buckets()] == [f"bucket{n}" for n in byte_order]


async def test_one_latest_version_is_enforced_by_the_database(server: Postgres, store: Any) -> None:
    await make_bucket(store, "b1")
    await store.put_version(version("b1", "k", "v1"))
    await store.put_version(version("b1", "k", "v2"))
    with pytest.raises(RuntimeError, match="uq_versions_latest"):
        server.sql("UPDATE versions SET is_latest = true", _dsn_of(store))


async def test_full_disk_is_storage_full(server: Postgres, store: Any) -> None:
    await make_bucket(store, "b1")
    # The error a full disk gives (SQLSTATE 53100), raised by the server itself.
    server.sql(
        "CREATE FUNCTION full_disk() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;"
        " CREATE TRIGGER full_disk BEFORE INSERT ON versions"
        " FOR EACH ROW EXECUTE FUNCTION full_disk()",
        _dsn_of(store),
    )
    with pytest.raises(StorageFull, match="could not extend file"):
        await store.put_version(version("b1", "k", "v1"))
    assert await store.get_version("b1", "k") is None


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u:p@127.0.0.1/db", "is not PostgreSQL"),
        ("postgresql://u:p@127.0.0.1:1", "no database named"),
    ],
)
async def test_bad_dsn_is_a_config_error(dsn: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        await PostgresMetaStore.open(dsn=dsn)


async def test_unreachable_server_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError, match="cannot use") as raised:
        await PostgresMetaStore.open(dsn="postgresql://me:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_wrong_database_is_a_config_error(server: Postgres) -> None:
    missing = make_url(server.database()).set(database="no_such_database_here")
    with pytest.raises(ConfigError, match="no_such_database_here"):
        await PostgresMetaStore.open(dsn=missing.render_as_string(hide_password=False))


async def test_deletes_and_writes_keep_one_latest(server: Postgres, store: Any) -> None:
    """Deleting versions (which promotes the newest remaining) while writing new
    ones, from two connection pools: the latest is always the newest."""
    peer = await PostgresMetaStore.open(dsn=_dsn_of(store))
    try:
        await make_bucket(store, "b1")
        for n in range(12):
            await store.put_version(version("b1", "k", f"old{n}"))
        stores = [store, peer]
        await asyncio.gather(
            *(stores[n % 2].delete_version("b1", "k", f"old{n}") for n in range(12)),
            *(stores[n % 2].put_version(version("b1", "k", f"new{n}")) for n in range(6)),
        )
        listed = await store.list_versions("b1")
        assert sorted(v.version_id for v in listed) == sorted(f"new{n}" for n in range(6))
        assert [v.is_latest for v in listed] == [True] + [False] * 5
        assert listed[0].serial == max(v.serial for v in listed)
    finally:
        await peer.close()


async def test_concurrent_updates_keep_each_others_fields(store: Any) -> None:
    peer = await PostgresMetaStore.open(dsn=_dsn_of(store))
    try:
        await make_bucket(store, "b1")
        stored = await store.put_version(version("b1", "k", "v1"))
        tagged = dataclasses.replace(stored, tags={"t": "1"})
        granted = dataclasses.replace(stored, acl='[{"g": 1}]')
        await asyncio.gather(
            *(store.update_version(tagged, {"tags"}) for _ in range(5)),
            *(peer.update_version(granted, {"acl"}) for _ in range(5)),
        )
        got = await store.get_version("b1", "k")
        assert got is not None
        assert (dict(got.tags), got.acl) == ({"t": "1"}, '[{"g": 1}]')
    finally:
        await peer.close()


async def test_a_lease_commits_without_waiting_for_the_wal_flush(store: Any) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(store._engine.sync_engine, "before_cursor_execute", record)
    try:
        await store.lease_blocks({BlockRef("default", digest(1))}, "w1", now=1.0, until=9.0)
        assert statements[0] == "SET LOCAL synchronous_commit = off"
        statements.clear()
        await make_bucket(store, "b1")
        assert statements and not any("synchronous_commit" in s for s in statements)
    finally:
        event.remove(store._engine.sync_engine, "before_cursor_execute", record)
    # For that transaction only: every pooled connection commits durably again.
    async with store._engine.connect() as conn:
        assert (await conn.exec_driver_sql("SHOW synchronous_commit")).scalar() == "on"


async def _until(condition: Any, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_the_epoch_is_read_once_then_learned_from_notifications(store: Any) -> None:
    peer = await PostgresMetaStore.open(dsn=_dsn_of(store))
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(peer._engine.sync_engine, "before_cursor_execute", seen)
    try:
        first = await peer.config_epoch()
        read = len(statements)
        # Known now: the next reads ask the database nothing.
        for _ in range(10):
            assert await peer.config_epoch() == first
        assert len(statements) == read
        # A change through another process reaches it by notification.
        await store.create_tenant(Tenant("t-notify", "canon-notify", "T"))
        assert await _until(lambda: peer._watch.known() is None)
        assert await peer.config_epoch() > first
    finally:
        event.remove(peer._engine.sync_engine, "before_cursor_execute", seen)
        await peer.close()


async def test_without_its_listening_connection_it_reads_the_epoch_every_time(
    server: Postgres, store: Any
) -> None:
    peer = await PostgresMetaStore.open(dsn=_dsn_of(store))
    try:
        assert await _until(lambda: peer._watch._conn is not None)
        first = await peer.config_epoch()
        assert peer._watch.known() == first
        listener = peer._watch._conn.get_server_pid()
        server.sql(f"SELECT pg_terminate_backend({listener})")
        assert await _until(lambda: peer._watch.known() is None)
        # Changes are seen at once meanwhile, read from the database.
        await store.create_tenant(Tenant("t-lost", "canon-lost", "T"))
        assert await peer.config_epoch() > first
        # And it listens again.
        assert await _until(lambda: peer._watch._conn is not None, seconds=10)
        assert peer._watch._conn.get_server_pid() != listener
    finally:
        await peer.close()
