"""What each storage module adds beyond the BlobStore contract (which they all pass)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from dolium import errors
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.modules.cache import CacheStore
from dolium.modules.compress import CompressStore
from dolium.modules.encrypt import EncryptStore
from dolium.modules.encrypt_keyring import add_key, read_keys
from dolium.modules.replicate import ReplicateStore
from dolium.protocols.blob import BlockState, RedundantStore


def block(data: bytes) -> tuple[bytes, bytes]:
    return hashlib.sha256(data).digest(), data


TEXT = block(b"the quick brown fox jumps over the lazy dog\n" * 2000)
NOISE = block(os.urandom(100_000))


async def stored_bytes(store: MemoryBlobStore) -> list[bytes]:
    return [await store.get(d) async for d in store.list()]


async def test_compress_shrinks_text_and_keeps_noise_as_it_is() -> None:
    below = MemoryBlobStore()
    store = await CompressStore.open([below])
    for digest, data in (TEXT, NOISE):
        await store.put(digest, data)
        assert await store.get(digest) == data
    assert len(await below.get(TEXT[0])) < len(TEXT[1]) // 10
    assert await below.get(NOISE[0]) == b"\x00" + NOISE[1]  # raw, one byte of header
    stats = await store.statistics()
    assert stats["compression_ratio"] > 1.5
    assert stats["raw_blocks"] == 1 and stats["zstd_blocks"] == 1
    assert "compression=zstd" in store.capabilities()


async def test_compress_refuses_a_damaged_block() -> None:
    below = MemoryBlobStore()
    store = await CompressStore.open([below])
    await store.put(*TEXT)
    stored = await below.get(TEXT[0])
    await below.delete(TEXT[0])
    await below.put(TEXT[0], stored[:-20])
    with pytest.raises(errors.CorruptBlock):
        await store.get(TEXT[0])


async def test_encrypt_stores_no_plaintext_nor_its_digest(tmp_path: Path) -> None:
    below = MemoryBlobStore()
    store = await EncryptStore.open([below], keyring=str(tmp_path / "ring.json"))
    await store.put(*TEXT)
    names = [n async for n in below.list()]
    assert TEXT[0] not in names
    assert all(TEXT[1][:64] not in data for data in await stored_bytes(below))
    assert [d async for d in store.list()] == [TEXT[0]]
    assert await store.get(TEXT[0]) == TEXT[1]
    assert {"encryption=AES_GCM_256", "encryption-keys=convergent"} <= store.capabilities()


async def test_convergent_encryption_is_deterministic_and_random_is_not(tmp_path: Path) -> None:
    ring = str(tmp_path / "ring.json")
    outs = {}
    for mode in ("convergent", "random"):
        sealed = []
        for _ in range(2):
            below = MemoryBlobStore()
            store = await EncryptStore.open([below], keyring=ring, mode=mode)
            await store.put(*TEXT)
            sealed.append(await below.get(store.inner_name(TEXT[0])))
        outs[mode] = sealed
    assert outs["convergent"][0] == outs["convergent"][1]
    assert outs["random"][0] != outs["random"][1]


async def test_a_wrong_or_missing_keyring_is_refused_at_open(tmp_path: Path) -> None:
    below = MemoryBlobStore()
    ring = tmp_path / "ring.json"
    store = await EncryptStore.open([below], keyring=str(ring))
    await store.put(*TEXT)
    other = tmp_path / "other.json"
    await EncryptStore.open([MemoryBlobStore()], keyring=str(other))
    with pytest.raises(errors.ConfigError, match="key 1 is not the key"):
        await EncryptStore.open([below], keyring=str(other))
    with pytest.raises(errors.ConfigError, match="missing, and the store holds data"):
        await EncryptStore.open([below], keyring=str(tmp_path / "absent.json"))
    assert not (tmp_path / "absent.json").exists()


async def test_rotation_writes_with_the_newest_key_and_reads_every_key(tmp_path: Path) -> None:
    below = MemoryBlobStore()
    ring = tmp_path / "ring.json"
    old = await EncryptStore.open([below], keyring=str(ring))
    await old.put(*TEXT)
    saved = ring.read_bytes()
    add_key(ring)
    new = await EncryptStore.open([below], keyring=str(ring))
    await new.put(*NOISE)
    assert (await new.statistics())["active_key"] == 2
    assert await new.get(TEXT[0]) == TEXT[1]
    assert await new.get(NOISE[0]) == NOISE[1]
    # A process that opened the keyring before the rotation finds key 2 on demand.
    assert await old.get(NOISE[0]) == NOISE[1]
    # An older copy of the keyring lacks key 2, which the data now uses.
    ring.write_bytes(saved)
    with pytest.raises(errors.ConfigError, match="lacks key 2"):
        await EncryptStore.open([below], keyring=str(ring))


async def test_a_keyring_with_a_key_removed_is_refused(tmp_path: Path) -> None:
    ring = tmp_path / "ring.json"
    add_key(ring)
    add_key(ring)
    doc = json.loads(ring.read_bytes())
    doc["keys"] = doc["keys"][1:]
    ring.write_text(json.dumps(doc))
    with pytest.raises(errors.ConfigError, match="a key was removed"):
        read_keys(ring)


async def test_replicate_reads_past_a_lost_or_damaged_copy_and_repairs_it() -> None:
    children = [MemoryBlobStore() for _ in range(3)]
    store = await ReplicateStore.open(children)
    await store.put(*TEXT)
    good = await children[2].get(TEXT[0])
    await children[0].delete(TEXT[0])
    await children[1].delete(TEXT[0])
    await children[1].put(TEXT[0], good[:-1] + b"!")
    assert await store.verify(TEXT[0]) == BlockState.DEGRADED
    assert await store.get(TEXT[0]) == TEXT[1]
    assert [await c.get(TEXT[0]) for c in children] == [good] * 3
    assert await store.verify(TEXT[0]) == BlockState.OK
    assert (await store.statistics())["repairs"] == 2


async def test_replicate_repair_and_lost_blocks() -> None:
    children = [MemoryBlobStore() for _ in range(2)]
    store = await ReplicateStore.open(children)
    await store.put(*TEXT)
    await children[1].delete(TEXT[0])
    assert await store.has(TEXT[0])  # readable: one copy is enough to say so
    assert await store.verify(TEXT[0]) == BlockState.DEGRADED
    assert await store.repair(TEXT[0]) == BlockState.OK
    assert await children[1].has(TEXT[0])
    await children[1].delete(TEXT[0])
    await store.put(*TEXT)  # a put writes every copy again
    assert await children[1].has(TEXT[0])
    for child in children:
        await child.delete(TEXT[0])
    assert await store.verify(TEXT[0]) == BlockState.LOST
    with pytest.raises(errors.BlockNotFound):
        await store.get(TEXT[0])
    with pytest.raises(errors.ConfigError, match="2 or more stores"):
        await ReplicateStore.open([MemoryBlobStore()])


async def test_wrappers_have_verify_and_repair_only_over_a_redundant_store(
    tmp_path: Path,
) -> None:
    plain = await CompressStore.open([MemoryBlobStore()])
    assert not isinstance(plain, RedundantStore)
    children = [MemoryBlobStore() for _ in range(3)]
    stack = await CompressStore.open(
        [await EncryptStore.open([await ReplicateStore.open(children)], str(tmp_path / "k"))]
    )
    assert isinstance(stack, RedundantStore)
    await stack.put(*TEXT)
    assert await stack.verify(TEXT[0]) == BlockState.OK
    async for name in children[0].list():
        await children[0].delete(name)
    assert await stack.verify(TEXT[0]) == BlockState.DEGRADED
    assert await stack.repair(TEXT[0]) == BlockState.OK


async def test_cache_serves_copies_checks_them_and_evicts_the_least_recent(
    tmp_path: Path,
) -> None:
    below = MemoryBlobStore()
    blocks = [block(os.urandom(300_000)) for _ in range(4)]
    store = await CacheStore.open([below], root=str(tmp_path / "c"), max_bytes="1MiB")
    for b in blocks[:3]:
        await store.put(*b)
    await store.get(blocks[0][0])  # now the most recent
    await store.put(*blocks[3])  # evicts blocks[1], the least recent
    stats = await store.statistics()
    assert stats["cache_blocks"] == 3 and stats["cache_bytes"] <= 1024 * 1024
    assert not (tmp_path / "c" / blocks[1][0].hex()[:2] / blocks[1][0].hex()).exists()
    # A damaged copy is dropped and read again from below, never served.
    copy = tmp_path / "c" / blocks[0][0].hex()[:2] / blocks[0][0].hex()
    copy.write_bytes(copy.read_bytes()[:-1] + b"?")
    assert await store.get(blocks[0][0]) == blocks[0][1]
    assert (await store.statistics())["cache_dropped_damaged"] == 1
    # A new process finds the copies left on disk.
    again = await CacheStore.open([below], root=str(tmp_path / "c"), max_bytes="1MiB")
    assert await again.get(blocks[3][0]) == blocks[3][1]
    assert (await again.statistics())["cache_hits"] == 1


async def test_replicate_says_why_no_copy_could_be_read() -> None:
    children = [MemoryBlobStore() for _ in range(2)]
    store = await ReplicateStore.open(children)
    await store.put(*TEXT)
    for child in children:
        stored = await child.get(TEXT[0])
        await child.delete(TEXT[0])
        await child.put(TEXT[0], stored[:-1] + b"?")
    with pytest.raises(errors.CorruptBlock, match="every replica is damaged"):
        await store.get(TEXT[0])
    await children[0].delete(TEXT[0])
    with pytest.raises(errors.CorruptBlock):  # one damaged copy is still not "absent"
        await store.get(TEXT[0])
    await children[1].delete(TEXT[0])
    with pytest.raises(errors.BlockNotFound):
        await store.get(TEXT[0])
