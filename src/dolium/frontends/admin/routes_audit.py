"""Admin routes for the audit log: signed heads, records, and proofs.

Hashes travel as lowercase hex. A verifier needs only the public key
(`/admin/audit/public-key`): a record's leaf hash, its inclusion proof and
a signed head with the same size and root show that the record is in the
log the server signed (RFC 9162 proofs, C2SP signed notes).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from dolium.frontends.admin.deps import Admin, Audited
from dolium.frontends.admin.schemas import AuditRecordOut, ConsistencyOut, InclusionOut
from dolium.protocols.audit import AuditEntry, AuditQuery

router = APIRouter(prefix="/audit", tags=["audit"])
# Bounds the stores' integers and times hold (SQLite and PostgreSQL BIGINT).
MAX_INDEX = 2**62
MAX_TIME = 1e11


def _record(entry: AuditEntry) -> AuditRecordOut:
    record: dict[str, Any] = json.loads(entry.record)
    return AuditRecordOut(index=entry.index, time=entry.time, record=record)


@router.get("/public-key", response_class=PlainTextResponse, operation_id="auditPublicKey")
async def public_key(admin: Admin, audit: Audited) -> str:
    """The log's Ed25519 public key (PEM): all a verifier needs."""
    return await audit.public_key()


@router.get("/checkpoint", response_class=PlainTextResponse, operation_id="auditCheckpoint")
async def checkpoint(admin: Admin, audit: Audited) -> str:
    """The current tree head, signed now: a C2SP signed note."""
    return await audit.checkpoint()


@router.get("/records", operation_id="auditRecords")
async def records(
    admin: Admin,
    audit: Audited,
    term: Annotated[str, Query(max_length=256)] = "",
    since: Annotated[float | None, Query(ge=0, le=MAX_TIME)] = None,
    until: Annotated[float | None, Query(ge=0, le=MAX_TIME)] = None,
    actor: Annotated[str, Query(max_length=256)] = "",
    resource: Annotated[str, Query(max_length=1024)] = "",
    after: Annotated[int, Query(ge=-1, le=MAX_INDEX)] = -1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[AuditRecordOut]:
    """Records holding `term`, in [since, until) (POSIX seconds), of `actor`
    (tenant:user), under `resource` (bucket or bucket/key prefix), by index
    after `after`."""
    query = AuditQuery(term, since, until, actor, resource, after, limit)
    return [_record(e) for e in await audit.search(query)]


@router.get("/proof/{index}", operation_id="auditInclusionProof")
async def inclusion(
    index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
    admin: Admin,
    audit: Audited,
    size: Annotated[int | None, Query(ge=1, le=MAX_INDEX)] = None,
) -> InclusionOut:
    """Record `index` and the proof that it is in the tree of `size` records
    (the current head when left out)."""
    found = await audit.inclusion(index, size)
    return InclusionOut(
        record=_record(found.entry),
        size=found.size,
        root=found.root.hex(),
        proof=[h.hex() for h in found.proof],
    )


@router.get("/consistency", operation_id="auditConsistencyProof")
async def consistency(
    admin: Admin,
    audit: Audited,
    old: Annotated[int, Query(ge=1, le=MAX_INDEX)],
    new: Annotated[int | None, Query(ge=1, le=MAX_INDEX)] = None,
) -> ConsistencyOut:
    """The proof that the tree of `old` records is a prefix of the tree of `new`."""
    size, root, proof = await audit.consistency(old, new)
    return ConsistencyOut(old=old, new=size, root=root.hex(), proof=[h.hex() for h in proof])


@router.get("/export", response_class=PlainTextResponse, operation_id="auditExport")
async def export_records(
    admin: Admin,
    audit: Audited,
    since: Annotated[float | None, Query(ge=0, le=MAX_TIME)] = None,
    until: Annotated[float | None, Query(ge=0, le=MAX_TIME)] = None,
) -> str:
    """The records of [since, until) (POSIX seconds), their inclusion proofs, consistency
    proofs from every head signed before, and a head signed now: JSON Lines that
    `dolium audit verify` checks with the public key alone."""
    return "".join(await audit.export(since, until))
