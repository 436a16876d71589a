"""The core's partial updates: ranges overwritten, appends, cuts, sources, and refusals."""

from __future__ import annotations

import pytest
from corekit import ALICE, BLOCK, BOB, Core, body, make_core, read_all

from dolium.core.objects.updates import Edit
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, IncompleteBody, InvalidRange, NoSuchKey

BUCKET = "updates"


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    opts = WriteOptions(content_type="text/plain", meta={"a": "1"})
    await c.store.objects.put(ALICE, BUCKET, "k", body(b"0123456789"), opts)
    return c


async def update(
    core: Core,
    edit: Edit,
    data: bytes | None = None,
    source: tuple[str, str, str | None] | None = None,
) -> bytes:
    stream = body(data) if data is not None else None
    version = await core.store.updates.update(ALICE, BUCKET, "k", edit, stream, source)
    assert version.content_type == "text/plain" and version.meta == {"a": "1"}
    return await read_all(core.store, version)


async def test_overwrite_append_and_cut(core: Core) -> None:
    assert await update(core, Edit(2, 3), b"abc") == b"01abc56789"
    assert await update(core, Edit(8), b"XYZ") == b"01abc567XYZ"
    assert await update(core, Edit(None), b"+") == b"01abc567XYZ+"
    assert await update(core, Edit(0, 1, truncate=4), b"Z") == b"Z1ab"
    assert await update(core, Edit(0, 0, truncate=1)) == b"Z"


async def test_from_a_source_and_across_blocks(core: Core) -> None:
    big = bytes(range(256)) * (3 * BLOCK // 256)
    await core.store.objects.put(ALICE, BUCKET, "src", body(big), WriteOptions())
    got = await update(core, Edit(5, BLOCK + 10), source=(BUCKET, "src", None))
    assert got == b"01234" + big[: BLOCK + 10]


async def test_refusals(core: Core) -> None:
    updates = core.store.updates
    with pytest.raises(InvalidRange):
        await updates.update(ALICE, BUCKET, "k", Edit(11, 1), body(b"x"))
    with pytest.raises(InvalidRange):
        await updates.update(ALICE, BUCKET, "k", Edit(0, 1, total=99), body(b"x"))
    with pytest.raises(IncompleteBody):
        await updates.update(ALICE, BUCKET, "k", Edit(0, 5), body(b"x"))
    with pytest.raises(NoSuchKey):
        await updates.update(ALICE, BUCKET, "none", Edit(0, 1), body(b"x"))
    with pytest.raises(AccessDenied):
        await updates.update(BOB, BUCKET, "k", Edit(0, 1), body(b"x"))
    assert await read_all(core.store, await core.store.objects.head(ALICE, BUCKET, "k")) == (
        b"0123456789"
    )
