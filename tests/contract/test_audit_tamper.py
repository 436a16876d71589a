"""Every way of editing a stored audit log, on every store, is caught by an offline verifier.

The log is sealed from a real change log, a head is signed and saved, then
someone with write access to the store edits it underneath: a record
changed, removed, inserted or reordered, or the log cut back behind the
saved head. An export made afterwards (by the code, from the edited store)
must not verify against the saved head with the public key.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dolium.backends.audit_files import FileAuditStore
from dolium.backends.audit_postgres import PostgresAuditStore
from dolium.backends.audit_sqlite import SqliteAuditStore
from dolium.backends.meta_memory.store import MemoryMetaStore
from dolium.core.audit import export
from dolium.core.audit.checkpoint import Signer
from dolium.core.audit.log import AuditLog
from dolium.errors import StorageError
from dolium.model import Bucket, ObjectVersion
from dolium.protocols.audit import AuditEntry, AuditStore
from support.postgres import postgres

STORES = ["sqlite", "postgres", "files"]
# (name, rows) -> rows: what an editor does to the entries, by index order.
Edit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def _modify(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    record = json.loads(rows[3]["record"]) | {"actor": {"tenant": "t1", "user": "mallory"}}
    rows[3] = rows[3] | {"record": export.canonical(record)}
    return rows


def _remove(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"idx": i} for i, r in enumerate(rows[:3] + rows[4:])]


def _insert(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    forged = rows[2] | {"record": export.canonical({"action": "object.put", "seq": 0})}
    return [r | {"idx": i} for i, r in enumerate([*rows[:3], forged, *rows[3:]])]


def _reorder(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows[2], rows[3] = rows[3] | {"idx": 2}, rows[2] | {"idx": 3}
    return rows


def _truncate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:4]


EDITS: dict[str, Edit] = {
    "modified": _modify,
    "removed": _remove,
    "inserted": _insert,
    "reordered": _reorder,
    "truncated": _truncate,
}


async def _open(kind: str, tmp: Path) -> AuditStore:
    if kind == "sqlite":
        return SqliteAuditStore(tmp / "audit.db")
    if kind == "files":
        return await FileAuditStore.open(root=str(tmp / "audit"))
    return await PostgresAuditStore.open(dsn=postgres().database(str(tmp)))


async def _rewrite(kind: str, tmp: Path, store: AuditStore, edit: Edit) -> AuditStore:
    """Rewrite the entries underneath the store (its tree nodes stay as they were)."""
    cols = ("idx", "seq", "time", "actor", "resource", "record")
    entries = await store.entries(0, 1 << 40)
    rows = edit(
        [
            dict(zip(cols, (e.index, e.seq, e.time, e.actor, e.resource, e.record), strict=True))
            for e in entries
        ]
    )
    await store.close()
    if kind == "sqlite":
        with sqlite3.connect(tmp / "audit.db") as db:
            db.execute("DELETE FROM entries")
            db.executemany(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                [tuple(r[c] for c in cols) for r in rows],
            )
    elif kind == "postgres":
        conn = await asyncpg.connect(postgres().database(str(tmp)))
        try:
            await conn.execute("DELETE FROM audit_entries")
            await conn.executemany(
                "INSERT INTO audit_entries VALUES ($1, $2, $3, $4, $5, $6)",
                [tuple(r[c] for c in cols) for r in rows],
            )
        finally:
            await conn.close()
    else:
        root = tmp / "audit"
        for name in ("entries.log", "entries.idx", "committed"):
            os.unlink(root / name)
        fresh = FileAuditStore(root)
        # Appends check nothing but the index: the editor writes what it likes.
        fresh_entries = [
            AuditEntry(r["idx"], r["seq"], r["time"], r["actor"], r["resource"], r["record"])
            for r in rows
        ]
        fresh._append_sync(fresh_entries, {})
    return await _open(kind, tmp)


@pytest.mark.parametrize("kind", STORES)
@pytest.mark.parametrize("how", sorted(EDITS))
async def test_an_edited_store_does_not_verify(kind: str, how: str, tmp_path: Path) -> None:
    meta = MemoryMetaStore()
    await meta.create_bucket(Bucket("photos", "t1", created=1.0))
    for i in range(5):
        await meta.put_version(ObjectVersion("photos", f"k{i}", f"v{i}", size=i, etag=f"e{i}"))
    signer = Signer("dolium-audit-test", Ed25519PrivateKey.generate())
    store = await _open(kind, tmp_path)
    log = AuditLog(store)
    await log.seal(meta)
    saved = await log.checkpoint(signer, time=1)
    honest = list(await log.export(signer, 0, 1 << 40, time=2))
    assert export.verify(honest, signer.public, saved).whole
    edited = await _rewrite(kind, tmp_path, store, EDITS[how])
    try:
        with pytest.raises((export.Tampered, StorageError)):
            lines = list(await AuditLog(edited).export(signer, 0, 1 << 40, time=3))
            export.verify(lines, signer.public, saved)
    finally:
        await edited.close()
