"""Block references and leases of the in-memory meta store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable

from dolium.backends.meta_memory.state import MemoryState, _Upload
from dolium.model import (
    BlockRef,
    Extent,
)


class MemoryBlocks(MemoryState):
    # -- block references and leases ------------------------------------------------
    def _count(self, policy: str, extents: Iterable[Extent], delta: int) -> None:
        for extent in extents:
            ref = BlockRef(policy, extent.digest)
            refs = self._refs.get(ref, 0) + delta
            self._refs[ref] = refs
            if refs == 0:
                self._unreferenced.add(ref)
            else:
                self._unreferenced.discard(ref)

    async def block_counts(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, tuple[int, int]] = {}
        for ref, refs in self._refs.items():
            if refs > 0:
                blocks, total = counts.get(ref.policy, (0, 0))
                counts[ref.policy] = (blocks + 1, total + refs)
        return counts

    def _uncount_parts(self, upload: _Upload) -> None:
        for p in upload.parts.values():
            self._count(p.policy, p.extents, -1)

    async def lease_blocks(
        self, refs: Collection[BlockRef], holder: str, *, now: float, until: float
    ) -> set[BlockRef]:
        async with self._lock:
            busy: set[BlockRef] = set()
            for ref in refs:
                if ref in self._doomed:
                    busy.add(ref)
                    continue
                if ref not in self._refs:
                    self._refs[ref] = 0
                    self._unreferenced.add(ref)
                self._leases.setdefault(ref, {})[holder] = until
            return busy

    async def claim_garbage(self, *, now: float, stale_before: float, limit: int) -> list[BlockRef]:
        async with self._lock:
            for ref in [r for r, held in self._leases.items() if max(held.values()) <= now]:
                del self._leases[ref]
            found: list[BlockRef] = []
            for ref in self._unreferenced:
                if len(found) >= limit:
                    break
                marked = self._doomed.get(ref)
                if ref in self._leases or (marked is not None and marked >= stale_before):
                    continue
                found.append(ref)
            for ref in found:
                self._doomed[ref] = now
            return found

    async def forget_blocks(self, refs: Collection[BlockRef]) -> None:
        async with self._lock:
            for ref in refs:
                if self._doomed.pop(ref, None) is not None and self._refs.get(ref) == 0:
                    del self._refs[ref]
                    self._unreferenced.discard(ref)

    async def referenced_blocks(self) -> AsyncIterator[BlockRef]:
        async with self._lock:  # a snapshot, taken atomically
            found = [
                BlockRef(p.policy, e.digest)
                for table in self._uploads.values()
                for u in table.values()
                for p in u.parts.values()
                for e in p.extents
            ]
            found += [
                BlockRef(v.policy, e.digest)
                for chains in self._chains.values()
                for chain in chains.values()
                for v in chain
                for e in v.extents
            ]
        for ref in found:
            yield ref

    async def referenced_digests(self) -> AsyncIterator[bytes]:
        async for ref in self.referenced_blocks():
            yield ref.digest
