"""Multipart uploads in the core: part order and sizes, the composite ETag,
the top hash, and the blocks the parts leave behind."""

from __future__ import annotations

import hashlib

import pytest
from corekit import ALICE, BLOCK, BOB, GRACE, Core, body, make_core, pattern, read_all

from dolium.conditions import WriteCondition
from dolium.core.access.actions import Action
from dolium.core.content.hashing import block_digests, top_hash
from dolium.core.jobs.gc import collect
from dolium.core.objects.multipart import MIN_PART_SIZE, CompletedPart
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import (
    AccessDenied,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchUpload,
    PreconditionFailed,
)
from dolium.model import Part, Versioning

BUCKET = "uploads"
KEY = "big.bin"

# Part sizes: the minimum is a whole number of blocks, one more byte is not.
ALIGNED = MIN_PART_SIZE
UNALIGNED = MIN_PART_SIZE + 1
assert ALIGNED % BLOCK == 0


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def start(core: Core, key: str = KEY) -> str:
    upload = await core.store.multipart.create(
        ALICE, BUCKET, key, WriteOptions(content_type="application/x-test", meta={"m": "1"})
    )
    return upload.upload_id


async def part(core: Core, upload_id: str, number: int, data: bytes, key: str = KEY) -> Part:
    return await core.store.multipart.put_part(
        ALICE, BUCKET, key, upload_id, number, body(data, 100_000), WriteOptions()
    )


def done(*parts: Part) -> list[CompletedPart]:
    return [CompletedPart(p.number, f'"{p.etag}"', {}) for p in parts]


def multipart_etag(*chunks: bytes) -> str:
    inner = b"".join(hashlib.md5(c).digest() for c in chunks)
    return f"{hashlib.md5(inner).hexdigest()}-{len(chunks)}"


async def test_aligned_parts_complete_with_etag_and_top_hash(core: Core) -> None:
    one, two = pattern(ALIGNED, seed=1), pattern(BLOCK + 17, seed=2)
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, one)
    p2 = await part(core, upload_id, 2, two)
    assert p1.etag == hashlib.md5(one).hexdigest()
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p2))
    data = one + two
    assert version.etag == multipart_etag(one, two)
    assert version.size == len(data)
    assert version.parts == (len(one), len(two))
    assert version.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    assert version.content_type == "application/x-test"
    assert dict(version.meta) == {"m": "1"}
    assert await read_all(core.store, version) == data
    # A range across the boundary of the two parts.
    assert (
        await read_all(core.store, version, ALIGNED - 5, ALIGNED + 5)
        == data[ALIGNED - 5 : ALIGNED + 6]
    )
    with pytest.raises(NoSuchUpload):
        await core.store.multipart.upload(ALICE, BUCKET, KEY, upload_id, Action.WRITE)


async def test_unaligned_parts_have_no_top_hash(core: Core) -> None:
    one, two = pattern(UNALIGNED, seed=3), pattern(1000, seed=4)
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, one)
    p2 = await part(core, upload_id, 2, two)
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p2))
    assert version.top_hash is None
    assert version.etag == multipart_etag(one, two)
    assert await read_all(core.store, version) == one + two


async def test_single_small_part(core: Core) -> None:
    data = b"just a little"
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, data)
    # Parts are stored as blocks whatever their size.
    assert len(p1.extents) == 1
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    assert version.etag == multipart_etag(data)
    assert version.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    assert await read_all(core.store, version) == data


async def test_empty_part(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, b"")
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    assert version.size == 0
    assert version.etag == multipart_etag(b"")
    assert version.top_hash == hashlib.sha256(b"").hexdigest()


async def test_parts_out_of_order_or_repeated(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, pattern(ALIGNED, seed=5))
    p2 = await part(core, upload_id, 2, b"tail")
    mp = core.store.multipart
    with pytest.raises(InvalidPartOrder):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, done(p2, p1))
    with pytest.raises(InvalidPartOrder):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p1, p2))
    with pytest.raises(InvalidRequest):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, [])
    # Still completable after the refusals.
    version = await mp.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p2))
    assert version.parts == (ALIGNED, 4)


async def test_parts_may_be_uploaded_in_any_order(core: Core) -> None:
    one, two = pattern(ALIGNED, seed=6), b"second"
    upload_id = await start(core)
    p2 = await part(core, upload_id, 2, two)
    p1 = await part(core, upload_id, 1, one)
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p2))
    assert await read_all(core.store, version) == one + two


async def test_small_part_before_the_last_is_too_small(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, pattern(ALIGNED - 1, seed=7))
    p2 = await part(core, upload_id, 2, b"tail")
    with pytest.raises(EntityTooSmall) as info:
        await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p2))
    assert info.value.context["part_number"] == 1


