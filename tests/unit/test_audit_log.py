"""Sealing the change log into the audit tree, and what the sealed log proves."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dolium.backends.audit_memory import MemoryAuditStore
from dolium.backends.audit_sqlite import SqliteAuditStore
from dolium.backends.meta_memory.store import MemoryMetaStore
from dolium.core.audit import export, merkle
from dolium.core.audit.checkpoint import Signer
from dolium.core.audit.log import CONSUMER, AuditLog, record_of
from dolium.errors import AppendConflict, StorageError
from dolium.model import Actor, Bucket, ObjectVersion
from dolium.protocols.audit import AuditEntry, AuditQuery, NodeKey

ALICE = Actor(
    tenant="t1", user="alice", access_key="AKIDALICE", address="192.0.2.7", request_id="R9"
)


async def _writes(meta: MemoryMetaStore, n: int) -> None:
    if not await meta.get_bucket("photos"):
        await meta.create_bucket(Bucket("photos", "t1", created=1.0), actor=ALICE)
    for i in range(n):
        v = ObjectVersion("photos", f"k{i}", f"v{i}", size=i, etag=f"e{i}")
        await meta.put_version(v, actor=ALICE)


async def test_every_change_is_sealed_once_in_order_with_its_actor() -> None:
    meta, store = MemoryMetaStore(), MemoryAuditStore()
    log = AuditLog(store)
    await _writes(meta, 5)
    assert await log.seal(meta, page=2) == 6
    assert await log.seal(meta) == 0  # nothing new
    await _writes(meta, 2)
    assert await log.seal(meta) == 2
    changes = await meta.changes(0, 100)
    entries = await store.entries(0, 100)
    assert [e.seq for e in entries] == [c.serial for c in changes]
    assert [e.index for e in entries] == list(range(8))
    assert await meta.cursor(CONSUMER) == changes[-1].serial
    put = json.loads(entries[1].record)
    assert put == record_of(changes[1])
    assert put["action"] == "object.put" and put["resource"] == "photos/k0"
    assert put["actor"] == {
        "tenant": "t1", "user": "alice", "access_key": "AKIDALICE",
        "address": "192.0.2.7", "request_id": "R9",
    }  # fmt: skip
    assert (put["size"], put["etag"], put["version_id"]) == (0, "e0", "v0")
    assert entries[1].actor == "t1:alice" and entries[1].resource == "photos/k0"
    # The head is the RFC 9162 root of the records, as anyone would compute it.
    size, root = await log.head()
    assert (size, root) == (8, merkle.root_of([merkle.leaf_hash(e.record) for e in entries]))


async def test_a_second_sealer_that_lost_the_race_starts_again_from_the_store() -> None:
    meta, store = MemoryMetaStore(), MemoryAuditStore()
    first, second = AuditLog(store), AuditLog(store)
    await _writes(meta, 3)
    await first.seal(meta)
    await second.head()  # loads its frontier, then falls behind
    await _writes(meta, 1)
    await first.seal(meta)
    await _writes(meta, 1)
    assert await second.seal(meta) == 1  # resumes from the store's last entry
    entries = await store.entries(0, 100)
    assert [e.seq for e in entries] == [c.serial for c in await meta.changes(0, 100)]


class _Raced(MemoryAuditStore):
    """A log where, just before each of the first `races` appends, a rival sealer appends."""

    def __init__(self, meta: MemoryMetaStore, races: int) -> None:
        super().__init__()
        self.meta, self.races, self.rival = meta, races, False

    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        if self.races and not self.rival:
            self.races -= 1
            self.rival = True
            await AuditLog(self).seal(self.meta)
            await _writes(self.meta, 1)  # so that the loser has something to seal again
            self.rival = False
        await super().append(entries, nodes)


async def test_a_sealer_that_loses_the_race_to_append_seals_again_from_the_store() -> None:
    meta = MemoryMetaStore()
    store = _Raced(meta, races=2)
    await _writes(meta, 3)
    await AuditLog(store).seal(meta)  # the CLI sealing while the server does
    entries = await store.entries(0, 100)
    assert [e.seq for e in entries] == [c.serial for c in await meta.changes(0, 100)]
    assert [e.index for e in entries] == list(range(6))


async def test_a_sealer_that_keeps_losing_the_race_says_so() -> None:
    meta = MemoryMetaStore()
    await _writes(meta, 1)
    with pytest.raises(AppendConflict):
        await AuditLog(_Raced(meta, races=3)).seal(meta, attempts=3)


async def test_proofs_from_the_stored_nodes_verify() -> None:
    meta, store = MemoryMetaStore(), MemoryAuditStore()
    log = AuditLog(store)
    await _writes(meta, 20)
    await log.seal(meta, page=7)
    size, root = await log.head()
    leaves = [merkle.leaf_hash(e.record) for e in await store.entries(0, size)]
    for index in range(size):
        proof = await log.inclusion_proof(index, size)
        assert proof == merkle.inclusion_proof(index, size, merkle.ranges(leaves))
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    for old in range(size + 1):
        proof = await log.consistency_proof(old, size)
        assert merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)


async def test_an_export_verifies_and_an_edit_of_the_database_is_caught(tmp_path: Path) -> None:
    meta = MemoryMetaStore()
    store = SqliteAuditStore(tmp_path / "audit.db")
    log = AuditLog(store)
    signer = Signer("dolium-audit-test", Ed25519PrivateKey.generate())
    await _writes(meta, 6)
    await log.seal(meta)
    saved = await log.checkpoint(signer, time=1)
    await _writes(meta, 4)
    await log.seal(meta)
    lines = list(await log.export(signer, 0, 1 << 62, time=2))
    result = export.verify(lines, signer.public, saved)
    assert result.whole and result.head.size == 11
    part = list(await log.export(signer, 3, 5, time=3))
    assert export.verify(part, signer.public).end == 5
    # Someone with the database file rewrites record 2 and everything above it.
    await store.close()
    db = sqlite3.connect(tmp_path / "audit.db")
    (record,) = db.execute("SELECT record FROM entries WHERE idx = 2").fetchone()
    forged = json.dumps(json.loads(record) | {"actor": {"tenant": "t1", "user": "mallory"}})
    db.execute(
        "UPDATE entries SET record = ? WHERE idx = 2", (export.canonical(json.loads(forged)),)
    )
    db.commit()
    db.close()
    edited = AuditLog(SqliteAuditStore(tmp_path / "audit.db"))
    with pytest.raises(export.Tampered, match="record 2 is not the one"):
        export.verify(list(await edited.export(signer, 0, 1 << 62, time=4)), signer.public)


async def test_search_goes_through_the_store() -> None:
    meta, store = MemoryMetaStore(), MemoryAuditStore()
    await _writes(meta, 3)
    await AuditLog(store).seal(meta)
    found = await store.search(AuditQuery(term="k1", actor="t1:alice"))
    assert [json.loads(e.record)["key"] for e in found] == ["k1"]


async def test_offloaded_records_leave_a_log_that_still_proves_itself() -> None:
    meta, store = MemoryMetaStore(), MemoryAuditStore()
    log = AuditLog(store)
    signer = Signer("dolium-audit-test", Ed25519PrivateKey.generate())
    await _writes(meta, 9)
    await log.seal(meta)
    saved = await log.checkpoint(signer, time=1)
    kept: list[list[str]] = []

    async def keep(lines: list[str]) -> None:
        kept.append(lines)

    assert await log.offload(signer, 6, time=2, keep=keep) == (0, 6)
    segment = export.verify(kept[0], signer.public, saved)
    assert (segment.first, segment.end) == (0, 6)
    assert [e.index for e in await store.entries(0, 100)] == [6, 7, 8, 9]
    await _writes(meta, 2)
    await log.seal(meta)
    rest = list(await log.export(signer, await log.first_held(), 1 << 40, time=3))
    result = export.verify(rest, signer.public, saved)
    assert (result.first, result.end, result.head.size) == (6, 12, 12)
    with pytest.raises(StorageError, match="offloaded"):
        await log.export(signer, 0, 1 << 40, time=4)

    # A keeper that fails drops nothing.
    async def refuse(lines: list[str]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        await log.offload(signer, 10, time=5, keep=refuse)
    assert [e.index for e in await store.entries(0, 100)] == [6, 7, 8, 9, 10, 11]
