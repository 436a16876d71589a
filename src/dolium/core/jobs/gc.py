"""Garbage collection of blocks, from the reference counts in the meta store.

Every write counts the block references it adds or removes in its own
transaction, and a writer leases each block (in the meta store) before it
looks for it or stores it, until its metadata commits. So a block is garbage
exactly when its count is zero and no live lease covers it, whatever the
block store, and the meta store can list the garbage without a scan of
every block: a pass costs in proportion to the garbage.

One pass, in batches: the meta store marks a batch of garbage blocks for
deletion (a writer cannot lease a marked block, it waits), the collector
deletes them from their policy's block store, then tells the meta store to
forget them. A collector that dies between the two leaves its marks; once
older than `grace` they are taken up again by the next pass.

The collector never runs on the request path and decides nothing about
objects. This module must not write object metadata and must not read block
data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from dolium.errors import StorageError
from dolium.model import BlockRef
from dolium.protocols.blob import BlobStore
from dolium.protocols.meta import MetaStore

log = logging.getLogger(__name__)

BATCH = 256  # blocks marked, deleted and forgotten together

Policies = Callable[[str], BlobStore]


@dataclass(frozen=True, slots=True)
class GcReport:
    """What one collection did."""

    candidates: int  # garbage blocks marked for deletion
    deleted: int  # of those, removed from their block store and forgotten
    failed: int  # of those, whose delete raised a storage error (retried later)
    batches: int  # rounds of mark, delete, forget


async def collect(
    meta: MetaStore, blobs: BlobStore | Policies, *, grace: float, now: float
) -> GcReport:
    """Delete every block that nothing references and no live lease covers.

    `blobs` is the block store of each storage policy (a callable), or one
    store for every policy. Marks left by a collector that stopped before
    `now - grace` are taken up again.
    """
    if grace < 0:
        raise ValueError("grace must not be negative")
    store_of: Policies = blobs if callable(blobs) else (lambda _policy: blobs)
    candidates = deleted = failed = batches = 0
    while True:
        batch = await meta.claim_garbage(now=now, stale_before=now - grace, limit=BATCH)
        if not batch:
            break
        batches += 1
        candidates += len(batch)
        gone: list[BlockRef] = []
        for ref in batch:
            try:
                await store_of(ref.policy).delete(ref.digest)
            except StorageError as exc:
                # One bad block must not stop the sweep: its mark stays, and
                # a pass after `grace` tries it again.
                failed += 1
                log.warning("gc: cannot delete block %s: %s", ref.digest.hex(), exc)
            else:
                gone.append(ref)
        await meta.forget_blocks(gone)
        deleted += len(gone)
        if len(batch) < BATCH:
            break
    report = GcReport(candidates=candidates, deleted=deleted, failed=failed, batches=batches)
    log.info("gc: %s", report)
    return report
