"""Pithos block hashing: the published test vectors, and the block writer
agreeing with them for every shape of object."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator

import pytest
from corekit import body
from hypothesis import given, settings
from hypothesis import strategies as st

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.core.content.blocks import BlockReader, BlockWriter, WrittenData
from dolium.core.content.hashing import block_digest, block_digests, strip_block, top_hash
from dolium.core.content.sse import BlockCipher

MIB4 = 4 * 1024 * 1024

# PITHOS.md section 0, test vectors (sha256).
VECTORS = [
    (b"", MIB4, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (b"hello", MIB4, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    (b"hello\0\0\0", MIB4, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    (
        b"a" * MIB4 + b"b" * MIB4 + b"c",
        MIB4,
        "e747b499f8f09ea48c537050c3492c984d867b410639bd5867603e259278f746",
    ),
    (b"x" * 4106, 1024, "0a399b9110dfc5156590964ff5329ee080dc134b8ba21d0299e0d5d48ae73e7b"),
]


@pytest.mark.parametrize(
    ("data", "block_size", "expected"),
    VECTORS,
    ids=["empty", "hello", "hello-nuls", "three-blocks-4MiB", "x4106-1KiB"],
)
def test_pithos_vectors(data: bytes, block_size: int, expected: str) -> None:
    leaves = block_digests(data, block_size)
    assert len(leaves) == max(1, -(-len(data) // block_size))
    assert top_hash(leaves).hex() == expected


def test_empty_object_hashmap_is_the_hash_of_nothing() -> None:
    assert block_digests(b"") == [hashlib.sha256(b"").digest()]
    assert top_hash([]) == hashlib.sha256(b"").digest()


def test_one_leaf_is_its_own_top_hash() -> None:
    leaf = hashlib.sha256(b"only").digest()
    assert top_hash([leaf]) == leaf


def test_all_zero_block_hashes_as_empty() -> None:
    assert block_digest(b"\0" * 1024) == hashlib.sha256(b"").digest()
    assert strip_block(b"ab\0c\0\0") == b"ab\0c"


def test_leaves_are_padded_with_zero_digests() -> None:
    h = [hashlib.sha256(bytes([i])).digest() for i in range(3)]
    zero = b"\0" * 32

    def pair(a: bytes, b: bytes) -> bytes:
        return hashlib.sha256(a + b).digest()

    assert top_hash(h) == pair(pair(h[0], h[1]), pair(h[2], zero))
    assert top_hash(h[:2]) == pair(h[0], h[1])


def test_other_algorithm() -> None:
    data = b"y" * 2500
    leaves = block_digests(data, 1024, "sha1")
    assert [len(leaf) for leaf in leaves] == [20, 20, 20]
    expected = hashlib.sha1(
        hashlib.sha1(leaves[0] + leaves[1]).digest() + hashlib.sha1(leaves[2] + b"\0" * 20).digest()
    ).digest()
    assert top_hash(leaves, "sha1") == expected


# -- the block writer ----------------------------------------------------------

BS = 1024


async def write(
    blobs: MemoryBlobStore, data: bytes, block_size: int = BS, chunk: int = 333
) -> WrittenData:
    writer = BlockWriter(blobs, block_size=block_size, clock=time.time)
    return await writer.write(body(data, chunk))


async def read_back(blobs: MemoryBlobStore, written: WrittenData) -> bytes:
    if written.inline is not None:
        return written.inline
    reader = BlockReader(blobs, written.extents, 0, written.size - 1)
    await reader.prime()
    return b"".join([piece async for piece in reader])


def sizes() -> list[int]:
    return [0, 1, BS - 1, BS, BS + 1, 3 * BS + 17]


@pytest.mark.parametrize("size", sizes())
async def test_writer_top_hash_matches_reference(size: int) -> None:
    data = bytes((i * 31 + 7) % 256 for i in range(size))
    blobs = MemoryBlobStore()
    written = await write(blobs, data)
    assert written.size == size
    assert written.top_hash == top_hash(block_digests(data, BS)).hex()
    assert written.md5 == hashlib.md5(data).digest()
    if size:
        assert [e.digest for e in written.extents] == block_digests(data, BS)
        assert [e.size for e in written.extents] == [min(BS, size - i) for i in range(0, size, BS)]
    assert await read_back(blobs, written) == data


@pytest.mark.parametrize("chunk", [1, 7, BS - 1, BS, BS + 1, 10 * BS])
async def test_writer_is_independent_of_how_the_body_is_cut(chunk: int) -> None:
    data = bytes(range(256)) * 17
    written = await write(MemoryBlobStore(), data, chunk=chunk)
    assert written.top_hash == top_hash(block_digests(data, BS)).hex()


class _ShuffledStore(MemoryBlobStore):
    """Stores each block after a delay that shrinks with each put: later blocks land first."""

    def __init__(self) -> None:
        super().__init__()
        self.delay = 0.02

    async def put(self, digest: bytes, data: bytes) -> None:
        self.delay /= 2
        await asyncio.sleep(self.delay)
        await super().put(digest, data)


async def test_blocks_stored_out_of_order_keep_the_stream_in_order() -> None:
    # Several blocks are hashed and stored at once; whatever order they end
    # in, the extents, the MD5, the top hash and a sealed write's hashmap
    # follow the stream.
    data = os.urandom(6 * BS + 5)
    blobs = _ShuffledStore()
    written = await write(blobs, data, chunk=BS // 2)
    assert written.md5 == hashlib.md5(data).digest()
    assert [e.digest for e in written.extents] == block_digests(data, BS)
    assert written.top_hash == top_hash(block_digests(data, BS)).hex()
    assert await read_back(blobs, written) == data
    sealed = BlockWriter(
        _ShuffledStore(), block_size=BS, clock=time.time, cipher=BlockCipher(os.urandom(32))
    )
    result = await sealed.write(body(data, BS // 2))
    assert result.top_hash == top_hash(block_digests(data, BS)).hex()
    assert result.md5 == hashlib.md5(data).digest()


async def test_writer_four_mib_vector() -> None:
    data, block_size, expected = VECTORS[3]
    written = await write(MemoryBlobStore(), data, block_size=block_size, chunk=1 << 20)
    assert written.top_hash == expected


async def test_nul_tailed_block_dedups_and_reads_back_with_its_nuls() -> None:
    blobs = MemoryBlobStore()
    plain = await write(blobs, b"hello")
    tailed = await write(blobs, b"hello\0\0\0")
    assert plain.top_hash == tailed.top_hash == VECTORS[1][2]
    assert plain.extents[0].digest == tailed.extents[0].digest
    assert [(e.size) for e in tailed.extents] == [8]
    stored = [d async for d in blobs.list()]
    assert stored == [plain.extents[0].digest]
    assert await blobs.get(stored[0]) == b"hello"  # stored stripped
    assert await read_back(blobs, tailed) == b"hello\0\0\0"  # padded on read
    assert await read_back(blobs, plain) == b"hello"


async def test_nul_tails_inside_an_object_are_restored() -> None:
    blobs = MemoryBlobStore()
    data = b"a" + b"\0" * (BS - 1) + b"\0" * BS + b"b" * 10 + b"\0" * 5
    written = await write(blobs, data)
    assert [e.size for e in written.extents] == [BS, BS, 15]
    assert written.extents[1].digest == hashlib.sha256(b"").digest()
    assert await blobs.get(written.extents[1].digest) == b""
    assert await read_back(blobs, written) == data
    assert written.top_hash == top_hash(block_digests(data, BS)).hex()


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5 * 64).map(lambda b: bytes(x % 2 for x in b)),
    block_size=st.sampled_from([1, 2, 5, 16, 64]),
    chunk=st.integers(1, 50),
)
def test_writer_matches_reference_on_nul_heavy_data(
    data: bytes, block_size: int, chunk: int
) -> None:
    async def run() -> None:
        blobs = MemoryBlobStore()
        written = await write(blobs, data, block_size=block_size, chunk=chunk)
        assert written.top_hash == top_hash(block_digests(data, block_size)).hex()
        assert await read_back(blobs, written) == data

    asyncio.run(run())


async def test_writer_copies_a_buffer_its_producer_fills_again() -> None:
    # Chunks are held uncopied until their block is cut; one in a buffer the
    # producer reuses (bytearray) must be held as it was when fed.
    data = os.urandom(3 * 1000 + 17)
    blobs = MemoryBlobStore()
    writer = BlockWriter(blobs, block_size=1024, clock=time.time)

    async def refilled() -> AsyncIterator[bytes]:
        buffer = bytearray(1000)
        for i in range(0, len(data), 1000):
            piece = data[i : i + 1000]
            buffer[: len(piece)] = piece
            yield buffer if len(piece) == 1000 else bytes(piece)
            buffer[:] = b"\xff" * 1000  # the producer moves on

    written = await writer.write(refilled())
    assert written.md5 == hashlib.md5(data).digest()
    assert await read_back(blobs, written) == data
