"""The first page of ListObjectsV2 (1000 keys) in buckets of 10k and of many keys.

Filling a million keys through HTTP would take longer than the whole bench,
so Dolium's buckets are filled offline, before its server starts, through
its own SQLite meta store: each key is written by the store's own put (the
very statements a PUT of a small inline object runs: the version row, its
path record, the usage counters and the change record), thousands of them
per transaction on the writer's connection instead of up to 64 per group.
The filled data directory is kept under the cache directory, keyed by a
hash of the meta store's code and the key counts, and copied for each run.

The server must then read it back: HEAD and GET of a few filled keys, and a
first page of exactly 1000 keys. The reference servers are filled over HTTP
(PUTs through the load generator), which is why they skip the big bucket.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

from harness import ROOT_KEY, ROOT_SECRET, Server
from loadgen import run_load
from smallops import figures, presigner

SMALL_BUCKET = "list-10k"
BIG_BUCKET = "list-big"
PAGE = 1000
BATCH = 20_000  # keys per transaction: big, while the WAL stays a few hundred MiB
SRC = Path(__file__).resolve().parent.parent / "src" / "dolium" / "backends" / "meta_sql"


def key_of(i: int) -> str:
    return f"k/{i:09d}"


def body_of(i: int) -> bytes:
    return f"object {i}\n".encode()


def _schema_tag() -> str:
    """A hash of the SQL meta store's code and migrations, and of this fill: a
    cached store made by other code is not reused."""
    digest = hashlib.sha256(Path(__file__).read_bytes())  # and of the fill itself
    for path in sorted(SRC.rglob("*.py")):
        digest.update(path.relative_to(SRC).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _version(bucket: str, i: int, now: float) -> Any:
    from dolium.core.accounts.service import ROOT_TENANT
    from dolium.model import ObjectVersion

    body = body_of(i)
    return ObjectVersion(
        bucket=bucket,
        key=key_of(i),
        version_id="null",
        size=len(body),
        etag=hashlib.md5(body).hexdigest(),
        modified=now,
        owner=ROOT_TENANT,
        inline=body,
    )


def _bulk(conn: Any, bucket: str, start: int, end: int, now: float) -> None:
    """Keys start..end-1 of `bucket`, all new, in one transaction on the writer's connection.

    The rows of SqlMetaStore._put for a key that has no version yet, made by
    the same statements and value builders, sent as executemany: the version
    (latest), its path record, the change record; the usage counters once for
    the whole batch. _put's other steps do nothing for a new key of an inline
    object (no version to demote, no block to count).
    """
    from dolium.backends.meta_sql import changelog, codec, store
    from dolium.backends.meta_sql.addresses import add_usage, resolve
    from dolium.model import SERVER, ChangeAction, version_change

    cid = resolve(conn, bucket)
    if cid is None:
        raise RuntimeError(f"no bucket {bucket!r} in the meta store")
    made = [_version(bucket, i, now) for i in range(start, end)]
    rows = []
    for v in made:
        values = codec.version_values(v, cid)
        values["is_latest"] = True
        rows.append(values)
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    conn.execute(store._INSERT_VERSION, rows)
    conn.execute(
        store._NEW_PATH,
        [{"bucket": cid, "key": v.key.encode(), "uuid": str(uuid.uuid4())} for v in made],
    )
    add_usage(conn, cid, sum(v.size for v in made), len(made))
    changes = [
        changelog._values(version_change(ChangeAction.OBJECT_PUT, v, SERVER, time.time()))
        for v in made
    ]
    conn.execute(changelog._INSERT, changes)
    conn.commit()


def _same_rows(conn: Any, bucket: str) -> None:
    """Raise unless key 1 (bulk) was stored as key 0 (the store's own put) was,
    column for column, but for what differs by key."""
    from dolium.backends.meta_sql.addresses import resolve
    from dolium.backends.meta_sql.schema import versions

    cid = resolve(conn, bucket)
    query = versions.select().where(
        versions.c.bucket == cid, versions.c.key.in_([b"k/000000000", b"k/000000001"])
    )
    rows = [r._asdict() for r in conn.execute(query.order_by(versions.c.key))]
    varying = {"serial", "key", "etag", "inline", "size", "data"}
    a, b = ({k: v for k, v in r.items() if k not in varying} for r in rows)
    if a != b:
        raise RuntimeError(f"the bulk fill wrote other rows than a put: {a} != {b}")


def _latest_serial(conn: Any) -> int:
    return int(conn.exec_driver_sql("SELECT max(serial) FROM changes").scalar() or 0)


async def _fill(data: Path, buckets: dict[str, int]) -> None:
    from dolium.backends.meta_sqlite import SqliteMetaStore
    from dolium.config_load import load_config
    from dolium.core.accounts.service import ROOT_TENANT, AccountService
    from dolium.core.jobs.delivery import CONSUMER as DELIVERY_CONSUMER
    from dolium.model import Bucket
    from dolium.plugins import open_meta

    config = load_config(None, {"DOLIUM_DATA": str(data)})
    meta = await open_meta(config)
    if not isinstance(meta, SqliteMetaStore):
        raise RuntimeError(f"the bench fills the SQLite meta store, not {type(meta).__name__}")
    try:
        await AccountService(meta, time.time).ensure_root(ROOT_KEY, ROOT_SECRET)
        for name, count in buckets.items():
            now = time.time()
            await meta.create_bucket(
                Bucket(name=name, owner=ROOT_TENANT, created=now, region="us-east-1")
            )
            # Key 0 through the store's own put, the reference for the others.
            await meta.put_version(_version(name, 0, now))
            for start in range(1, count, BATCH):
                end = min(count, start + BATCH)
                await meta._writer.call(partial(_bulk, bucket=name, start=start, end=end, now=now))
            await meta._writer.call(partial(_same_rows, bucket=name))
        # A server delivers events as changes are made; these buckets have no
        # notification configuration, so it would have passed over their
        # changes long ago. Left behind the cursor, a million of them would
        # keep a new server's delivery job busy through the first phases.
        latest = await meta._writer.call(_latest_serial)
        await meta.advance_cursor(DELIVERY_CONSUMER, latest)
    finally:
        await meta.close()


def filled_data_dir(
    cache: Path, workdir: Path, big_keys: int, small_keys: int = 10_000
) -> dict[str, Any]:
    """A copy in `workdir`/dolium of a data directory holding the two list buckets.

    Fills it into `cache` first unless a fill by the same meta store code is there.
    """
    tag = f"{_schema_tag()}-{small_keys}-{big_keys}"
    filled = cache / f"list-{tag}"
    info: dict[str, Any] = {"cache": str(filled), "small_keys": small_keys, "big_keys": big_keys}
    if not (filled / ".complete").exists():
        shutil.rmtree(filled, ignore_errors=True)
        for old in cache.glob("list-*"):  # fills by older code or of other sizes
            shutil.rmtree(old, ignore_errors=True)
        filled.mkdir(parents=True)
        t0 = time.perf_counter()
        asyncio.run(_fill(filled, {SMALL_BUCKET: small_keys, BIG_BUCKET: big_keys}))
        info["fill_seconds"] = round(time.perf_counter() - t0, 1)
        (filled / ".complete").write_text(f"{info['fill_seconds']}\n")
    else:
        info["fill_seconds"] = "cached"
    target = workdir / "dolium"
    t0 = time.perf_counter()
    shutil.copytree(filled, target, ignore=shutil.ignore_patterns(".complete"))
    info["copy_seconds"] = round(time.perf_counter() - t0, 1)
    return info


def check_filled(server: Server, big_keys: int) -> None:
    """Raise unless the server serves the filled keys as they were written."""
    client = server.client(0)
    for bucket, count in ((SMALL_BUCKET, 10_000), (BIG_BUCKET, big_keys)):
        for i in (0, count // 2, count - 1):
            head = client.head_object(Bucket=bucket, Key=key_of(i))
            if head["ContentLength"] != len(body_of(i)):
                raise RuntimeError(f"{bucket}/{key_of(i)}: HEAD says {head['ContentLength']} bytes")
        got = client.get_object(Bucket=bucket, Key=key_of(count - 1))["Body"].read()
        if got != body_of(count - 1):
            raise RuntimeError(f"{bucket}/{key_of(count - 1)}: GET returned {got[:40]!r}")


def fill_over_http(server: Server, bucket: str, count: int, seconds: float) -> dict[str, Any]:
    """PUT `count` small objects into `bucket` through the load generator (16 connections)."""
    presign = presigner(server)
    requests = [("PUT", presign("PUT", bucket, key_of(i)), body_of(i)) for i in range(count)]
    result = run_load(
        "127.0.0.1", server.port, requests, concurrency=16, count=count, seconds=seconds
    )
    if result.errors or result.ops != count:
        raise RuntimeError(
            f"filling {bucket}: {result.ops} of {count} PUTs succeeded ({result.first_error})"
        )
    return {"fill_seconds": round(result.seconds, 1), "fill_ops_per_s": round(result.ops_per_s)}


def first_page_latency(server: Server, bucket: str, calls: int) -> dict[str, Any]:
    """p50/p99 of `calls` first pages, one at a time on one kept-alive connection,
    after a few untimed ones; and how many keys the page held."""
    presign = presigner(server)
    target = presign("LIST", bucket, MaxKeys=PAGE)
    page = server.client(0).list_objects_v2(Bucket=bucket, MaxKeys=PAGE)
    keys = len(page.get("Contents", []))
    run_load("127.0.0.1", server.port, [("GET", target, b"")], concurrency=1, count=5)
    result = run_load(
        "127.0.0.1", server.port, [("GET", target, b"")], concurrency=1, count=calls, seconds=300
    )
    out = figures(result)
    out["keys_on_page"] = keys
    if keys != PAGE:
        out["errors"] += 1
        out["first_error"] = f"the first page held {keys} keys, not {PAGE}"
    return out
