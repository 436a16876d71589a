"""`replicate`: n copies of every block over n child stores.

A put is acknowledged once every child has stored its copy durably (a
child that fails fails the put: the core retries or reports it, and
nothing half-replicated is acknowledged). A get reads the children in the
order the policy lists them and returns the first copy that checks (each
copy carries its own SHA-256, see `checksum_frame`); the copies it found
missing or damaged on the way are rewritten from the good one before the
answer (repair on read). Copies it did not need to read are checked by
`verify` / `repair` (RedundantStore), which the scrubber calls.

`has` is true when any child holds the block: the block can be read, which
is what the core asks (a copy or a completed upload checks its blocks are
there); whether every copy is there is `verify`'s question. Every put writes
to every child, so storing a block again fills the children that lack it.
A child that cannot be reached fails `delete`, and `has` only when no other
child holds the block; a `get` reads past it.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING

from dolium import errors
from dolium.modules import checksum_frame
from dolium.protocols.blob import BlobStore, BlockState, RedundantStore

log = logging.getLogger("dolium.modules.replicate")


class ReplicateStore:
    name = "replicate"

    def __init__(self, children: Sequence[BlobStore]) -> None:
        self.children = list(children)
        self._counts = {"repairs": 0, "damaged_reads": 0}
        self._closed = False

    @classmethod
    async def open(cls, stores: Sequence[BlobStore]) -> ReplicateStore:
        if len(stores) < 2:
            raise errors.ConfigError(
                f"module 'replicate': needs 2 or more stores, got {len(stores)} "
                '(e.g. stores = ["d1", "d2", "d3"])'
            )
        return cls(stores)

    async def put(self, digest: bytes, data: bytes) -> None:
        framed = await checksum_frame.frame(data)
        results = await asyncio.gather(
            *(child.put(digest, framed) for child in self.children), return_exceptions=True
        )
        _raise_first(results)

    async def _read(
        self, child: BlobStore, digest: bytes, seen: set[str] | None = None
    ) -> tuple[bytes | None, bytes | None]:
        """(payload, stored copy) from one child; (None, None) if missing, damaged or
        unreadable, which `seen` collects as "missing", "damaged" and "failed"."""
        found = seen if seen is not None else set()
        try:
            stored = await child.get(digest)
        except errors.BlockNotFound:
            found.add("missing")
            return None, None
        except errors.StorageError as exc:
            log.warning("replica of block %s unreadable: %s", digest.hex(), exc)
            found.add("failed")
            return None, None
        payload = await checksum_frame.unframe(stored)
        if payload is None:
            found.add("damaged")
        return payload, stored

    async def get(self, digest: bytes) -> bytes:
        bad: builtins.list[BlobStore] = []
        seen: set[str] = set()
        for child in self.children:
            payload, stored = await self._read(child, digest, seen)
            if payload is not None and stored is not None:
                if bad:
                    self._counts["damaged_reads"] += 1
                    await self._rewrite(bad, digest, stored)
                return payload
            bad.append(child)
        # No good copy: say why as the other stores do, so that a check
        # reports a block as missing only when no store holds any copy.
        name = digest.hex()
        if "damaged" in seen:
            raise errors.CorruptBlock(f"block {name}: every replica is damaged", digest=name)
        if "failed" in seen:
            raise errors.StorageError(f"block {name}: no replica could be read", digest=name)
        raise errors.BlockNotFound(f"block {name} is not stored", digest=name)

    async def _rewrite(self, children: Sequence[BlobStore], digest: bytes, stored: bytes) -> int:
        """Put a good copy back into `children`; how many took it (failures are logged)."""
        done = 0
        for child in children:
            try:
                # A damaged copy is still "stored": a put would keep it.
                await child.delete(digest)
                await child.put(digest, stored)
            except errors.StorageError as exc:
                log.warning("cannot repair a replica of block %s: %s", digest.hex(), exc)
                continue
            done += 1
        self._counts["repairs"] += done
        return done

    async def has(self, digest: bytes) -> bool:
        found = await asyncio.gather(
            *(child.has(digest) for child in self.children), return_exceptions=True
        )
        if any(result is True for result in found):
            return True
        _raise_first(found)
        return False

    async def delete(self, digest: bytes) -> None:
        results = await asyncio.gather(
            *(child.delete(digest) for child in self.children), return_exceptions=True
        )
        _raise_first(results)

    async def list(self) -> AsyncIterator[bytes]:
        # One name per block, however many children hold it: the names seen
        # are kept in memory (a listing is for audits and repairs).
        seen: set[bytes] = set()
        for child in self.children:
            async for digest in child.list():
                if digest not in seen:
                    seen.add(digest)
                    yield digest

    async def _survey(self, digest: bytes) -> tuple[bytes | None, builtins.list[BlobStore]]:
        """A good stored copy (or None) and the children whose copy is missing or bad."""
        good: bytes | None = None
        bad: builtins.list[BlobStore] = []
        for child in self.children:
            payload, stored = await self._read(child, digest)
            if payload is None:
                bad.append(child)
            elif good is None:
                good = stored
        return good, bad

    async def verify(self, digest: bytes) -> BlockState:
        good, bad = await self._survey(digest)
        if good is None:
            return BlockState.LOST
        return BlockState.DEGRADED if bad else BlockState.OK

    async def repair(self, digest: bytes) -> BlockState:
        good, bad = await self._survey(digest)
        if good is None:
            return BlockState.LOST
        if bad and await self._rewrite(bad, digest, good) < len(bad):
            return BlockState.DEGRADED
        return BlockState.OK

    def capabilities(self) -> frozenset[str]:
        shared = frozenset.intersection(*(c.capabilities() for c in self.children))
        return shared | {f"replicas={len(self.children)}"}

    async def statistics(self) -> Mapping[str, int | float]:
        figures = [await child.statistics() for child in self.children]
        out: dict[str, int | float] = {"replicas": len(self.children), **self._counts}
        if all("capacity_bytes" in f for f in figures):
            out["capacity_bytes"] = min(f["capacity_bytes"] for f in figures)
        if all("used_bytes" in f for f in figures):
            out["used_bytes"] = sum(f["used_bytes"] for f in figures)
        if all("blocks" in f for f in figures):
            out["blocks"] = max(f["blocks"] for f in figures)
        return out

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            for child in self.children:
                await child.close()


def _raise_first(results: Sequence[object]) -> None:
    for result in results:
        if isinstance(result, BaseException):
            raise result


if TYPE_CHECKING:

    def _conforms(s: ReplicateStore) -> BlobStore:  # mypy fails if the class drifts
        return s

    def _redundant(s: ReplicateStore) -> RedundantStore:
        return s
