"""Object rules of the core over the in-memory stores: data, dedup, copies,
deletes, versioning, conditional writes and ownership."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest
from corekit import ALICE, BLOCK, BOB, GRACE, INLINE, Core, body, make_core, pattern, read_all

from dolium.conditions import WriteCondition
from dolium.core.access.actions import Action, Setting
from dolium.core.content.checksums import checksum_b64
from dolium.core.content.hashing import block_digests, top_hash
from dolium.core.jobs.gc import collect
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import (
    AccessDenied,
    BadDigest,
    IncompleteBody,
    InvalidArgument,
    InvalidRequest,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    PreconditionFailed,
    StorageError,
)
from dolium.frontends.s3.rules import objects as rules
from dolium.model import UNVERSIONED_ID, ObjectVersion, Versioning

BUCKET = "photos"


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def put(
    core: Core, key: str, data: bytes, opts: WriteOptions | None = None, bucket: str = BUCKET
) -> ObjectVersion:
    return await core.store.objects.put(ALICE, bucket, key, body(data), opts or WriteOptions())


async def get(core: Core, key: str, version_id: str | None = None) -> bytes:
    version = await core.store.objects.head(ALICE, BUCKET, key, version_id)
    return await read_all(core.store, version)


# -- data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "inline"),
    [(0, True), (1, True), (INLINE, True), (INLINE + 1, False), (BLOCK, False)],
)
async def test_inline_threshold(core: Core, size: int, inline: bool) -> None:
    data = pattern(size)
    version = await put(core, "k", data)
    assert (version.inline is not None) is inline
    assert bool(version.extents) is not inline
    assert await core.block_count() == (0 if inline else len(version.extents))
    assert version.size == size
    assert version.etag == hashlib.md5(data).hexdigest()
    assert version.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    assert await get(core, "k") == data


async def test_block_object_roundtrip(core: Core) -> None:
    data = pattern(3 * BLOCK + 123)
    version = await put(core, "big", data)
    assert version.inline is None
    assert [e.size for e in version.extents] == [BLOCK, BLOCK, BLOCK, 123]
    assert version.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    assert await core.block_count() == 4
    assert await get(core, "big") == data


RANGES = [
    (0, 0),
    (1, 10),
    (BLOCK - 1, BLOCK - 1),
    (BLOCK - 1, BLOCK),
    (BLOCK, BLOCK),
    (BLOCK - 10, 2 * BLOCK + 10),
    (100, 3 * BLOCK + 122),
    (3 * BLOCK, 3 * BLOCK + 122),
    (3 * BLOCK + 122, 3 * BLOCK + 122),
    (2 * BLOCK + 5, 2 * BLOCK + 6),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
async def test_range_reads_across_blocks(core: Core, start: int, end: int) -> None:
    data = pattern(3 * BLOCK + 123)
    version = await put(core, "big", data)
    assert await read_all(core.store, version, start, end) == data[start : end + 1]


@pytest.mark.parametrize(("start", "end"), [(0, 0), (3, 9), (999, 999), (0, 999)])
async def test_range_reads_of_inline_objects(core: Core, start: int, end: int) -> None:
    data = pattern(1000)
    version = await put(core, "small", data)
    assert version.inline is not None
    assert await read_all(core.store, version, start, end) == data[start : end + 1]


async def test_nul_tailed_blocks_read_back_with_their_nuls(core: Core) -> None:
    data = b"x" * 10 + b"\0" * (BLOCK - 10) + b"\0" * BLOCK + b"y" * 2000 + b"\0" * 7
    version = await put(core, "sparse", data)
    assert await get(core, "sparse") == data
    assert (
        await read_all(core.store, version, BLOCK - 3, 2 * BLOCK + 2)
        == data[BLOCK - 3 : 2 * BLOCK + 3]
    )


# -- dedup and copies --------------------------------------------------------------


async def test_same_content_shares_blocks(core: Core) -> None:
    data = pattern(2 * BLOCK + 5)
    a = await put(core, "a", data)
    assert await core.block_count() == 3
    b = await put(core, "b", data)
    assert await core.block_count() == 3
    assert a.extents == b.extents
    assert await get(core, "a") == await get(core, "b") == data


async def test_repeated_blocks_within_an_object_are_stored_once(core: Core) -> None:
    data = b"r" * (4 * BLOCK)
    version = await put(core, "same", data)
    assert len(version.extents) == 4
    assert await core.block_count() == 1
    assert await get(core, "same") == data


async def test_copy_is_by_reference(core: Core) -> None:
    data = pattern(2 * BLOCK + 9)
    src = await put(
        core, "src", data, WriteOptions(content_type="image/png", meta={"colour": "blue"})
    )
    before = await core.digests()
    copied, source = await core.store.objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "dst", CopyOptions()
    )
    assert await core.digests() == before
    assert source.version_id == src.version_id
    assert copied.extents == src.extents
    assert (copied.etag, copied.top_hash, copied.size) == (src.etag, src.top_hash, src.size)
    assert copied.content_type == "image/png"
    assert dict(copied.meta) == {"colour": "blue"}
    assert await get(core, "dst") == data


async def test_copy_replacing_metadata(core: Core) -> None:
    await put(core, "src", b"tiny", WriteOptions(meta={"a": "1"}))
    copied, _ = await core.store.objects.copy(
        ALICE,
        (BUCKET, "src", None),
        BUCKET,
        "src",
        CopyOptions(replace_metadata=True, meta={"b": "2"}, content_type="text/plain"),
    )
    assert dict(copied.meta) == {"b": "2"}
    assert copied.content_type == "text/plain"
    assert await get(core, "src") == b"tiny"


async def test_copy_onto_itself_without_changes_is_refused(core: Core) -> None:
    await put(core, "src", b"tiny")
    source = (BUCKET, "src", None)
    opts = rules.copy_rules(source, BUCKET, "src", CopyOptions())
    with pytest.raises(InvalidRequest):
        await core.store.objects.copy(ALICE, source, BUCKET, "src", opts)


async def test_copy_onto_itself_is_a_rule_of_the_front_end(core: Core) -> None:
    # The object model has nothing against it: S3 refuses it at its edge.
    first = await put(core, "src", b"tiny")
    copied, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "src", CopyOptions()
    )
    assert copied.etag == first.etag
    assert await get(core, "src") == b"tiny"


async def test_copy_survives_deleting_the_source(core: Core) -> None:
    data = pattern(BLOCK + 1)
    await put(core, "src", data)
    await core.store.objects.copy(ALICE, (BUCKET, "src", None), BUCKET, "dst", CopyOptions())
    await core.store.objects.delete(ALICE, BUCKET, "src")
    core.clock.advance(2 * GRACE)
    report = await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert report.deleted == 0
    assert await get(core, "dst") == data


# -- deletes -----------------------------------------------------------------------


async def test_delete_then_collect(core: Core) -> None:
    shared = pattern(BLOCK + 3, seed=1)
    unique = pattern(2 * BLOCK, seed=2)
    await put(core, "keep", shared)
    await put(core, "twin", shared)
    gone = await put(core, "gone", unique)
    result = await core.store.objects.delete(ALICE, BUCKET, "gone")
    assert (result.key, result.version_id, result.delete_marker) == ("gone", None, False)
    with pytest.raises(NoSuchKey):
        await core.store.objects.head(ALICE, BUCKET, "gone")
    # Blocks are never freed on the request path: the collector does it.
    assert await core.block_count() == 4
    await core.store.objects.delete(ALICE, BUCKET, "twin")
    core.clock.advance(2 * GRACE)
    report = await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
    assert report.deleted == 2
    assert await core.missing([e.digest for e in gone.extents]) == {e.digest for e in gone.extents}
    assert await get(core, "keep") == shared


async def test_delete_of_absent_key_succeeds(core: Core) -> None:
    result = await core.store.objects.delete(ALICE, BUCKET, "never")
    assert not result.delete_marker


async def test_head_of_absent_key(core: Core) -> None:
    with pytest.raises(NoSuchKey):
        await core.store.objects.head(ALICE, BUCKET, "never")
    with pytest.raises(NoSuchVersion):
        await core.store.objects.head(ALICE, BUCKET, "never", "a" * 24)
    with pytest.raises(NoSuchBucket):
        await core.store.objects.head(ALICE, "no-such-bucket", "k")


# -- versioning --------------------------------------------------------------------


async def versions(core: Core, key: str) -> list[ObjectVersion]:
    found = await core.meta.list_versions(BUCKET, prefix=key)
    return [v for v in found if v.key == key]


async def test_unversioned_writes_replace_the_null_version(core: Core) -> None:
    first = await put(core, "k", b"one")
    second = await put(core, "k", b"two")
    assert first.version_id == second.version_id == UNVERSIONED_ID
    assert [v.version_id for v in await versions(core, "k")] == [UNVERSIONED_ID]
    assert await get(core, "k") == b"two"


async def test_versioning_enabled(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    v1 = await put(core, "k", pattern(BLOCK + 1, seed=1))
    v2 = await put(core, "k", b"second")
    assert UNVERSIONED_ID not in (v1.version_id, v2.version_id)
    assert v1.version_id != v2.version_id
    assert await get(core, "k") == b"second"
    assert await get(core, "k", v1.version_id) == pattern(BLOCK + 1, seed=1)

    deleted = await core.store.objects.delete(ALICE, BUCKET, "k")
    assert deleted.delete_marker
    assert deleted.version_id not in (None, v1.version_id, v2.version_id)
    with pytest.raises(NoSuchKey) as info:
        await core.store.objects.head(ALICE, BUCKET, "k")
    assert info.value.context["delete_marker"] is True
    assert await get(core, "k", v2.version_id) == b"second"
    chain = await versions(core, "k")
    assert [v.version_id for v in chain] == [deleted.version_id, v2.version_id, v1.version_id]
    assert [v.is_latest for v in chain] == [True, False, False]

    # Removing the delete marker brings the object back.
    assert deleted.version_id is not None
    removed = await core.store.objects.delete(ALICE, BUCKET, "k", deleted.version_id)
    assert removed.delete_marker
    assert await get(core, "k") == b"second"

    # Deleting the latest version for good promotes the previous one.
    await core.store.objects.delete(ALICE, BUCKET, "k", v2.version_id)
    latest = await core.store.objects.head(ALICE, BUCKET, "k")
    assert latest.version_id == v1.version_id
    assert latest.is_latest
    assert await get(core, "k") == pattern(BLOCK + 1, seed=1)
    with pytest.raises(NoSuchVersion):
        await core.store.objects.head(ALICE, BUCKET, "k", v2.version_id)


async def test_versioning_suspended_uses_the_null_version(core: Core) -> None:
    await put(core, "k", b"before")  # the null version, from before versioning
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    v1 = await put(core, "k", b"enabled")
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.SUSPENDED)
    null = await put(core, "k", b"suspended")
    assert null.version_id == UNVERSIONED_ID
    # The new null version replaced the old one; the enabled-era version stays.
    assert [v.version_id for v in await versions(core, "k")] == [UNVERSIONED_ID, v1.version_id]
    assert await get(core, "k", UNVERSIONED_ID) == b"suspended"
    assert await get(core, "k", v1.version_id) == b"enabled"

    marker = await core.store.objects.delete(ALICE, BUCKET, "k")
    assert marker.delete_marker
    assert marker.version_id == UNVERSIONED_ID
    chain = await versions(core, "k")
    assert [(v.version_id, v.delete_marker) for v in chain] == [
        (UNVERSIONED_ID, True),
        (v1.version_id, False),
    ]
    with pytest.raises(NoSuchKey):
        await core.store.objects.head(ALICE, BUCKET, "k")


async def test_versioning_never_goes_back_to_unversioned(core: Core) -> None:
    buckets = core.store.buckets
    # Unversioned to unversioned changes nothing and is allowed.
    await buckets.set_versioning(ALICE, BUCKET, Versioning.UNVERSIONED)
    await buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    with pytest.raises(InvalidArgument):
        await buckets.set_versioning(ALICE, BUCKET, Versioning.UNVERSIONED)
    await buckets.set_versioning(ALICE, BUCKET, Versioning.SUSPENDED)
    with pytest.raises(InvalidArgument):
        await buckets.set_versioning(ALICE, BUCKET, Versioning.UNVERSIONED)
    assert (
        await buckets.get(ALICE, BUCKET, Action.READ_SETTING, Setting.VERSIONING)
    ).versioning == Versioning.SUSPENDED


async def test_copy_of_a_specific_version(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    v1 = await put(core, "k", b"old")
    await put(core, "k", b"new")
    copied, source = await core.store.objects.copy(
        ALICE, (BUCKET, "k", v1.version_id), BUCKET, "k", CopyOptions()
    )
    assert source.version_id == v1.version_id
    assert copied.version_id not in (v1.version_id, UNVERSIONED_ID)
    assert await get(core, "k") == b"old"


# -- failed writes leave the previous version ---------------------------------------


async def test_short_body_is_refused_and_previous_version_stays(core: Core) -> None:
    old = pattern(BLOCK + 7, seed=3)
    await put(core, "k", old)
    with pytest.raises(IncompleteBody):
        await put(core, "k", pattern(3 * BLOCK), WriteOptions(declared_size=4 * BLOCK))
    assert await get(core, "k") == old


async def test_bad_content_md5_is_refused(core: Core) -> None:
    await put(core, "k", b"old")
    wrong = hashlib.md5(b"something else").digest()
    with pytest.raises(BadDigest):
        await put(core, "k", pattern(BLOCK * 2), WriteOptions(content_md5=wrong))
    right = hashlib.md5(b"new").digest()
    await put(core, "k", b"new", WriteOptions(content_md5=right))
    assert await get(core, "k") == b"new"


async def test_body_failing_midway_leaves_previous_version(core: Core) -> None:
    old = pattern(2 * BLOCK, seed=4)
    await put(core, "k", old)

    async def broken() -> AsyncIterator[bytes]:
        yield pattern(BLOCK + 100, seed=5)
        yield pattern(BLOCK, seed=6)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await core.store.objects.put(ALICE, BUCKET, "k", broken(), WriteOptions())
    assert await get(core, "k") == old
    listed = await core.store.listing.list(ALICE, BUCKET)
    assert [(v.key, v.etag) for v in listed.entries] == [("k", hashlib.md5(old).hexdigest())]


# -- conditional writes ------------------------------------------------------------


async def test_if_none_match(core: Core) -> None:
    cond = WriteOptions(condition=WriteCondition(if_none_match=True))
    await put(core, "k", b"first", cond)
    with pytest.raises(PreconditionFailed):
        await put(core, "k", pattern(BLOCK + 1), cond)
    assert await get(core, "k") == b"first"


async def test_if_none_match_after_a_delete_marker(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await put(core, "k", b"first")
    await core.store.objects.delete(ALICE, BUCKET, "k")
    await put(core, "k", b"again", WriteOptions(condition=WriteCondition(if_none_match=True)))
    assert await get(core, "k") == b"again"


async def test_if_match(core: Core) -> None:
    first = await put(core, "k", b"first")
    with pytest.raises(PreconditionFailed):
        await put(core, "k", b"x", WriteOptions(condition=WriteCondition(if_match="0" * 32)))
    assert await get(core, "k") == b"first"
    ok = WriteOptions(condition=WriteCondition(if_match=f'"{first.etag}"'))
    await put(core, "k", b"second", ok)
    assert await get(core, "k") == b"second"
    with pytest.raises(NoSuchKey):
        await put(core, "absent", b"x", WriteOptions(condition=WriteCondition(if_match="*")))


async def test_conditional_copy(core: Core) -> None:
    await put(core, "src", b"data")
    await put(core, "dst", b"other")
    with pytest.raises(PreconditionFailed):
        await core.store.objects.copy(
            ALICE,
            (BUCKET, "src", None),
            BUCKET,
            "dst",
            CopyOptions(condition=WriteCondition(if_none_match=True)),
        )
    assert await get(core, "dst") == b"other"


# -- ownership ---------------------------------------------------------------------


async def test_another_tenant_is_denied(core: Core) -> None:
    await put(core, "k", b"secret")
    objects = core.store.objects
    with pytest.raises(AccessDenied):
        await objects.put(BOB, BUCKET, "k", body(b"mine"), WriteOptions())
    with pytest.raises(AccessDenied):
        await objects.head(BOB, BUCKET, "k")
    with pytest.raises(AccessDenied):
        await objects.delete(BOB, BUCKET, "k")
    with pytest.raises(AccessDenied):
        await core.store.listing.list(BOB, BUCKET)
    with pytest.raises(AccessDenied):
        await core.store.buckets.set_versioning(BOB, BUCKET, Versioning.ENABLED)
    await core.store.buckets.create(BOB, "bobs")
    with pytest.raises(AccessDenied):
        await objects.copy(BOB, (BUCKET, "k", None), "bobs", "stolen", CopyOptions())
    with pytest.raises(AccessDenied):
        await objects.copy(ALICE, (BUCKET, "k", None), "bobs", "gift", CopyOptions())
    with pytest.raises(AccessDenied):
        await core.store.multipart.create(BOB, BUCKET, "k", WriteOptions())
    assert await get(core, "k") == b"secret"
    assert await core.meta.get_version("bobs", "stolen") is None


# -- checksums ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CRC32", "crc32", "sha256"])
@pytest.mark.parametrize("size", [10, 2 * BLOCK + 1])
async def test_checksum_algorithm_names_in_any_case(core: Core, name: str, size: int) -> None:
    data = pattern(size)
    expected = checksum_b64(name, data)
    opts = WriteOptions(
        checksum_algorithms=(name,), expected_checksums=lambda: {name.upper(): expected}
    )
    version = await put(core, "k", data, opts)
    assert dict(version.checksums) == {name.upper(): expected}
    assert version.checksum_type == "FULL_OBJECT"


# -- uploads and the collector -------------------------------------------------------


async def test_slow_upload_keeps_its_blocks_through_collections(core: Core) -> None:
    pieces = [pattern(BLOCK, seed=20 + i) for i in range(4)] + [b"tail"]

    async def slow() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
            # Most of a grace period passes before the next piece arrives, and
            # the collector runs meanwhile.
            core.clock.advance(0.6 * GRACE)
            await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())

    version = await core.store.objects.put(ALICE, BUCKET, "slow", slow(), WriteOptions())
    assert await get(core, "slow") == b"".join(pieces)
    assert await core.missing([e.digest for e in version.extents]) == set()


async def test_upload_stalled_past_the_grace_period_fails_cleanly(core: Core) -> None:
    old = pattern(BLOCK + 1, seed=30)
    await put(core, "k", old)

    first = pattern(BLOCK, seed=31)
    digest = hashlib.sha256(first).digest()

    async def stalled() -> AsyncIterator[bytes]:
        yield first
        while await core.missing([digest]):  # until its first block is stored
            await asyncio.sleep(0)
        core.clock.advance(2 * GRACE)
        await collect(core.meta, core.blobs, grace=GRACE, now=core.clock())
        yield pattern(BLOCK, seed=32)

    # Its first block was collected while it stalled: it must not commit a
    # version that points at a block that is gone.
    with pytest.raises(StorageError):
        await core.store.objects.put(ALICE, BUCKET, "k", stalled(), WriteOptions())
    assert await get(core, "k") == old