async def test_unknown_part_or_wrong_etag(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, b"only")
    mp = core.store.multipart
    with pytest.raises(InvalidPart):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, [CompletedPart(2, p1.etag, {})])
    with pytest.raises(InvalidPart):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, [CompletedPart(1, "0" * 32, {})])
    with pytest.raises(InvalidArgument):
        await part(core, upload_id, 10001, b"x")
    with pytest.raises(InvalidArgument):
        await part(core, upload_id, 0, b"x")


async def test_part_uploaded_again_replaces_the_first(core: Core) -> None:
    upload_id = await start(core)
    old = await part(core, upload_id, 1, b"first try")
    new = await part(core, upload_id, 1, b"second try")
    mp = core.store.multipart
    with pytest.raises(InvalidPart):
        await mp.complete(ALICE, BUCKET, KEY, upload_id, done(old))
    version = await mp.complete(ALICE, BUCKET, KEY, upload_id, done(new))
    assert await read_all(core.store, version) == b"second try"


async def test_subset_of_parts(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, pattern(ALIGNED, seed=8))
    await part(core, upload_id, 2, b"left out")
    p3 = await part(core, upload_id, 3, b"three")
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1, p3))
    assert await read_all(core.store, version) == pattern(ALIGNED, seed=8) + b"three"


async def test_abort(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, b"data")
    await core.store.multipart.abort(ALICE, BUCKET, KEY, upload_id)
    with pytest.raises(NoSuchUpload):
        await part(core, upload_id, 2, b"more")
    with pytest.raises(NoSuchUpload):
        await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    with pytest.raises(NoSuchUpload):
        await core.store.multipart.abort(ALICE, BUCKET, KEY, upload_id)


async def test_upload_id_is_bound_to_its_key(core: Core) -> None:
    upload_id = await start(core)
    with pytest.raises(NoSuchUpload):
        await part(core, upload_id, 1, b"x", key="other-key")


async def test_parts_share_blocks_with_objects(core: Core) -> None:
    data = pattern(ALIGNED, seed=9)
    await core.store.objects.put(ALICE, BUCKET, "plain", body(data), WriteOptions())
    before = await core.block_count()
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, data)
    assert await core.block_count() == before
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    plain = await core.store.objects.head(ALICE, BUCKET, "plain")
    assert version.extents == plain.extents
    assert version.top_hash == plain.top_hash


async def test_blocks_of_pending_parts_survive_collection(core: Core) -> None:
    data = pattern(BLOCK * 2 + 1, seed=10)
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, data)
    core.clock.advance(2 * GRACE)
    report = await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert report.deleted == 0
    version = await core.store.multipart.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    assert await read_all(core.store, version) == data


async def test_blocks_of_an_aborted_upload_are_collected(core: Core) -> None:
    upload_id = await start(core)
    await part(core, upload_id, 1, pattern(BLOCK * 2, seed=11))
    await core.store.multipart.abort(ALICE, BUCKET, KEY, upload_id)
    core.clock.advance(2 * GRACE)
    report = await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert report.deleted == 2
    assert await core.block_count() == 0


async def test_complete_in_a_versioned_bucket_and_conditions(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await core.store.objects.put(ALICE, BUCKET, KEY, body(b"existing"), WriteOptions())
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, b"new")
    mp = core.store.multipart
    with pytest.raises(PreconditionFailed):
        await mp.complete(
            ALICE, BUCKET, KEY, upload_id, done(p1), WriteCondition(if_none_match=True)
        )
    # A refused completion leaves the upload in place.
    version = await mp.complete(ALICE, BUCKET, KEY, upload_id, done(p1))
    assert version.version_id != "null"
    versions = await core.meta.list_versions(BUCKET, prefix=KEY)
    assert len(versions) == 2


async def test_another_tenant_cannot_touch_the_upload(core: Core) -> None:
    upload_id = await start(core)
    p1 = await part(core, upload_id, 1, b"alice's")
    mp = core.store.multipart
    with pytest.raises(AccessDenied):
        await mp.put_part(BOB, BUCKET, KEY, upload_id, 2, body(b"bob's"), WriteOptions())
    with pytest.raises(AccessDenied):
        await mp.list_parts(BOB, BUCKET, KEY, upload_id)
    with pytest.raises(AccessDenied):
        await mp.complete(BOB, BUCKET, KEY, upload_id, done(p1))
    with pytest.raises(AccessDenied):
        await mp.abort(BOB, BUCKET, KEY, upload_id)
    with pytest.raises(AccessDenied):
        await mp.list_uploads(BOB, BUCKET)
    _, parts, truncated = await mp.list_parts(ALICE, BUCKET, KEY, upload_id)
    assert ([p.number for p in parts], truncated) == ([1], False)
