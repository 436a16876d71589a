"""The erasure module under lost, truncated and overwritten shares, and failing stores."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from dolium import errors
from dolium.backends.blob_fs import FsBlobStore
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.modules import erasure_shares
from dolium.modules.encrypt import EncryptStore
from dolium.modules.erasure import ErasureStore, share_name
from dolium.protocols.blob import BlobStore, BlockState, RedundantStore

K, M = 4, 2
DATA = hashlib.shake_256(b"erasure").digest(300_001)  # not a multiple of k
DIGEST = hashlib.sha256(DATA).digest()


class Refusing(MemoryBlobStore):
    """A store whose disk refuses writes, or every call."""

    def __init__(self, *, reads: bool = False) -> None:
        super().__init__()
        self.reads = reads

    async def put(self, digest: bytes, data: bytes) -> None:
        raise errors.StorageError("read-only file system")

    async def get(self, digest: bytes) -> bytes:
        if self.reads:
            raise errors.StorageError("input/output error")
        return await super().get(digest)


async def memory_store(**kwargs: int) -> tuple[ErasureStore, list[MemoryBlobStore]]:
    children = [MemoryBlobStore() for _ in range(K + M)]
    return await ErasureStore.open(stores=children, k=K, m=M, **kwargs), children


def drop(child: MemoryBlobStore, index: int) -> Callable[[], object]:
    return lambda: child._blocks.pop(share_name(DIGEST, index))


def damage(child: MemoryBlobStore, index: int, how: str) -> None:
    name = share_name(DIGEST, index)
    raw = child._blocks[name]
    if how == "deleted":
        del child._blocks[name]
    elif how == "truncated":
        child._blocks[name] = raw[: len(raw) // 2]
    elif how == "header":
        child._blocks[name] = raw[:5] + bytes([raw[5] ^ 1]) + raw[6:]
    else:  # a byte of the payload overwritten
        at = len(raw) - 7
        child._blocks[name] = raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


HOWS = ["deleted", "truncated", "header", "overwritten"]


@pytest.mark.parametrize("lost", [(0,), (5,), (0, 1), (2, 4), (4, 5), (1, 3)])
@pytest.mark.parametrize("how", HOWS)
async def test_up_to_m_lost_shares_read_back_and_heal(lost: tuple[int, ...], how: str) -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    for index in lost:
        damage(children[index], index, how)
    assert await store.verify(DIGEST) is BlockState.DEGRADED
    assert await store.get(DIGEST) == DATA
    # The read rebuilt what it found bad; a parity share it did not need to
    # read is rebuilt by a repair.
    assert await store.repair(DIGEST) is BlockState.OK
    assert await store.verify(DIGEST) is BlockState.OK
    for index, child in enumerate(children):
        share = erasure_shares.check(DIGEST, child._blocks[share_name(DIGEST, index)], K, M, index)
        assert share is not None


async def test_a_read_heals_the_data_shares_it_needed() -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    damage(children[1], 1, "overwritten")
    damage(children[3], 3, "deleted")
    assert await store.get(DIGEST) == DATA
    assert await store.verify(DIGEST) is BlockState.OK
    assert (await store.statistics())["healed_shares"] == 2


@pytest.mark.parametrize("how", HOWS)
async def test_m_plus_one_lost_is_an_error_never_wrong_bytes(how: str) -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    for index in (0, 2, 5):
        damage(children[index], index, how)
    with pytest.raises((errors.CorruptBlock, errors.BlockNotFound)):
        await store.get(DIGEST)
    assert await store.verify(DIGEST) is BlockState.LOST
    assert await store.repair(DIGEST) is BlockState.LOST


async def test_every_share_gone_is_block_not_found() -> None:
    store, _ = await memory_store()
    await store.put(DIGEST, DATA)
    await store.delete(DIGEST)
    with pytest.raises(errors.BlockNotFound):
        await store.get(DIGEST)
    assert not await store.has(DIGEST)
    assert [d async for d in store.list()] == []


async def test_has_needs_k_shares() -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    drop(children[0], 0)()
    drop(children[1], 1)()
    assert await store.has(DIGEST)
    drop(children[2], 2)()
    assert not await store.has(DIGEST)
    # Listed still: what is left is found, and collected once unreferenced.
    assert [d async for d in store.list()] == [DIGEST]


async def test_one_refusing_store_is_within_the_quorum() -> None:
    children: list[BlobStore] = [MemoryBlobStore() for _ in range(K + M - 1)]
    children.insert(2, Refusing())
    store = await ErasureStore.open(stores=children, k=K, m=M)
    await store.put(DIGEST, DATA)
    assert await store.get(DIGEST) == DATA
    assert await store.verify(DIGEST) is BlockState.DEGRADED
    assert (await store.statistics())["degraded_writes"] == 1


async def test_below_the_quorum_the_write_fails_and_leaves_nothing() -> None:
    healthy = [MemoryBlobStore() for _ in range(K)]
    children: list[BlobStore] = [*healthy, Refusing(), Refusing()]
    store = await ErasureStore.open(stores=children, k=K, m=M)
    with pytest.raises(errors.StorageUnavailable):
        await store.put(DIGEST, DATA)
    assert all(not c._blocks for c in healthy)
    assert not await store.has(DIGEST)
    # A quorum of K is met by the four that take writes.
    lenient = await ErasureStore.open(stores=children, k=K, m=M, write_quorum=K)
    await lenient.put(DIGEST, DATA)
    assert await lenient.get(DIGEST) == DATA


class Slow(MemoryBlobStore):
    """A store whose writes take a while in a worker thread, as the fs store's do:
    cancelling the caller does not stop the write."""

    def __init__(self, delay: float = 0.05) -> None:
        super().__init__()
        self.delay = delay
        self.started = threading.Event()

    async def put(self, digest: bytes, data: bytes) -> None:
        await asyncio.to_thread(self._slow_put, digest, data)

    def _slow_put(self, digest: bytes, data: bytes) -> None:
        self.started.set()
        time.sleep(self.delay)
        self._blocks[digest] = data


async def test_a_put_cancelled_below_the_quorum_still_deletes_its_shares() -> None:
    # The core cancels the puts of a write's other blocks when one fails; the
    # shares those puts store meanwhile must not stay behind.
    healthy = [Slow() for _ in range(K)]
    store = await ErasureStore.open(stores=[*healthy, Refusing(), Refusing()], k=K, m=M)
    put = asyncio.create_task(store.put(DIGEST, DATA))
    while not all(c.started.is_set() for c in healthy):
        await asyncio.sleep(0.001)
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put
    await asyncio.sleep(0.3)
    assert all(not c._blocks for c in healthy)


async def test_encrypt_opened_beside_another_opening_never_sees_half_a_key_check(
    tmp_path: Path,
) -> None:
    # Two processes of one server open `encrypt` over erasure coding together:
    # while one writes the key-check block share by share, the other must not
    # read it half-made (and take it for damage), nor write a second keyring.
    children = [Slow(0.0), Slow(0.2), Slow(0.4)]
    below = await ErasureStore.open(stores=children, k=2, m=1)
    ring = str(tmp_path / "ring.json")
    first = asyncio.create_task(EncryptStore.open([below], keyring=ring))
    while not children[0]._blocks:
        await asyncio.sleep(0.001)
    second = await EncryptStore.open([below], keyring=ring)
    assert (await first)._keys == second._keys


async def test_a_failed_write_keeps_shares_an_earlier_write_stored() -> None:
    healthy = [MemoryBlobStore() for _ in range(K + M)]
    store = await ErasureStore.open(stores=healthy, k=K, m=M)
    await store.put(DIGEST, DATA)
    broken = await ErasureStore.open(
        stores=[*healthy[:K], Refusing(), Refusing()], k=K, m=M, write_quorum=K + 1
    )
    with pytest.raises(errors.StorageUnavailable):
        await broken.put(DIGEST, DATA)
    assert await store.verify(DIGEST) is BlockState.OK


async def test_reads_go_on_when_stores_fail() -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    failing = [Refusing(reads=True), Refusing(reads=True)]
    for index, child in zip((1, 4), failing, strict=True):
        child._blocks = children[index]._blocks
    stores: list[BlobStore] = list(children)
    stores[1], stores[4] = failing
    degraded = ErasureStore(stores, K, M, K + 1)
    assert await degraded.get(DIGEST) == DATA
    assert await degraded.verify(DIGEST) is BlockState.DEGRADED
    damage(children[0], 0, "deleted")
    with pytest.raises(errors.StorageUnavailable):
        await degraded.get(DIGEST)


async def test_empty_and_small_blocks() -> None:
    store, children = await memory_store()
    for data in (b"", b"x", b"abc"):
        digest = hashlib.sha256(data).digest()
        await store.put(digest, data)
        children[0]._blocks.pop(share_name(digest, 0))
        assert await store.get(digest) == data


async def test_a_share_filed_under_another_block_or_index_is_refused() -> None:
    store, children = await memory_store()
    other = hashlib.sha256(b"other").digest()
    await store.put(DIGEST, DATA)
    await store.put(other, b"other")
    # Share 0 of `other` copied over share 0 of DIGEST; share 1 moved to index 2.
    children[0]._blocks[share_name(DIGEST, 0)] = children[0]._blocks[share_name(other, 0)]
    children[2]._blocks[share_name(DIGEST, 2)] = children[1]._blocks[share_name(DIGEST, 1)]
    assert await store.verify(DIGEST) is BlockState.DEGRADED
    assert await store.get(DIGEST) == DATA


async def test_open_refuses_a_layout_that_cannot_work() -> None:
    stores = [MemoryBlobStore() for _ in range(6)]
    for kwargs in ({"k": 4, "m": 1}, {"k": 0, "m": 6}, {"k": 4, "m": 2, "write_quorum": 3}):
        with pytest.raises(errors.ConfigError):
            await ErasureStore.open(stores=stores, **kwargs)
    with pytest.raises(errors.ConfigError):
        await ErasureStore.open(stores=[stores[0]] * 6, k=4, m=2)


async def test_statistics_and_capabilities() -> None:
    store, _ = await memory_store()
    assert isinstance(store, RedundantStore)
    await store.put(DIGEST, DATA)
    await store.get(DIGEST)
    stats = await store.statistics()
    assert (stats["k"], stats["m"], stats["write_quorum"], stats["puts"]) == (K, M, K + 1, 1)
    assert "erasure" in store.capabilities()


# -- on disk ---------------------------------------------------------------------------


@pytest.fixture
async def on_disk(tmp_path: Path) -> AsyncIterator[tuple[ErasureStore, list[Path]]]:
    roots = [tmp_path / f"d{i}" for i in range(K + M)]
    children = [await FsBlobStore.open(str(r)) for r in roots]
    store = await ErasureStore.open(stores=children, k=K, m=M)
    yield store, roots
    await store.close()


def share_file(root: Path, index: int) -> Path:
    name = share_name(DIGEST, index).hex()
    return root / name[0:2] / name[2:4] / name


async def test_on_disk_faults_are_read_through_and_repaired(
    on_disk: tuple[ErasureStore, list[Path]],
) -> None:
    store, roots = on_disk
    await store.put(DIGEST, DATA)
    share_file(roots[0], 0).unlink()
    with share_file(roots[3], 3).open("r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 1]))
    assert await store.verify(DIGEST) is BlockState.DEGRADED
    assert await store.get(DIGEST) == DATA
    assert await store.verify(DIGEST) is BlockState.OK
    os.truncate(share_file(roots[5], 5), 10)
    share_file(roots[4], 4).unlink()
    assert await store.repair(DIGEST) is BlockState.OK
    share_file(roots[1], 1).unlink()
    share_file(roots[2], 2).unlink()
    os.truncate(share_file(roots[5], 5), 10)
    with pytest.raises(errors.CorruptBlock):
        await store.get(DIGEST)
    assert await store.repair(DIGEST) is BlockState.LOST


async def test_on_disk_an_unwritable_store_fails_the_quorum(
    on_disk: tuple[ErasureStore, list[Path]],
) -> None:
    store, roots = on_disk
    for index in (4, 5):
        # A file where the share's directory must go: its store refuses the write.
        share_file(roots[index], index).parent.parent.write_bytes(b"in the way")
    with pytest.raises(errors.StorageUnavailable):
        await store.put(DIGEST, DATA)
    assert not await store.has(DIGEST)
    assert [d async for d in store.list()] == []


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
async def test_a_block_too_damaged_to_read_is_stored_again_by_a_put(how: str) -> None:
    store, children = await memory_store()
    await store.put(DIGEST, DATA)
    for index in (0, 1, 2):
        damage(children[index], index, how)
    bad = children[0]._blocks[share_name(DIGEST, 0)]
    with pytest.raises(errors.CorruptBlock):
        await store.get(DIGEST)
    # The bad shares were set aside (quarantined, in these stores), so the put
    # of the same content writes them again instead of keeping them.
    assert children[0].quarantined[share_name(DIGEST, 0)] == [bad]
    await store.put(DIGEST, DATA)
    assert await store.verify(DIGEST) is BlockState.OK
    assert await store.get(DIGEST) == DATA


async def test_repair_of_a_lost_block_sets_its_bad_shares_aside(
    on_disk: tuple[ErasureStore, list[Path]],
) -> None:
    store, roots = on_disk
    await store.put(DIGEST, DATA)
    for index in (1, 3, 4):
        os.truncate(share_file(roots[index], index), 100)
    assert await store.repair(DIGEST) is BlockState.LOST
    assert not share_file(roots[1], 1).exists()
    assert list((roots[1] / "quarantine").iterdir())
    await store.put(DIGEST, DATA)
    assert await store.verify(DIGEST) is BlockState.OK
