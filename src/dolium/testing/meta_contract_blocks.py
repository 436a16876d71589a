"""Contract tests of block reference counts and leases (part of meta_contract).

A meta store counts the references to each block, per storage policy, in
the transaction of every write that adds or removes them, and keeps the
leases writers take. These tests see the counts only as the collector does:
through `claim_garbage`, `forget_blocks` and `lease_blocks`.
"""

from __future__ import annotations

import dataclasses

from dolium.model import UNVERSIONED_ID, BlockRef, Extent, MultipartUpload
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_objects import (
    digest,
    extents,
    make_bucket,
    part,
    upload,
    version,
)

STANDARD = "standard"
NOW = 1000.0


def ref(n: int, policy: str = STANDARD) -> BlockRef:
    return BlockRef(policy, digest(n))


async def garbage(meta: MetaStore, now: float = NOW, limit: int = 1000) -> set[BlockRef]:
    """Claim every garbage block, then forget them as a collector would once deleted."""
    found = await meta.claim_garbage(now=now, stale_before=now - 100, limit=limit)
    await meta.forget_blocks(found)
    return set(found)


class TestBlockRefs:
    async def test_versions_count_their_blocks(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "v1", extents=extents(1, 2, 2)))
        await meta.put_version(version("b1", "b", "v1", extents=extents(2, 3)))
        assert await garbage(meta) == set()
        await meta.delete_version("b1", "a", "v1")
        assert await garbage(meta) == {ref(1)}
        await meta.delete_version("b1", "b", "v1")
        assert await garbage(meta) == {ref(2), ref(3)}
        assert await garbage(meta) == set()

    async def test_block_counts_tell_blocks_and_references(self, meta: MetaStore) -> None:
        assert await meta.block_counts() == {}
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "v1", extents=extents(1, 2, 2)))
        await meta.put_version(version("b1", "b", "v1", extents=extents(2, 3)))
        # Blocks 1, 2, 3; block 2 referenced three times.
        assert await meta.block_counts() == {STANDARD: (3, 5)}
        await meta.delete_version("b1", "a", "v1")
        assert await meta.block_counts() == {STANDARD: (2, 2)}

    async def test_a_replaced_version_releases_its_blocks(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "k", UNVERSIONED_ID, extents=extents(1, 2)))
        await meta.put_version(version("b1", "k", UNVERSIONED_ID, extents=extents(2, 3)))
        assert await garbage(meta) == {ref(1)}

    async def test_parts_count_until_complete_or_abort(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.create_upload(upload("b1", "k", "up2"))
        await meta.put_part("b1", part("up1", 1, digest(1)))
        await meta.put_part("b1", part("up1", 1, digest(2)))  # replaces part 1
        await meta.put_part("b1", part("up2", 1, digest(3)))
        assert await garbage(meta) == {ref(1)}
        done = version("b1", "k", "v1", extents=(Extent(digest(2), 5),))
        await meta.complete_upload("b1", "up1", done)
        await meta.abort_upload("b1", "up2")
        assert await garbage(meta) == {ref(3)}
        await meta.delete_version("b1", "k", "v1")
        assert await garbage(meta) == {ref(2)}

    async def test_deleting_a_bucket_releases_its_uploads(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(upload("b1", "k", "up1"))
        await meta.put_part("b1", part("up1", 1, digest(1), digest(2)))
        assert await garbage(meta) == set()
        await meta.delete_bucket("b1")
        assert await garbage(meta) == {ref(1), ref(2)}

    async def test_policies_count_apart(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "v1", extents=extents(1)))
        await meta.put_version(version("b1", "b", "v1", extents=extents(1), policy="cold"))
        up = dataclasses.replace(upload("b1", "m", "up1"), policy="cold")
        await meta.create_upload(up)
        await meta.put_part("b1", dataclasses.replace(part("up1", 1, digest(2)), policy="cold"))
        stored = await meta.get_version("b1", "b")
        assert stored is not None and stored.policy == "cold"
        assert await meta.get_upload("b1", "up1") == up
        assert [p.policy for p in await meta.list_parts("b1", "up1")] == ["cold"]
        found = {r async for r in meta.referenced_blocks()}
        assert found == {ref(1), ref(1, "cold"), ref(2, "cold")}
        await meta.delete_version("b1", "b", "v1")
        await meta.abort_upload("b1", "up1")
        assert await garbage(meta) == {ref(1, "cold"), ref(2, "cold")}

    async def test_a_lease_keeps_an_unreferenced_block(self, meta: MetaStore) -> None:
        busy = await meta.lease_blocks([ref(1), ref(2)], "w1", now=NOW, until=NOW + 10)
        assert busy == set()
        assert await garbage(meta, now=NOW + 5) == set()
        # Renewed by its holder; another holder's lease ends on its own.
        assert await meta.lease_blocks([ref(1)], "w1", now=NOW + 5, until=NOW + 30) == set()
        assert await meta.lease_blocks([ref(2)], "w2", now=NOW + 5, until=NOW + 12) == set()
        assert await garbage(meta, now=NOW + 20) == {ref(2)}
        assert await garbage(meta, now=NOW + 30) == {ref(1)}

    async def test_a_leased_block_once_referenced_stays(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.lease_blocks([ref(1)], "w1", now=NOW, until=NOW + 10)
        await meta.put_version(version("b1", "k", "v1", extents=extents(1)))
        assert await garbage(meta, now=NOW + 50) == set()

    async def test_a_block_being_deleted_cannot_be_leased(self, meta: MetaStore) -> None:
        await meta.lease_blocks([ref(1), ref(2)], "w1", now=NOW, until=NOW + 1)
        claimed = await meta.claim_garbage(now=NOW + 5, stale_before=NOW - 100, limit=10)
        assert set(claimed) == {ref(1), ref(2)}
        busy = await meta.lease_blocks([ref(1), ref(3)], "w2", now=NOW + 6, until=NOW + 20)
        assert busy == {ref(1)}
        # Claimed once: a second claim in the same pass does not return it.
        assert await meta.claim_garbage(now=NOW + 6, stale_before=NOW - 100, limit=10) == []
        await meta.forget_blocks(claimed)
        assert await meta.lease_blocks([ref(1)], "w2", now=NOW + 7, until=NOW + 20) == set()
        assert await garbage(meta, now=NOW + 8) == set()

    async def test_a_stale_claim_is_taken_up_again(self, meta: MetaStore) -> None:
        await meta.lease_blocks([ref(1)], "w1", now=NOW, until=NOW + 1)
        assert await meta.claim_garbage(now=NOW + 5, stale_before=0.0, limit=10) == [ref(1)]
        assert await meta.claim_garbage(now=NOW + 9, stale_before=NOW, limit=10) == []
        assert await meta.claim_garbage(now=NOW + 9, stale_before=NOW + 6, limit=10) == [ref(1)]

    async def test_a_block_referenced_while_claimed_is_kept(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.lease_blocks([ref(1)], "w1", now=NOW, until=NOW + 1)
        claimed = await meta.claim_garbage(now=NOW + 5, stale_before=0.0, limit=10)
        # A writer that outlived its lease commits a reference meanwhile.
        await meta.put_version(version("b1", "k", "v1", extents=extents(1)))
        await meta.forget_blocks(claimed)
        assert await meta.lease_blocks([ref(1)], "w2", now=NOW + 6, until=NOW + 9) == set()
        assert await garbage(meta, now=NOW + 50) == set()
        await meta.delete_version("b1", "k", "v1")
        assert await garbage(meta, now=NOW + 50) == {ref(1)}

    async def test_claims_come_in_batches(self, meta: MetaStore) -> None:
        refs = [ref(n) for n in range(25)]
        await meta.lease_blocks(refs, "w1", now=NOW, until=NOW + 1)
        seen: set[BlockRef] = set()
        while batch := await meta.claim_garbage(now=NOW + 5, stale_before=0.0, limit=10):
            assert len(batch) <= 10
            seen.update(batch)
            await meta.forget_blocks(batch)
        assert seen == set(refs)

    async def test_uploads_keep_their_policy(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        made = MultipartUpload("b1", "k", "up1", 1.0, "t1", policy="cold")
        await meta.create_upload(made)
        assert await meta.get_upload("b1", "up1") == made
