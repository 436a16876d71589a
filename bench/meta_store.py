"""Meta store throughput: put_version and get_version ops/s, as the small-object path uses them.

Usage: python bench/meta_store.py [--n 3000] [--concurrency 32] [--store sqlite|memory] [--uvloop]
Prints one line per measurement. A program, not a test: it asserts nothing on time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.backends.meta_sqlite import SqliteMetaStore
from dolium.conditions import WriteCondition
from dolium.model import Bucket, Extent, ObjectVersion
from dolium.protocols.meta import MetaStore


def _version(n: int, prefix: str) -> ObjectVersion:
    return ObjectVersion(
        bucket="bench",
        key=f"{prefix}/object-{n:08d}",
        version_id="null",
        size=4096,
        etag=hashlib.md5(str(n).encode()).hexdigest(),
        modified=time.time(),
        owner="bench",
        extents=(Extent(hashlib.sha256(str(n).encode()).digest(), 4096),),
        meta={"origin": "bench"},
    )


async def _timed(label: str, n: int, calls: Any, concurrency: int) -> None:
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await calls(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {n / elapsed:>10.0f} ops/s  ({n} ops, {concurrency} tasks)")


async def run(store: MetaStore, n: int, concurrency: int) -> None:
    await store.create_bucket(Bucket("bench", "bench", time.time()))
    for c in (1, concurrency):
        await _timed(
            "put_version (new key)",
            n,
            lambda i, c=c: store.put_version(_version(i, f"c{c}")),
            c,
        )
        await _timed(
            "put_version (replace null version)",
            n,
            lambda i, c=c: store.put_version(_version(i, f"c{c}")),
            c,
        )
        await _timed(
            "put_version (if_none_match, new key)",
            n,
            lambda i, c=c: store.put_version(
                _version(i, f"n{c}"), WriteCondition(if_none_match=True)
            ),
            c,
        )
        await _timed("get_version (latest)", n, lambda i, c=c: store.get_version(
            "bench", f"c{c}/object-{i:08d}"), c)  # fmt: skip
    await _timed("list_objects (1000 keys)", 50, lambda i: store.list_objects("bench"), 1)


def reference(path: Path, n: int) -> None:
    """The floor under put_version: plain sqlite3, same pragmas, same fsync per commit."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (serial INTEGER PRIMARY KEY AUTOINCREMENT, k BLOB, v BLOB)")
    db.execute("CREATE INDEX ix ON t (k, serial DESC)")
    start = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT serial FROM t WHERE k = ? ORDER BY serial DESC LIMIT 1", (b"%d" % i,))
        db.execute("INSERT INTO t (k, v) VALUES (?, ?)", (b"%d" % i, b"x" * 300))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    print(f"{'reference: sqlite3 sync, 1 txn per put':<44} {n / elapsed:>10.0f} ops/s  ({n} ops)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--uvloop", action="store_true", help="the event loop the server uses")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store == "sqlite":
            store: MetaStore = await SqliteMetaStore.open(path=str(Path(tmp) / "meta.sqlite3"))
        else:
            store = await MemoryMetaStore.open()
        print(f"meta store: {args.store}, loop: {type(asyncio.get_running_loop()).__module__}")
        try:
            await run(store, args.n, args.concurrency)
        finally:
            await store.close()
        if args.store == "sqlite":
            reference(Path(tmp) / "reference.sqlite3", args.n)


if __name__ == "__main__":
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
    asyncio.run(main())
