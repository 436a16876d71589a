"""The audit log as an operator reads it through a running server: signed
heads, records by query, and the proofs that tie a record or an older head
to a newer one (checked offline with the public key alone: core.audit.export).

Every answer is about the log as sealed so far; the sealing job may be a
few seconds behind the change log.
"""

from __future__ import annotations

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


class AuditReader:
    def __init__(self, log: AuditLog, signer: Signer, clock: Clock) -> None:
        self.log = log
        self.signer = signer
        self.clock = clock

    def public_key(self) -> str:
        return self.signer.public_key_pem()

    async def checkpoint(self) -> str:
        """The current head, signed now (and kept with the others)."""
        return await self.log.checkpoint(self.signer, int(self.clock()))

    async def export(self, since: float | None, until: float | None) -> list[str]:
        """The records of [since, until) with their proofs and a head signed now
        (core.audit.export's JSON Lines), as `dolium audit export` writes them."""
        size = await self.log.store.size()
        first = await self.log.first_at(since, 0)
        end = await self.log.first_at(until, size)
        return list(await self.log.export(self.signer, first, end, int(self.clock())))

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        return await self.log.store.search(query)

    async def _size(self, size: int | None) -> int:
        head = await self.log.store.size()
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
        first = await self.log.first_held()
        if index < first:
            raise NoSuchRecord(f"record {index} was offloaded (records from {first} are held)")
        (entry,) = await self.log.store.entries(index, index + 1)
        proof = await self.log.inclusion_proof(index, size)
        return Inclusion(entry, size, await self.log.root_at(size), proof)

    async def consistency(self, old: int, new: int | None = None) -> tuple[int, bytes, list[bytes]]:
        """The proof that the tree of `old` records is a prefix of the one of `new`."""
        new = await self._size(new)
        if not 1 <= old <= new:
            raise NoSuchRecord(f"no consistency proof from {old} records to {new}")
        return new, await self.log.root_at(new), await self.log.consistency_proof(old, new)
