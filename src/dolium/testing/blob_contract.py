"""Contract suite for BlobStore implementations, shipped for plugin authors.

Import the tests into a test module and provide a `blob` fixture that yields
an open, empty store:

    from dolium.testing.blob_contract import *  # noqa: F403

    @pytest.fixture(params=installed_blob_stores())
    async def blob(request, tmp_path):
        store = await open_blob_store(request.param, tmp_path)
        yield store
        await store.close()

A blob store keeps no times: whether a block may be deleted is decided
from the meta store (see `dolium.testing.meta_contract`, TestBlockRefs).

This module must not depend on any particular back end: it reaches stores
only through the protocol and the "dolium.blob" entry points.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from dolium import errors
from dolium.protocols.blob import BlobStore, QuarantineStore

__all__ = [
    "installed_blob_stores",
    "open_blob_store",
    "test_capabilities_and_statistics",
    "test_close_twice",
    "test_concurrent_puts_of_one_block_all_succeed",
    "test_delete",
    "test_delete_absent_is_a_no_op",
    "test_empty_block",
    "test_get_absent_raises_block_not_found",
    "test_has",
    "test_large_block",
    "test_list_names_every_block_once",
    "test_put_after_delete_stores_again",
    "test_put_get_roundtrip",
    "test_put_is_idempotent",
    "test_quarantine_moves_aside_only_the_bytes_found",
]

MiB = 1024 * 1024


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


async def listed(store: BlobStore) -> list[bytes]:
    return sorted([d async for d in store.list()])


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
    assert await listed(blob) == [digest]


async def test_concurrent_puts_of_one_block_all_succeed(blob: BlobStore) -> None:
    digest, data = block("together", 256 * 1024)
    await asyncio.gather(*(blob.put(digest, data) for _ in range(8)))
    assert await blob.get(digest) == data
    assert await listed(blob) == [digest]


async def test_has(blob: BlobStore) -> None:
    stored = [block(f"stored-{i}") for i in range(5)]
    absent = [block(f"absent-{i}")[0] for i in range(5)]
    for digest, data in stored:
        await blob.put(digest, data)
    assert [await blob.has(d) for d, _ in stored] == [True] * 5
    assert [await blob.has(d) for d in absent] == [False] * 5


async def test_list_names_every_block_once(blob: BlobStore) -> None:
    assert await listed(blob) == []
    stored = dict(block(f"list-{i}") for i in range(120))
    for digest, data in stored.items():
        await blob.put(digest, data)
    assert await listed(blob) == sorted(stored)


async def test_delete(blob: BlobStore) -> None:
    digest, data = block("old")
    keep, keep_data = block("keep")
    await blob.put(digest, data)
    await blob.put(keep, keep_data)
    await blob.delete(digest)
    with pytest.raises(errors.BlockNotFound):
        await blob.get(digest)
    assert not await blob.has(digest)
    assert await blob.has(keep)
    assert await listed(blob) == [keep]
    assert await blob.get(keep) == keep_data


async def test_delete_absent_is_a_no_op(blob: BlobStore) -> None:
    digest, data = block("never")
    await blob.delete(digest)
    await blob.put(digest, data)
    await blob.delete(digest)
    await blob.delete(digest)
    assert await listed(blob) == []


async def test_put_after_delete_stores_again(blob: BlobStore) -> None:
    digest, data = block("again")
    await blob.put(digest, data)
    await blob.delete(digest)
    await blob.put(digest, data)
    assert await blob.get(digest) == data


async def test_capabilities_and_statistics(blob: BlobStore) -> None:
    assert all(isinstance(name, str) for name in blob.capabilities())
    digest, data = block("counted")
    await blob.put(digest, data)
    stats = await blob.statistics()
    assert all(isinstance(k, str) and isinstance(v, int | float) for k, v in stats.items())


async def test_close_twice(blob: BlobStore) -> None:
    digest, data = block("closing")
    await blob.put(digest, data)
    await blob.close()
    await blob.close()  # and the fixture closes it a third time


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
    assert not await blob.has(digest)
    await blob.put(digest, data)
    assert await blob.get(digest) == b""
    assert await blob.has(digest)
    assert await listed(blob) == [digest]


async def test_quarantine_moves_aside_only_the_bytes_found(blob: BlobStore) -> None:
    """A store that quarantines (QuarantineStore) moves a block aside only while it
    holds the bytes found bad; then the block is absent and a put stores it again."""
    if not isinstance(blob, QuarantineStore):
        pytest.skip("this store does not quarantine blocks")
    digest, data = block("quarantined", 1000)
    bad = data[:-1] + bytes([data[-1] ^ 1])
    await blob.put(digest, bad)
    assert not await blob.quarantine(digest, data)
    assert await blob.get(digest) == bad
    assert await blob.quarantine(digest, bad)
    assert not await blob.has(digest)
    assert await listed(blob) == []
    with pytest.raises(errors.BlockNotFound):
        await blob.get(digest)
    assert not await blob.quarantine(digest, bad)
    await blob.put(digest, data)
    assert await blob.get(digest) == data
