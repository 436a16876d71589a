"""The core's renames: versions and path record carried, who may rename, and onto what."""

from __future__ import annotations

import pytest
from corekit import ALICE, BOB, Core, body, make_core

from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, Conflict

BUCKET = "moves"


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    for key in ("a", "taken"):
        await c.store.objects.put(ALICE, BUCKET, key, body(b"x"), WriteOptions())
    return c


async def test_rename_carries_the_path_record(core: Core) -> None:
    moves = core.store.moves
    uuid = (await core.meta.get_path(BUCKET, "a")).uuid  # type: ignore[union-attr]
    assert await moves.is_free(BUCKET, "b") and not await moves.is_free(BUCKET, "a")
    record = await moves.rename(ALICE, BUCKET, "a", BUCKET, "b")
    assert record.key == "b" and record.uuid == uuid
    assert await moves.is_free(BUCKET, "a")
    assert (await core.store.objects.head(ALICE, BUCKET, "b")).size == 1


async def test_rename_is_refused_to_strangers_and_onto_objects(core: Core) -> None:
    moves = core.store.moves
    with pytest.raises(AccessDenied):
        await moves.check_may_move(BOB, BUCKET, "a")
    with pytest.raises(AccessDenied):
        await moves.rename(BOB, BUCKET, "a", BUCKET, "b")
    with pytest.raises(Conflict):
        await moves.rename(ALICE, BUCKET, "a", BUCKET, "taken")
    await moves.check_may_move(ALICE, BUCKET, "a")
