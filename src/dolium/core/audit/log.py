"""The audit log: the change log, sealed into a Merkle tree, with signed heads.

Every write appends its change record in its own transaction (the meta
store's change log), so an acknowledged change always has its record. The
sealer (`AuditLog.seal`, run by the server's background jobs and by the
CLI before it signs or exports) reads the changes it has not sealed yet, in
serial order, turns each into an audit record (`record_of`), and appends
them with the tree nodes they complete to the AuditStore, one batch per
transaction. It resumes from the serial of the last entry the store holds,
so a crash between appending and anything after it seals nothing twice.

Proofs are computed here from the perfect subtrees the store keeps
(`merkle.nodes_of`): O(log n) lookups per proof, whatever the log's size.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from dolium.core.audit import export, merkle
from dolium.core.audit.checkpoint import Checkpoint, Signer
from dolium.errors import AppendConflict, StorageError
from dolium.model import Change, ChangeAction
from dolium.protocols.audit import AuditEntry, AuditQuery, AuditStore, NodeKey
from dolium.protocols.meta import MetaStore

T = TypeVar("T")
log = logging.getLogger(__name__)

CONSUMER = "audit"  # its cursor in the change log: how far it is sealed
PAGE = 1000  # changes sealed per transaction of the audit store
RACES = 5  # times a sealer that lost the race to append starts again
EXPORT_CHUNK = 512  # records whose proofs are computed from one fetch of nodes


def actor_of(change: Change) -> str:
    a = change.actor
    return f"{a.tenant}:{a.user}" if a.tenant else "server"


def resource_of(change: Change) -> str:
    if change.bucket:
        return f"{change.bucket}/{change.key}" if change.key else change.bucket
    if change.action is ChangeAction.REQUEST_DENIED:
        return ""  # its `name` is what was asked, not a resource
    return f"{change.tenant}/{change.name}" if change.name else change.tenant


def record_of(change: Change) -> dict[str, Any]:
    """The audit record of a change: what happened, to what, by whom, through which request."""
    a = change.actor
    actor = {
        "tenant": a.tenant,
        "user": a.user,
        "access_key": a.access_key,
        "address": a.address,
        "request_id": a.request_id,
    }
    record: dict[str, Any] = {
        "seq": change.serial,
        "time": change.time,
        "action": change.action.value,
        "actor": {k: v for k, v in actor.items() if v},
        "resource": resource_of(change),
        "outcome": "ok",
    }
    for name in ("tenant", "bucket", "key", "name", "version_id", "etag", "top_hash"):
        value = getattr(change, name)
        if value:
            record[name] = value
    if change.size is not None:
        record["size"] = change.size
    return record


class AuditLog:
    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self._frontier: merkle.Frontier | None = None

    async def seal(self, meta: MetaStore, page: int = PAGE, attempts: int = RACES) -> int:
        """Append the changes committed since the last entry; how many were sealed.

        A server and the CLI seal the same log: when another sealer appended
        first, this one starts again from the store, up to `attempts` times."""
        lost = 0
        while True:
            try:
                return await self._seal(meta, page)
            except AppendConflict:
                lost += 1
                if lost >= attempts:
                    raise
                log.debug("audit: another sealer appended first; sealing again")

    async def _seal(self, meta: MetaStore, page: int) -> int:
        frontier = await self._load_frontier()
        after = await self.store.last_seq()
        sealed = 0
        while True:
            changes = await meta.changes(after, page)
            if not changes:
                return sealed
            entries: list[AuditEntry] = []
            nodes: dict[NodeKey, bytes] = {}
            grown = merkle.Frontier(frontier.size, frontier.roots)
            for change in changes:
                record = export.canonical(record_of(change))
                index = grown.size
                for level, at, value in grown.append(merkle.leaf_hash(record)):
                    nodes[(level, at)] = value
                entries.append(
                    AuditEntry(
                        index, change.serial, change.time, actor_of(change),
                        resource_of(change), record,
                    )
                )  # fmt: skip
            try:
                await self.store.append(entries, nodes)
            except AppendConflict:
                self._frontier = None  # another sealer appended: start again from the store
                raise
            frontier = self._frontier = grown
            after = changes[-1].serial
            await meta.advance_cursor(CONSUMER, after)
            sealed += len(changes)
            if len(changes) < page:
                return sealed

    async def head(self) -> tuple[int, bytes]:
        frontier = await self._load_frontier(fresh=True)
        return frontier.size, frontier.root()

    async def checkpoint(self, signer: Signer, time: int | None) -> str:
        """Sign the current head and keep it; the signed note."""
        size, root = await self.head()
        note = signer.sign(Checkpoint(signer.name, size, root, time))
        await self.store.put_checkpoint(size, note)
        return note

    async def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return (await self.inclusion_proofs([index], size))[0]

    async def inclusion_proofs(self, indexes: list[int], size: int) -> list[list[bytes]]:
        return await self._with_nodes(
            lambda root: [merkle.inclusion_proof(i, size, root) for i in indexes]
        )

    async def root_at(self, size: int) -> bytes:
        """The root of the tree of the first `size` entries."""
        return await self._with_nodes(lambda root: root(0, size))

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return await self._with_nodes(lambda root: merkle.consistency_proof(old, new, root))

    async def export(self, signer: Signer, first: int, end: int, time: int | None) -> Iterator[str]:
        """An export (core.audit.export) of entries [first, end), with a fresh signed head
        and consistency proofs from every head kept before."""
        note = await self.checkpoint(signer, time)
        size = Checkpoint.parse(note.partition("\n\n")[0] + "\n").size
        end = min(end, size)
        first = min(first, end)
        lines = [export.header_line(signer.name, first, end)]
        for lo in range(first, end, EXPORT_CHUNK):
            hi = min(end, lo + EXPORT_CHUNK)
            entries = await self.store.entries(lo, hi)
            if [e.index for e in entries] != list(range(lo, hi)):
                raise StorageError(
                    f"audit records {lo} to {hi - 1} are not all held here (offloaded "
                    "records are in the files they were offloaded to)"
                )
            proofs = await self.inclusion_proofs([e.index for e in entries], size)
            for entry, proof in zip(entries, proofs, strict=True):
                lines.append(export.record_line(entry.index, json.loads(entry.record), proof))
        for old, _ in await self.store.checkpoints():
            if 0 < old < size:
                proof = await self.consistency_proof(old, size)
                lines.append(export.consistency_line(old, await self.root_at(old), proof))
        lines.append(export.checkpoint_line(note))
        return iter(lines)

    async def first_at(self, moment: float | None, default: int) -> int:
        """Index of the first record at or after `moment` (POSIX seconds); `default`
        without one."""
        if moment is None:
            return default
        found = await self.store.search(AuditQuery(since=moment, limit=1))
        return found[0].index if found else await self.store.size()

    async def first_held(self) -> int:
        """Index of the oldest entry the store still holds (the ones before were offloaded)."""
        found = await self.store.search(AuditQuery(limit=1))
        return found[0].index if found else await self.store.size()

    async def offload(
        self,
        signer: Signer,
        end: int,
        time: int | None,
        keep: Callable[[list[str]], Awaitable[None]],
    ) -> tuple[int, int]:
        """Export the held entries before `end` (the newest always stays), hand the lines to
        `keep` (which must make them durable, and raise if it cannot), check them, then
        drop those entries from the store. Returns the range offloaded, [first, end)."""
        first = await self.first_held()
        end = min(end, await self.store.size() - 1)
        if end <= first:
            return first, first
        lines = list(await self.export(signer, first, end, time))
        # Checked before anything is dropped: only a segment that verifies replaces the entries.
        export.verify(lines, signer.public)
        await keep(lines)
        await self.store.prune(end)
        return first, end

    async def _load_frontier(self, fresh: bool = False) -> merkle.Frontier:
        size = await self.store.size()
        if self._frontier is not None and self._frontier.size == size and not fresh:
            return self._frontier  # no one else appended since
        keys: list[NodeKey] = []
        start = 0
        for bit in reversed(range(size.bit_length())):
            if size >> bit & 1:
                keys.append((bit, start >> bit))
                start += 1 << bit
        found = await self.store.nodes(keys)
        if len(found) != len(keys):
            raise StorageError("the audit tree is missing nodes of its right edge")
        self._frontier = merkle.Frontier(size, [found[k] for k in keys])
        return self._frontier

    async def _with_nodes(self, compute: Callable[[merkle.RangeRoot], T]) -> T:
        # The ranges a proof asks for do not depend on the hashes: a dry run
        # names them, one lookup fetches their nodes, a second run computes.
        asked: list[tuple[int, int]] = []

        def record(lo: int, hi: int) -> bytes:
            asked.append((lo, hi))
            return merkle.EMPTY_ROOT

        compute(record)
        keys = sorted({k for lo, hi in asked for k in merkle.nodes_of(lo, hi)})
        found = await self.store.nodes(keys)
        if len(found) != len(keys):
            raise StorageError("the audit tree is missing nodes a proof needs")
        return compute(lambda lo, hi: merkle.root_from(lo, hi, lambda lv, i: found[(lv, i)]))


async def seal_forever(
    audit: AuditLog,
    meta: MetaStore,
    signer: Signer,
    *,
    checkpoint_interval: float,
    clock: Callable[[], float],
    interval: float = 1.0,
) -> None:
    """Seal new changes every `interval` seconds; sign a head every `checkpoint_interval`
    seconds when the log grew (never when it is 0)."""
    signed_size, signed_at = -1, clock()
    while True:
        try:
            await audit.seal(meta)
            if checkpoint_interval > 0 and clock() - signed_at >= checkpoint_interval:
                size, _ = await audit.head()
                if size != signed_size:
                    await audit.checkpoint(signer, int(clock()))
                    signed_size = size
                signed_at = clock()
        except AppendConflict:
            log.debug("audit: another sealer appended first; sealing again next pass")
        except Exception:
            log.exception("audit: sealing failed; retrying in %.1f s", interval)
        await asyncio.sleep(interval)
