"""Contract suite for the leases of background work (MetaStore.hold_lease).

Used as the other contract modules are (see `meta_contract`): `meta` and
`meta_peer` are two handles on one store, as two server processes have.
"""

from __future__ import annotations

import asyncio

from dolium.protocols.meta import MetaStore

T0 = 1_000_000.0


class TestJobLeases:
    async def test_one_holder_at_a_time(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        assert await meta.hold_lease("jobs", "a", now=T0, until=T0 + 10)
        assert not await meta_peer.hold_lease("jobs", "b", now=T0 + 1, until=T0 + 11)
        assert await meta_peer.lease_holder("jobs", now=T0 + 1) == "a"

    async def test_the_holder_renews(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        assert await meta.hold_lease("jobs", "a", now=T0, until=T0 + 10)
        assert await meta.hold_lease("jobs", "a", now=T0 + 5, until=T0 + 15)
        # Renewed: still held past the first expiry.
        assert not await meta_peer.hold_lease("jobs", "b", now=T0 + 12, until=T0 + 22)

    async def test_an_expired_lease_is_taken(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        assert await meta.hold_lease("jobs", "a", now=T0, until=T0 + 10)
        assert await meta_peer.hold_lease("jobs", "b", now=T0 + 10, until=T0 + 20)
        assert await meta.lease_holder("jobs", now=T0 + 11) == "b"
        # The former holder does not get it back by renewing.
        assert not await meta.hold_lease("jobs", "a", now=T0 + 11, until=T0 + 21)
        assert await meta.lease_holder("jobs", now=T0 + 21) is None

    async def test_dropped_by_its_holder_only(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        assert await meta.hold_lease("jobs", "a", now=T0, until=T0 + 10)
        await meta_peer.drop_lease("jobs", "b")
        assert await meta.lease_holder("jobs", now=T0) == "a"
        await meta.drop_lease("jobs", "a")
        assert await meta.lease_holder("jobs", now=T0) is None
        assert await meta_peer.hold_lease("jobs", "b", now=T0 + 1, until=T0 + 11)

    async def test_leases_are_independent(self, meta: MetaStore) -> None:
        assert await meta.hold_lease("gc", "a", now=T0, until=T0 + 10)
        assert await meta.hold_lease("scrub", "b", now=T0, until=T0 + 10)
        assert await meta.lease_holder("gc", now=T0) == "a"
        assert await meta.lease_holder("scrub", now=T0) == "b"

    async def test_racing_takers_one_wins(self, meta: MetaStore, meta_peer: MetaStore) -> None:
        stores = [meta, meta_peer] * 8
        won = await asyncio.gather(
            *(s.hold_lease("race", f"h{n}", now=T0, until=T0 + 10) for n, s in enumerate(stores))
        )
        assert sum(won) == 1
        winner = won.index(True)
        assert await meta.lease_holder("race", now=T0) == f"h{winner}"
