"""The scrubber: every block the metadata references, read back and checked.

It walks every bucket (or one), version by version and then its pending
multipart uploads part by part, and checks each distinct block once, through
the store of the storage policy that wrote it (scrub_check): present, its
bytes hashing to its name, and, where the store keeps redundancy, every copy
or share in place. With `repair`, degraded blocks are rebuilt. A block that
is lost is reported with every object version (bucket, key, version id) and
pending upload (bucket, key, upload id) that references it: those cannot be
read back whole.

Orphans: after a walk of every bucket, each store is listed, and a block it
holds that nothing references is handed to the garbage collector: it gets a
lease that has already expired (`MetaStore.lease_blocks`), which gives it a
record with no reference, so the collector's next pass deletes it once its
grace time has passed. The collector decides from its reference counts and
live leases alone, so a block a writer is storing right now (leased) or that
a version committed meanwhile (counted) stays. Names that are not a digest
of any algorithm in use are not ours and are left alone, and nothing is
handed over after a walk that was limited to one bucket or that met a
policy this server does not configure (its blocks would look unreferenced).

Reads are paced to `rate` bytes a second. The scrubber runs beside a live
server and holds one digest and verdict per distinct block in memory, the
price of checking each block once however many versions share it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from dolium.core.content.hashing import DEFAULT_ALGORITHM
from dolium.core.context import Context
from dolium.core.jobs.scrub_check import Pacer, Verdict, check_block
from dolium.errors import NoSuchBucket, StorageError
from dolium.model import BlockRef, Bucket, Extent
from dolium.protocols.blob import BlobStore
from dolium.protocols.meta import MetaStore

log = logging.getLogger(__name__)

PAGE = 1000
ORPHAN_BATCH = 256
ORPHAN_HOLDER = "scrub"  # the holder of the expired leases that hand orphans over


@dataclass(frozen=True, slots=True)
class Damaged:
    """An object version (or a pending upload) with a lost block."""

    bucket: str
    key: str
    version_id: str = ""  # of a version
    upload_id: str = ""  # of a pending multipart upload
    block: str = ""  # the first lost block found, hex


@dataclass
class ScrubReport:
    bucket: str | None = None  # None: every bucket
    repair: bool = False
    started: float = 0.0
    finished: float = 0.0
    blocks: int = 0  # distinct blocks checked
    bytes: int = 0  # of their data read back
    ok: int = 0
    repaired: int = 0
    degraded: int = 0
    lost: int = 0
    failed: int = 0  # the store could not answer for them
    orphans: int = 0  # stored, unreferenced, handed to the collector
    orphans_checked: bool = False  # whether the stores were listed for orphans
    unrecoverable: list[Damaged] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.degraded or self.failed)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "clean": self.clean}

    def summary(self) -> str:
        return (
            f"{self.blocks} blocks checked ({self.bytes} bytes): {self.ok} ok, "
            f"{self.repaired} repaired, {self.degraded} degraded, {self.lost} lost, "
            f"{self.failed} unreadable; {self.orphans} orphans handed to the collector; "
            f"{len(self.unrecoverable)} objects cannot be recovered"
        )


Progress = Callable[[int, int], None]  # (blocks checked, bytes read) so far
Alive = Callable[[], Awaitable[bool]]


class Scrubber:
    def __init__(
        self,
        ctx: Context,
        *,
        bucket: str | None = None,
        repair: bool = False,
        rate: float | None = None,
        progress: Progress | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.ctx = ctx
        self.pacer = pacer or Pacer(rate, ctx.clock)
        self.progress = progress
        self.report = ScrubReport(bucket=bucket, repair=repair)
        self._verdicts: dict[BlockRef, Verdict] = {}
        self._unknown_policy = False
        self._reported: set[Damaged] = set()
        self._algorithms: set[str] = {DEFAULT_ALGORITHM}

    async def run(self) -> ScrubReport:
        report = self.report
        report.started = self.ctx.clock()
        for bucket in await self._buckets():
            self._algorithms.add(bucket.hash_algorithm)
            await self._scrub_bucket(bucket)
        if report.bucket is None and not self._unknown_policy:
            try:
                await self._hand_over_orphans()
                report.orphans_checked = True
            except StorageError as exc:
                # A store that cannot be listed hides its orphans, nothing more.
                log.warning("scrub: orphans not looked for: %s", exc)
        report.finished = self.ctx.clock()
        log.info("scrub: %s", report.summary())
        return report

    async def _buckets(self) -> list[Bucket]:
        if self.report.bucket is None:
            return await self.ctx.meta.list_buckets()
        found = await self.ctx.meta.get_bucket(self.report.bucket)
        if found is None:
            raise NoSuchBucket(f"no bucket {self.report.bucket!r}", bucket=self.report.bucket)
        return [found]

    async def _scrub_bucket(self, bucket: Bucket) -> None:
        meta, name = self.ctx.meta, bucket.name
        after: tuple[str, int] | None = None
        while True:
            page = await meta.list_versions(name, after=after, limit=PAGE)
            for v in page:
                if v.extents and not v.delete_marker:
                    alive = partial(_version_exists, meta, name, v.key, v.version_id)
                    lost = await self._check(bucket, v.policy, v.extents, alive)
                    if lost is not None:
                        self._damaged(Damaged(name, v.key, version_id=v.version_id, block=lost))
            if len(page) < PAGE:
                break
            after = (page[-1].key, page[-1].serial)
        async for upload_key, upload_id, policy, extents in self._parts(name):
            alive = partial(_upload_exists, meta, name, upload_id)
            lost = await self._check(bucket, policy, extents, alive)
            if lost is not None:
                self._damaged(Damaged(name, upload_key, upload_id=upload_id, block=lost))

    async def _parts(self, bucket: str) -> AsyncIterator[tuple[str, str, str, tuple[Extent, ...]]]:
        meta = self.ctx.meta
        after_key = after_id = ""
        while True:
            uploads = await meta.list_uploads(
                bucket, after_key=after_key, after_upload_id=after_id, limit=PAGE
            )
            for upload in uploads:
                number = 0
                while True:
                    parts = await meta.list_parts(bucket, upload.upload_id, after=number)
                    for part in parts:
                        yield upload.key, upload.upload_id, part.policy, part.extents
                    if not parts:
                        break
                    number = parts[-1].number
            if len(uploads) < PAGE:
                return
            after_key, after_id = uploads[-1].key, uploads[-1].upload_id

    def _damaged(self, damaged: Damaged) -> None:
        # A version is reported once, with the first lost block it holds.
        if damaged not in self._reported:
            self._reported.add(damaged)
            self.report.unrecoverable.append(damaged)
            log.error(
                "scrub: %s/%s (version %s%s) cannot be recovered: block %s is lost",
                damaged.bucket,
                damaged.key,
                damaged.version_id or "-",
                f", upload {damaged.upload_id}" if damaged.upload_id else "",
                damaged.block,
            )

    async def _check(
        self, bucket: Bucket, policy: str, extents: Iterable[Extent], alive: Alive
    ) -> str | None:
        """Check the blocks not checked yet; the first lost one's hex digest, if any.

        `alive` says whether what holds the extents still exists: a version
        deleted since its page was read may have had its blocks collected
        meanwhile, which is not damage.
        """
        lost: str | None = None
        for extent in extents:
            ref = BlockRef(policy, extent.digest)
            verdict = self._verdicts.get(ref)
            if verdict is None:
                verdict = await self._check_one(ref, bucket.hash_algorithm)
                if verdict is Verdict.LOST and not await alive():
                    # Not remembered: a live version that shares it checks it again.
                    self.report.lost -= 1
                    self.report.blocks -= 1
                    return None
                self._verdicts[ref] = verdict
            if verdict is Verdict.LOST and lost is None:
                lost = extent.digest.hex()
        return lost

    async def _check_one(self, ref: BlockRef, algorithm: str) -> Verdict:
        report = self.report
        try:
            store = self.ctx.blobs_for(ref.policy)
        except StorageError:
            self._unknown_policy = True
            report.failed += 1
            return Verdict.FAILED
        verdict, size = await check_block(store, ref.digest, algorithm, repair=report.repair)
        report.blocks += 1
        report.bytes += size
        setattr(report, verdict.value, getattr(report, verdict.value) + 1)
        if verdict is not Verdict.OK:
            log.warning("scrub: block %s of policy %s: %s", ref.digest.hex(), ref.policy, verdict)
        if self.progress is not None:
            self.progress(report.blocks, report.bytes)
        await self.pacer.spent(size)
        return verdict

    # -- orphans ---------------------------------------------------------------
    async def _hand_over_orphans(self) -> None:
        """Give every stored block that nothing references to the collector."""
        sizes = {hashlib.new(a).digest_size for a in self._algorithms if _known(a)}
        by_store: dict[int, tuple[BlobStore, list[str]]] = {}
        for policy in sorted({*self.ctx.policies, self.ctx.settings.default_policy}):
            try:
                store = self.ctx.blobs_for(policy)
            except StorageError:
                continue
            by_store.setdefault(id(store), (store, []))[1].append(policy)
        referenced = {(ref.policy, ref.digest) for ref in self._verdicts}
        for store, policies in by_store.values():
            batch: list[BlockRef] = []
            async for digest in store.list():
                if len(digest) not in sizes:
                    continue  # not a block name: not ours to collect
                if any((p, digest) in referenced for p in policies):
                    continue
                batch.append(BlockRef(policies[0], digest))
                if len(batch) >= ORPHAN_BATCH:
                    await self._expire(batch)
                    batch = []
            await self._expire(batch)

    async def _expire(self, refs: list[BlockRef]) -> None:
        if not refs:
            return
        now = self.ctx.clock()
        busy = await self.ctx.meta.lease_blocks(refs, ORPHAN_HOLDER, now=now, until=now)
        self.report.orphans += len(refs) - len(busy)


async def _version_exists(meta: MetaStore, bucket: str, key: str, version_id: str) -> bool:
    return await meta.get_version(bucket, key, version_id) is not None


async def _upload_exists(meta: MetaStore, bucket: str, upload_id: str) -> bool:
    return await meta.get_upload(bucket, upload_id) is not None


def _known(algorithm: str) -> bool:
    return algorithm in hashlib.algorithms_available


async def scrub(
    ctx: Context,
    *,
    bucket: str | None = None,
    repair: bool = False,
    rate: float | None = None,
    progress: Progress | None = None,
) -> ScrubReport:
    """Scrub every bucket (or `bucket`); `rate` in bytes a second (None: unpaced)."""
    return await Scrubber(ctx, bucket=bucket, repair=repair, rate=rate, progress=progress).run()
