"""Composing new data from ranges of stored versions (core.compose): the
result is what writing the same bytes gives, and whole blocks are taken by
reference instead of being stored again."""

from __future__ import annotations

import hashlib

import pytest
from corekit import ALICE, BLOCK, GRACE, INLINE, Clock, Core, body, pattern, read_all

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.content import blocks
from dolium.core.content.blocks import BlockReader, BlockWriter, WrittenData
from dolium.core.content.sse import BlockCipher
from dolium.core.context import Context, Settings
from dolium.core.objects.compose import Span, compose
from dolium.core.objects.multipart import CompletedPart, PartSource
from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.model import ObjectVersion

BUCKET = "compose"


class CountingBlobs(MemoryBlobStore):
    """A memory blob store that remembers what was put into it."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[bytes] = []

    async def put(self, digest: bytes, data: bytes) -> None:
        self.puts.append(digest)
        await super().put(digest, data)


@pytest.fixture
def addressed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the blocks hashed for their address (the work a reference saves)."""
    sizes: list[int] = []
    address = blocks._Hasher.address

    def counting(self: blocks._Hasher, block: bytes) -> tuple[bytes, bytes]:
        sizes.append(len(block))
        return address(self, block)

    monkeypatch.setattr(blocks._Hasher, "address", counting)
    return sizes


@pytest.fixture
async def core() -> Core:
    clock = Clock()
    blobs = CountingBlobs()
    settings = Settings(block_size=BLOCK, inline_threshold=INLINE, gc_grace=GRACE)
    meta = MemoryMetaStore()
    ctx = Context(meta=meta, blobs=blobs, clock=clock, settings=settings)
    c = Core(Store(ctx), meta, blobs, clock)
    await c.store.buckets.create(ALICE, BUCKET)
    return c


def puts(core: Core) -> list[bytes]:
    assert isinstance(core.blobs, CountingBlobs)
    return core.blobs.puts


async def stored(core: Core, key: str, data: bytes) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions())


def writer(core: Core, *, inline: bool = True, cipher: BlockCipher | None = None) -> BlockWriter:
    return BlockWriter(
        core.blobs,
        block_size=BLOCK,
        inline_threshold=INLINE if inline else -1,
        checksum_algorithms=("CRC32",),
        clock=core.clock,
        cipher=cipher,
    )


async def rewritten(core: Core, data: bytes, *, inline: bool = True) -> WrittenData:
    """What writing `data` from a body gives: the reference a composition must match."""
    return await writer(core, inline=inline).write(body(data))


async def composed(core: Core, *spans: Span, inline: bool = True) -> WrittenData:
    return await compose(core.blobs, writer(core, inline=inline), spans)


async def data_of(core: Core, written: WrittenData) -> bytes:
    if written.inline is not None or not written.extents:
        return written.inline or b""
    out = bytearray()
    async for piece in BlockReader(core.blobs, written.extents, 0, written.size - 1):
        out += piece
    return bytes(out)


def same_result(a: WrittenData, b: WrittenData) -> bool:
    return (a.size, a.md5, a.extents, a.inline, a.top_hash, a.checksums) == (
        b.size,
        b.md5,
        b.extents,
        b.inline,
        b.top_hash,
        b.checksums,
    )


async def test_aligned_range_takes_blocks_by_reference(core: Core, addressed: list[int]) -> None:
    data = pattern(4 * BLOCK + 100)
    source = await stored(core, "src", data)
    before, hashed = len(puts(core)), len(addressed)
    result = await composed(core, Span(source, BLOCK, 3 * BLOCK - 1))
    assert len(puts(core)) == before  # nothing stored again
    assert len(addressed) == hashed  # nor hashed for its address
    assert result.extents == source.extents[1:3]
    assert await data_of(core, result) == data[BLOCK : 3 * BLOCK]
    assert result.md5 == hashlib.md5(data[BLOCK : 3 * BLOCK]).digest()
    assert same_result(result, await rewritten(core, data[BLOCK : 3 * BLOCK]))


async def test_whole_version_with_a_short_last_block_is_taken_by_reference(core: Core) -> None:
    data = pattern(3 * BLOCK + 777, seed=1)
    source = await stored(core, "src", data)
    before = len(puts(core))
    result = await composed(core, Span.whole(source))
    assert len(puts(core)) == before
    assert result.extents == source.extents
    assert result.top_hash == source.top_hash
    assert same_result(result, await rewritten(core, data))


