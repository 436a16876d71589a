"""Contract suite for BlobStore implementations, shipped for plugin authors.

Import the tests into a test module and provide a `blob` fixture that yields
an open, empty store:

    from dolium.testing.blob_contract import *  # noqa: F403

    @pytest.fixture(params=installed_blob_stores())
    async def blob(request, tmp_path):
        store = await open_blob_store(request.param, tmp_path)
        yield store
        await store.close()

The tests use the real clock: a store stamps blocks with ``time.time()``.
They sleep a few milliseconds where a block must be older than a cutoff,
and never assert on how long anything takes.

This module must not depend on any particular back end: it reaches stores
only through the protocol and the "dolium.blob" entry points.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import time
from collections.abc import Awaitable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from dolium import errors
from dolium.protocols.blob import BlobStore

__all__ = [
    "installed_blob_stores",
    "open_blob_store",
    "test_concurrent_puts_of_one_block_all_succeed",
    "test_delete_absent_is_false",
    "test_delete_old_block",
    "test_delete_racing_writers_never_loses_a_relied_block",
    "test_delete_refused_after_touch_newer_than_cutoff",
    "test_delete_refused_for_block_put_after_cutoff",
    "test_delete_then_writer_touch_fails_and_put_restores",
    "test_empty_block",
    "test_get_absent_raises_block_not_found",
    "test_large_block",
    "test_missing",
    "test_put_existing_refreshes_time",
    "test_put_get_roundtrip",
    "test_put_is_idempotent",
    "test_scan_lists_every_block_once_with_its_time",
    "test_touch",
    "test_writer_touch_then_delete_is_refused",
]

MiB = 1024 * 1024
# Long enough for two successive clock readings to differ on any system.
TICK = 0.02


def installed_blob_stores() -> list[str]:
    """Names of every installed "dolium.blob" entry point."""
    return sorted(ep.name for ep in entry_points(group="dolium.blob"))


async def open_blob_store(name: str, workdir: Path) -> BlobStore:
    """Open the store registered as `name`, giving it a directory if it takes one."""
    cls: Any = entry_points(group="dolium.blob")[name].load()
    params = inspect.signature(cls.open).parameters
    if "root" in params:
        store: BlobStore = await cls.open(root=str(workdir / f"blob-{name}"))
    else:
        store = await cls.open()
    return store


def block(seed: int | str, size: int = 64) -> tuple[bytes, bytes]:
    """A deterministic block and its SHA-256 digest."""
    data = hashlib.shake_256(str(seed).encode()).digest(size) if size else b""
    return hashlib.sha256(data).digest(), data


async def rely_on(store: BlobStore, digest: bytes, data: bytes) -> None:
    """What a writer does before committing metadata that references a block."""
    if not await store.touch(digest):
        await store.put(digest, data)


async def times(store: BlobStore) -> dict[bytes, float]:
    return {d: t async for d, t in store.scan()}


async def test_put_get_roundtrip(blob: BlobStore) -> None:
    digest, data = block("roundtrip", 1000)
    await blob.put(digest, data)
    assert await blob.get(digest) == data


async def test_get_absent_raises_block_not_found(blob: BlobStore) -> None:
    digest, _ = block("absent")
    with pytest.raises(errors.BlockNotFound):
        await blob.get(digest)


async def test_put_is_idempotent(blob: BlobStore) -> None:
    digest, data = block("twice")
    await blob.put(digest, data)
    await blob.put(digest, data)
    assert await blob.get(digest) == data
    assert [d async for d, _ in blob.scan()] == [digest]


async def test_put_existing_refreshes_time(blob: BlobStore) -> None:
    digest, data = block("refresh")
    await blob.put(digest, data)
    first = (await times(blob))[digest]
    await asyncio.sleep(TICK)
    cutoff = time.time()
    await asyncio.sleep(TICK)
    await blob.put(digest, data)
    second = (await times(blob))[digest]
    assert second > first
    assert second >= cutoff
    assert not await blob.delete(digest, unused_since=cutoff)
    assert await blob.get(digest) == data


async def test_concurrent_puts_of_one_block_all_succeed(blob: BlobStore) -> None:
    digest, data = block("together", 256 * 1024)
    await asyncio.gather(*(blob.put(digest, data) for _ in range(8)))
    assert await blob.get(digest) == data
    assert [d async for d, _ in blob.scan()] == [digest]


async def test_touch(blob: BlobStore) -> None:
    digest, data = block("touch")
    assert not await blob.touch(digest)
    await blob.put(digest, data)
    before = (await times(blob))[digest]
    await asyncio.sleep(TICK)
    assert await blob.touch(digest)
    assert (await times(blob))[digest] > before
    assert await blob.get(digest) == data


async def test_missing(blob: BlobStore) -> None:
    stored = [block(f"stored-{i}") for i in range(5)]
    absent = [block(f"absent-{i}")[0] for i in range(5)]
    for digest, data in stored:
        await blob.put(digest, data)
    asked = [d for d, _ in stored] + absent
    assert await blob.missing(asked) == set(absent)
    assert await blob.missing(iter(absent)) == set(absent)
    assert await blob.missing([]) == set()


async def test_scan_lists_every_block_once_with_its_time(blob: BlobStore) -> None:
    assert await times(blob) == {}
    start = time.time()
    stored = dict(block(f"scan-{i}") for i in range(120))
    for digest, data in stored.items():
        await blob.put(digest, data)
    end = time.time()
    seen = [(d, t) async for d, t in blob.scan()]
    assert sorted(d for d, _ in seen) == sorted(stored)
    # A little slack for stores that keep times at a coarser grain than floats.
    assert all(start - 0.01 <= t <= end + 0.01 for _, t in seen)


async def test_delete_old_block(blob: BlobStore) -> None:
    digest, data = block("old")
    keep, keep_data = block("keep")
    await blob.put(digest, data)
    await blob.put(keep, keep_data)
    await asyncio.sleep(TICK)
    assert await blob.delete(digest, unused_since=time.time())
    with pytest.raises(errors.BlockNotFound):
        await blob.get(digest)
    assert await blob.missing([digest, keep]) == {digest}
    assert not await blob.touch(digest)
    assert not await blob.delete(digest, unused_since=time.time())
    assert [d async for d, _ in blob.scan()] == [keep]
    assert await blob.get(keep) == keep_data


async def test_delete_absent_is_false(blob: BlobStore) -> None:
    assert not await blob.delete(block("never")[0], unused_since=time.time() + 60)


async def test_delete_refused_after_touch_newer_than_cutoff(blob: BlobStore) -> None:
    digest, data = block("touched")
    await blob.put(digest, data)
    await asyncio.sleep(TICK)
    cutoff = time.time()
    await asyncio.sleep(TICK)
    assert await blob.touch(digest)
    assert not await blob.delete(digest, unused_since=cutoff)
    assert await blob.get(digest) == data
    assert await blob.missing([digest]) == set()


async def test_delete_refused_for_block_put_after_cutoff(blob: BlobStore) -> None:
    cutoff = time.time()
    await asyncio.sleep(TICK)
    digest, data = block("fresh")
    await blob.put(digest, data)
    assert not await blob.delete(digest, unused_since=cutoff)
    assert await blob.get(digest) == data


async def test_writer_touch_then_delete_is_refused(blob: BlobStore) -> None:
    # The writer wins the race: its touch lands before the collector's delete.
    digest, data = block("writer-first")
    await blob.put(digest, data)
    await asyncio.sleep(TICK)
    cutoff = time.time()  # the collector's cutoff, fixed when it started
    await asyncio.sleep(TICK)
    await rely_on(blob, digest, data)
    assert not await blob.delete(digest, unused_since=cutoff)
    assert await blob.get(digest) == data


async def test_delete_then_writer_touch_fails_and_put_restores(blob: BlobStore) -> None:
    # The collector wins: the writer's touch fails, so it puts the block again.
    digest, data = block("collector-first")
    await blob.put(digest, data)
    await asyncio.sleep(TICK)
    cutoff = time.time()
    assert await blob.delete(digest, unused_since=cutoff)
    assert not await blob.touch(digest)
    await rely_on(blob, digest, data)
    assert await blob.get(digest) == data
    # And it is now young, so the same collection cannot take it again.
    assert not await blob.delete(digest, unused_since=cutoff)
    assert await blob.get(digest) == data


async def test_delete_racing_writers_never_loses_a_relied_block(blob: BlobStore) -> None:
    for round_ in range(5):
        stored = dict(block(f"race-{round_}-{i}", 512) for i in range(40))
        for digest, data in stored.items():
            await blob.put(digest, data)
        await asyncio.sleep(TICK)
        cutoff = time.time()
        relied = list(stored)[::2]
        jobs: list[Awaitable[object]] = [blob.delete(d, unused_since=cutoff) for d in stored]
        jobs += [rely_on(blob, d, stored[d]) for d in relied]
        # Interleave writers and deletes differently in each round.
        jobs = jobs[round_ % 2 :: 2] + jobs[1 - round_ % 2 :: 2]
        await asyncio.gather(*jobs)
        for digest in relied:
            assert await blob.get(digest) == stored[digest]
        assert not await blob.missing(relied)
        unrelied = [d for d in stored if d not in set(relied)]
        assert await blob.missing(unrelied) == set(unrelied)


async def test_large_block(blob: BlobStore) -> None:
    data = os.urandom(4 * MiB)
    digest = hashlib.sha256(data).digest()
    await blob.put(digest, data)
    assert await blob.get(digest) == data
    await blob.put(digest, data)
    assert await blob.get(digest) == data


async def test_empty_block(blob: BlobStore) -> None:
    digest, data = block("empty", 0)
    assert data == b""
    assert await blob.missing([digest]) == {digest}
    await blob.put(digest, data)
    assert await blob.get(digest) == b""
    assert await blob.missing([digest]) == set()
    assert [d async for d, _ in blob.scan()] == [digest]
