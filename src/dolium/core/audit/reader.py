"""The audit log as an operator reads it through a running server: signed
heads, records by query, and the proofs that tie a record or an older head
to a newer one (checked offline with the public key alone: core.audit.export).

Every answer is about the log as sealed so far; the sealing job may be a
few seconds behind the change log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dolium.core.audit.checkpoint import Signer
from dolium.core.audit.log import AuditLog
from dolium.core.clock import Clock
from dolium.errors import NotFound
from dolium.protocols.audit import AuditEntry, AuditQuery


@dataclass(frozen=True, slots=True)
class Inclusion:
    entry: AuditEntry
    size: int
    root: bytes
    proof: list[bytes]


class NoSuchRecord(NotFound):
    pass


# Opens the log's store and loads its signing key: (the log, its signer).
Opener = Callable[[], Awaitable[tuple[AuditLog, Signer]]]


class AuditReader:
    """Opened on first use, not at start: worker processes starting together
    would race to create the store's schema (SQLite answers "database is
    locked"), while the first use comes long after the jobs' holder made it."""

    def __init__(self, opener: Opener, clock: Clock) -> None:
        self._opener = opener
        self._opened: tuple[AuditLog, Signer] | None = None
        self._lock = asyncio.Lock()
        self.clock = clock

    async def opened(self) -> tuple[AuditLog, Signer]:
        async with self._lock:
            if self._opened is None:
                self._opened = await self._opener()
            return self._opened

    async def close(self) -> None:
        if self._opened is not None:
            await self._opened[0].store.close()

    async def public_key(self) -> str:
        return (await self.opened())[1].public_key_pem()

    async def checkpoint(self) -> str:
        """The current head, signed now (and kept with the others)."""
        log, signer = await self.opened()
        return await log.checkpoint(signer, int(self.clock()))

    async def export(self, since: float | None, until: float | None) -> list[str]:
        """The records of [since, until) with their proofs and a head signed now
        (core.audit.export's JSON Lines), as `dolium audit export` writes them."""
        log, signer = await self.opened()
        size = await log.store.size()
        first = await log.first_at(since, 0)
        end = await log.first_at(until, size)
        return list(await log.export(signer, first, end, int(self.clock())))

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        log, _ = await self.opened()
        return await log.store.search(query)

    async def _size(self, size: int | None) -> int:
        log, _ = await self.opened()
        head = await log.store.size()
        if size is None:
            return head
        if not 1 <= size <= head:
            raise NoSuchRecord(f"no tree of {size} records: the log holds {head}")
        return size

    async def inclusion(self, index: int, size: int | None = None) -> Inclusion:
        """Record `index` and the proof that it is in the tree of `size` records."""
        size = await self._size(size)
        if not 0 <= index < size:
            raise NoSuchRecord(f"no record {index} in a tree of {size}")
        log, _ = await self.opened()
        first = await log.first_held()
        if index < first:
            raise NoSuchRecord(f"record {index} was offloaded (records from {first} are held)")
        (entry,) = await log.store.entries(index, index + 1)
        proof = await log.inclusion_proof(index, size)
        return Inclusion(entry, size, await log.root_at(size), proof)

    async def consistency(self, old: int, new: int | None = None) -> tuple[int, bytes, list[bytes]]:
        """The proof that the tree of `old` records is a prefix of the one of `new`."""
        new = await self._size(new)
        if not 1 <= old <= new:
            raise NoSuchRecord(f"no consistency proof from {old} records to {new}")
        log, _ = await self.opened()
        return new, await log.root_at(new), await log.consistency_proof(old, new)
