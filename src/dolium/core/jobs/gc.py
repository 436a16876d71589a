"""Garbage collection of blocks: mark and sweep over the meta and blob stores.

A block is deleted only if it is older than the grace period and no object
version or multipart part references it. The collector never runs on the
request path and never decides anything about objects: it reads references
from the meta store and asks the blob store to delete what nothing uses.

Writers keep their blocks alive by the protocol's rule: they touch (or put)
every block before committing metadata that references it. `grace` must be
longer than any writer takes between that touch and its commit (a slow
upload of one part, for instance).

This module must not write metadata, must not read block data, and must not
hold more than one digest per candidate in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dolium.errors import StorageError
from dolium.protocols.blob import BlobStore
from dolium.protocols.meta import MetaStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GcReport:
    """What one collection did.

    Bytes freed are not reported: the blob protocol gives no block sizes, and
    reading every block to learn them would cost more than the collection.
    """

    scanned: int  # blocks seen by the scan
    candidates: int  # of those, older than the cutoff
    references: int  # references read from the meta store (repeats counted)
    referenced: int  # candidates kept because something references them
    deleted: int  # blocks removed
    kept_in_use: int  # candidates delete() refused: touched meanwhile, or already gone
    failed: int  # candidates whose delete raised a storage error (retried next time)
    cutoff: float  # blocks last used before this time were eligible


async def collect(meta: MetaStore, blobs: BlobStore, *, grace: float, now: float) -> GcReport:
    """Delete every block unused since `now - grace` that nothing references."""
    if grace < 0:
        raise ValueError("grace must not be negative")
    cutoff = now - grace

    # Mark, part one: blocks old enough to go. The scan is streamed; only the
    # digests of candidates are kept.
    scanned = 0
    candidates: set[bytes] = set()
    async for digest, mtime in blobs.scan():
        scanned += 1
        if mtime < cutoff:
            candidates.add(digest)
    n_candidates = len(candidates)

    # Mark, part two: strike out what is referenced. References are read only
    # now, after the scan, and that order is what the safety argument rests
    # on. Every candidate was seen idle (mtime before the cutoff) before this
    # read began, and a writer touches or puts a block before committing the
    # metadata that uses it. So a writer relying on a candidate either
    #   1. committed before this read began: we see its reference, keep the block;
    #   2. touched the block after the scan saw it, before delete() reached it:
    #      delete() rechecks the mtime against the same cutoff and refuses; or
    #   3. touched it after delete() removed it: touch() returned False and the
    #      writer put the block again before committing.
    # A writer whose touch came before the scan looked made the block young,
    # so it was never a candidate. Read the other way round, there would be a
    # fourth case, a writer that touched and committed between the reference
    # read and the scan, kept only because the blob store noticed its touch.
    # In this order the reference read alone accounts for every writer that
    # has committed, and the blob store's checks (cases 2 and 3) are needed
    # only for writers still in flight, which is what they were built for.
    # Reading references second also bounds memory: the stream, repeats and
    # all, only strikes entries out of the candidate set; it is never stored.
    references = 0
    referenced = 0
    async for digest in meta.referenced_digests():
        references += 1
        if digest in candidates:
            candidates.discard(digest)
            referenced += 1

    # Sweep. delete() itself refuses a block touched since the cutoff.
    deleted = kept = failed = 0
    for digest in candidates:
        try:
            if await blobs.delete(digest, unused_since=cutoff):
                deleted += 1
            else:
                kept += 1
        except StorageError as exc:
            # One bad block must not stop the sweep; the next run retries it.
            failed += 1
            log.warning("gc: cannot delete block %s: %s", digest.hex(), exc)

    report = GcReport(
        scanned=scanned,
        candidates=n_candidates,
        references=references,
        referenced=referenced,
        deleted=deleted,
        kept_in_use=kept,
        failed=failed,
        cutoff=cutoff,
    )
    log.info("gc: %s", report)
    return report