async def test_unaligned_range_recuts_blocks(core: Core) -> None:
    data = pattern(4 * BLOCK, seed=2)
    source = await stored(core, "src", data)
    before = len(puts(core))
    wanted = data[100 : 2 * BLOCK + 51]
    result = await composed(core, Span(source, 100, 2 * BLOCK + 50))
    assert len(puts(core)) > before  # the shifted blocks are new
    assert not set(result.extents) & set(source.extents)
    assert await data_of(core, result) == wanted
    assert same_result(result, await rewritten(core, wanted))


async def test_range_starting_on_a_boundary_keeps_whole_blocks_and_cuts_the_tail(
    core: Core, addressed: list[int]
) -> None:
    data = pattern(4 * BLOCK, seed=3)
    source = await stored(core, "src", data)
    before, hashed = len(puts(core)), len(addressed)
    wanted = data[BLOCK : 3 * BLOCK + 10]
    result = await composed(core, Span(source, BLOCK, 3 * BLOCK + 9))
    assert len(puts(core)) == before + 1  # only the cut tail
    assert addressed[hashed:] == [10]
    assert result.extents[:2] == source.extents[1:3]
    assert await data_of(core, result) == wanted
    assert same_result(result, await rewritten(core, wanted))


async def test_several_sources_one_after_the_other(core: Core) -> None:
    first = pattern(2 * BLOCK, seed=4)
    second = pattern(3 * BLOCK + 5, seed=5)
    small = b"inline bytes"
    a = await stored(core, "a", first)
    b = await stored(core, "b", second)
    c = await stored(core, "c", small)
    assert c.inline == small
    spans = (Span.whole(a), Span(b, 0, 2 * BLOCK - 1), Span(c, 0, 5), Span(b, 2 * BLOCK, 3 * BLOCK))
    wanted = first + second[: 2 * BLOCK] + small[:6] + second[2 * BLOCK : 3 * BLOCK + 1]
    before = len(puts(core))
    result = await composed(core, *spans)
    # The first four blocks line up with the new data; what follows the
    # inline bytes does not.
    assert result.extents[:4] == a.extents + b.extents[:2]
    assert len(puts(core)) == before + 2
    assert await data_of(core, result) == wanted
    assert same_result(result, await rewritten(core, wanted))


async def test_empty_range_and_no_source(core: Core) -> None:
    source = await stored(core, "src", pattern(2 * BLOCK, seed=6))
    before = len(puts(core))
    for spans in ((Span(source, 5, 4),), ()):
        result = await composed(core, *spans, inline=False)
        assert result.size == 0 and result.extents == ()
        assert same_result(result, await rewritten(core, b"", inline=False))
    assert len(puts(core)) == before


async def test_small_result_is_inline_as_a_write_would_make_it(core: Core) -> None:
    data = pattern(3 * BLOCK, seed=7)
    source = await stored(core, "src", data)
    result = await composed(core, Span(source, BLOCK, BLOCK + 9))
    assert result.inline == data[BLOCK : BLOCK + 10]
    assert same_result(result, await rewritten(core, data[BLOCK : BLOCK + 10]))


async def test_sealed_destination_never_takes_blocks_by_reference(core: Core) -> None:
    data = pattern(2 * BLOCK, seed=8)
    source = await stored(core, "src", data)
    before = len(puts(core))
    key = bytes(range(32))
    result = await compose(core.blobs, writer(core, cipher=BlockCipher(key)), [Span.whole(source)])
    assert len(puts(core)) == before + 2
    assert not set(result.extents) & set(source.extents)
    reader = BlockReader(core.blobs, result.extents, 0, result.size - 1, cipher=BlockCipher(key))
    assert b"".join([piece async for piece in reader]) == data


async def test_copied_part_reuses_the_source_blocks(core: Core, addressed: list[int]) -> None:
    data = pattern(3 * BLOCK + 10, seed=9)
    await stored(core, "src", data)
    upload = await core.store.multipart.create(ALICE, BUCKET, "dst", WriteOptions())
    before, hashed = len(puts(core)), len(addressed)
    source = PartSource(BUCKET, "src", byte_range=lambda size: (BLOCK, size - 1))
    part, src = await core.store.multipart.copy_part(
        ALICE, BUCKET, "dst", upload.upload_id, 1, source, WriteOptions()
    )
    assert (len(puts(core)), len(addressed)) == (before, hashed)
    assert part.extents == src.extents[1:]
    assert part.etag == hashlib.md5(data[BLOCK:]).hexdigest()
    version = await core.store.multipart.complete(
        ALICE, BUCKET, "dst", upload.upload_id, [CompletedPart(1, part.etag, {})]
    )
    assert await read_all(core.store, version) == data[BLOCK:]
