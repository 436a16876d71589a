"""Erasure coding: each block as k + m shares over k + m child block stores.

Share i of block D is stored in child i under the name D + 0xEC + i (see
`share_name`): one share per block in each child, and a name that no plain
block has, so a share is never mistaken for a block of the same digest, nor
for a share at another index. Shares check themselves (`erasure_shares`).

Writes: all n shares are put at once; the write stands when at least
`write_quorum` children took their share (k + 1 by default: one more loss is
survivable the moment the write is acknowledged). Below the quorum the
shares this write created are deleted again (even when the put's caller is
cancelled meanwhile) and `StorageUnavailable` is raised, which the front
ends answer with 503: nothing is left that a read could find half-written.
Shares that were there before the write are left alone, as they may belong
to an acknowledged earlier write of the block.

Reads, as MinIO heals: the k data shares are read first (no decoding when
they are sound); each one absent or failing its check is replaced by a
read of a parity share. The block comes back from any k sound shares, and
the bad shares the read found are rebuilt before it returns, best effort:
a failed rebuild is logged and never fails the read. Fewer than k sound
shares: `StorageUnavailable` if a child could not answer, `CorruptBlock` if
shares were there but bad, `BlockNotFound` if none was there.

A share that fails its check is set aside before it is rebuilt, or when
the block cannot be rebuilt: quarantined where its store can
(protocols.blob.QuarantineStore), deleted otherwise, as it serves nothing.
A put keeps the shares a store holds already (a dedup put writes nothing
new), so this is what lets an upload of the same content store a block
that was too damaged to read whole again. `has` counts shares present,
not checked (`verify` checks them).

`verify` and `repair` (protocols.blob.RedundantStore) read all n shares.
`close` closes the children: they belong to this store. Only the garbage
collector deletes; a delete removes every share and fails if any child
fails, so the collector tries again.

This module must not import the core or the front ends, and does not know
which hash names the block: the core checks the block it gets back.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from dolium import errors
from dolium.modules import erasure_shares as es
from dolium.protocols.blob import BlobStore, BlockState, QuarantineStore

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

SHARE_MARK = 0xEC
# Blocks at least this large are coded in a worker thread (zfec and hashlib
# release the GIL), so coding does not stall the event loop.
THREAD_BYTES = 64 * 1024


def share_name(digest: bytes, index: int) -> bytes:
    """The name share `index` of block `digest` is stored under in its child."""
    return digest + bytes((SHARE_MARK, index))


def block_of(name: bytes, index: int) -> bytes | None:
    """The block a child's entry names, if it is share `index` of one."""
    if len(name) > 2 and name[-2] == SHARE_MARK and name[-1] == index:
        return name[:-2]
    return None


async def _off_loop(size: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    if size >= THREAD_BYTES:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


@dataclass
class _Found:
    """What reading some shares of one block found."""

    sound: dict[int, es.Share] = field(default_factory=dict)
    absent: set[int] = field(default_factory=set)
    bad: dict[int, bytes] = field(default_factory=dict)  # present, failing its check
    failed: set[int] = field(default_factory=set)  # the child raised a storage error

    @property
    def damaged(self) -> set[int]:
        return self.absent | set(self.bad)


class ErasureStore:
    """k-of-(k + m) erasure coding over child block stores; see the module docstring."""

    def __init__(self, stores: Sequence[BlobStore], k: int, m: int, write_quorum: int) -> None:
        self.children = tuple(stores)
        self.k, self.m, self.n = k, m, k + m
        self.write_quorum = write_quorum
        self._counts = Counter[str]()

    @classmethod
    async def open(
        cls, *, stores: Sequence[BlobStore], k: int, m: int, write_quorum: int | None = None
    ) -> ErasureStore:
        """Check the layout; raise ConfigError (one line) if it cannot work."""
        if k < 1 or m < 0:
            raise errors.ConfigError(
                f"erasure: k must be at least 1 and m at least 0 (k={k}, m={m})"
            )
        if k + m > es.MAX_SHARES:
            raise errors.ConfigError(f"erasure: k + m is at most {es.MAX_SHARES} (k={k}, m={m})")
        if len(stores) != k + m:
            raise errors.ConfigError(
                f"erasure: {len(stores)} stores given for k={k}, m={m}; give k + m = {k + m}"
            )
        if len({id(s) for s in stores}) != len(stores):
            raise errors.ConfigError(
                "erasure: each share needs a store of its own; a store repeats"
            )
        quorum = min(k + 1, k + m) if write_quorum is None else write_quorum
        if not k <= quorum <= k + m:
            raise errors.ConfigError(
                f"erasure: write_quorum must be between k and k + m ({k}..{k + m}), not {quorum}"
            )
        return cls(stores, k, m, quorum)

    # -- writes --------------------------------------------------------------
    async def put(self, digest: bytes, data: bytes) -> None:
        _check_name(digest)
        # Shielded: a write that fails elsewhere cancels the puts of its other
        # blocks, but the children's writes in worker threads land anyway, so
        # the put runs on to its end, and below the quorum deletes what it made.
        task = asyncio.ensure_future(self._put(digest, data))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_retrieved)
            raise

    async def _put(self, digest: bytes, data: bytes) -> None:
        shares = await _off_loop(len(data), es.encode, digest, bytes(data), self.k, self.m)
        results = await asyncio.gather(
            *(self._put_share(i, digest, s) for i, s in enumerate(shares)),
            return_exceptions=True,
        )
        stored = [i for i, r in enumerate(results) if isinstance(r, bool)]
        self._counts["puts"] += 1
        self._counts["bytes_written"] += len(data)
        if len(stored) >= self.write_quorum:
            if len(stored) < self.n:
                self._counts["degraded_writes"] += 1
                log.warning(
                    "erasure: block %s stored with %d of %d shares",
                    digest.hex(),
                    len(stored),
                    self.n,
                )
            return
        self._counts["failed_writes"] += 1
        created = [i for i in stored if results[i] is True]
        await asyncio.gather(
            *(self._delete_share(i, digest) for i in created), return_exceptions=True
        )
        causes = "; ".join(str(r) for r in results if isinstance(r, BaseException))
        raise errors.StorageUnavailable(
            f"block {digest.hex()}: {len(stored)} of {self.n} stores took their share, "
            f"{self.write_quorum} needed ({causes})"
        )

    async def _put_share(self, index: int, digest: bytes, share: bytes) -> bool:
        """Put one share; whether this put created it (False: it was there)."""
        child, name = self.children[index], share_name(digest, index)
        existed = await child.has(name)
        await child.put(name, share)
        return not existed

    async def _delete_share(self, index: int, digest: bytes) -> None:
        await self.children[index].delete(share_name(digest, index))

    async def delete(self, digest: bytes) -> None:
        _check_name(digest)
        results = await asyncio.gather(
            *(self._delete_share(i, digest) for i in range(self.n)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if not isinstance(failure, Exception):
                raise failure
        if failures:
            raise errors.StorageError(
                f"cannot delete every share of block {digest.hex()}: {failures[0]}"
            ) from failures[0]
        self._counts["deletes"] += 1

    # -- reads ---------------------------------------------------------------
    async def get(self, digest: bytes) -> bytes:
        _check_name(digest)
        self._counts["gets"] += 1
        found = _Found()
        wanted = list(range(self.k))
        spare = list(range(self.k, self.n))
        while wanted:
            await self._read(digest, wanted, found)
            short = self.k - len(found.sound)
            wanted, spare = spare[:short], spare[short:]
        try:
            data = await self._decode(digest, found)
        except errors.CorruptBlock:
            await self._set_aside(digest, found.bad)
            raise
        if found.damaged:
            self._counts["degraded_reads"] += 1
            await self._heal(digest, data, sorted(found.damaged), found.bad)
        return data

    async def _read(self, digest: bytes, indexes: Sequence[int], found: _Found) -> None:
        raws = await asyncio.gather(
            *(self.children[i].get(share_name(digest, i)) for i in indexes),
            return_exceptions=True,
        )
        present: dict[int, bytes] = {}
        for index, raw in zip(indexes, raws, strict=True):
            if isinstance(raw, errors.BlockNotFound):
                found.absent.add(index)
            elif isinstance(raw, errors.StorageError):
                log.warning("erasure: share %d of block %s: %s", index, digest.hex(), raw)
                found.failed.add(index)
            elif isinstance(raw, BaseException):
                raise raw
            else:
                present[index] = raw
        # Checked side by side: hashing releases the GIL, so shares hash on every core.
        checked = await asyncio.gather(
            *(
                _off_loop(len(raw), es.check, digest, raw, self.k, self.m, index)
                for index, raw in present.items()
            )
        )
        for (index, raw), share in zip(present.items(), checked, strict=True):
            if share is not None:
                found.sound[index] = share
            else:
                log.warning("erasure: share %d of block %s is corrupt", index, digest.hex())
                found.bad[index] = raw

    async def _decode(self, digest: bytes, found: _Found) -> bytes:
        usable = _agreeing(found.sound, self.k)
        if usable is None:
            what = (
                f"block {digest.hex()}: {len(found.sound)} sound shares of {self.n}, "
                f"{self.k} needed"
            )
            if found.failed:
                raise errors.StorageUnavailable(
                    f"{what}; {len(found.failed)} stores did not answer"
                )
            if found.bad or found.sound:
                raise errors.CorruptBlock(what, digest=digest.hex())
            raise errors.BlockNotFound(f"block {digest.hex()} is not stored", digest=digest.hex())
        chosen = {s.index: s for s in usable}
        return await _off_loop(usable[0].length, es.decode, chosen, self.k, self.m)

    async def _heal(
        self, digest: bytes, data: bytes, indexes: Sequence[int], bad: Mapping[int, bytes]
    ) -> int:
        """Rebuild shares `indexes` from the block, setting aside the `bad` ones (their
        bytes by index) first; how many were rebuilt (best effort)."""
        try:
            shares = await _off_loop(
                len(data), es.encode_some, digest, data, self.k, self.m, indexes
            )
        except Exception:  # never fail a read over its repair
            log.exception("erasure: cannot re-encode block %s", digest.hex())
            return 0
        results = await asyncio.gather(
            *(
                self._replace(i, digest, s, bad.get(i))
                for i, s in zip(indexes, shares, strict=True)
            ),
            return_exceptions=True,
        )
        healed = 0
        for index, result in zip(indexes, results, strict=True):
            if isinstance(result, Exception):
                log.warning(
                    "erasure: cannot rebuild share %d of %s: %s", index, digest.hex(), result
                )
            elif isinstance(result, BaseException):
                raise result
            else:
                healed += 1
        self._counts["healed_shares"] += healed
        return healed

    async def _replace(self, index: int, digest: bytes, share: bytes, bad: bytes | None) -> None:
        # A child's put keeps what it holds under a name: a bad share goes first.
        if bad is not None:
            await self._set_aside_one(index, digest, bad)
        await self.children[index].put(share_name(digest, index), share)

    async def _set_aside_one(self, index: int, digest: bytes, bad: bytes) -> None:
        """Move a share that fails its check aside (quarantined where its store can,
        else deleted: it is of no use), so that a put of the block stores it again."""
        child, name = self.children[index], share_name(digest, index)
        if isinstance(child, QuarantineStore):
            await child.quarantine(name, bad)
        else:
            await child.delete(name)

    async def _set_aside(self, digest: bytes, bad: Mapping[int, bytes]) -> None:
        """Set aside the bad shares of a block too damaged to rebuild (best effort):
        then a later upload of its content stores every share again."""
        for index, raw in bad.items():
            try:
                await self._set_aside_one(index, digest, raw)
            except errors.StorageError as exc:
                log.warning(
                    "erasure: cannot set aside share %d of %s: %s", index, digest.hex(), exc
                )

    async def has(self, digest: bytes) -> bool:
        _check_name(digest)
        present = await asyncio.gather(
            *(c.has(share_name(digest, i)) for i, c in enumerate(self.children)),
            return_exceptions=True,
        )
        return sum(p is True for p in present) >= self.k

    async def list(self) -> AsyncIterator[bytes]:
        # A block with any share anywhere is listed, so that the leftovers of
        # a block are found (and collected) too.
        seen: set[bytes] = set()
        for index, child in enumerate(self.children):
            async for name in child.list():
                digest = block_of(name, index)
                if digest is not None and digest not in seen:
                    seen.add(digest)
                    yield digest

    # -- redundancy ----------------------------------------------------------
    async def verify(self, digest: bytes) -> BlockState:
        _check_name(digest)
        found = _Found()
        await self._read(digest, range(self.n), found)
        return self._state(found)

    async def repair(self, digest: bytes) -> BlockState:
        _check_name(digest)
        found = _Found()
        await self._read(digest, range(self.n), found)
        state = self._state(found)
        if state is BlockState.LOST:
            await self._set_aside(digest, found.bad)
        if state is not BlockState.DEGRADED:
            return state
        data = await self._decode(digest, found)
        todo = sorted(found.damaged | found.failed)
        healed = await self._heal(digest, data, todo, found.bad)
        return BlockState.OK if healed == len(todo) else BlockState.DEGRADED

    def _state(self, found: _Found) -> BlockState:
        if _agreeing(found.sound, self.k) is None:
            return BlockState.LOST
        return BlockState.OK if len(found.sound) == self.n else BlockState.DEGRADED

    # -- about ---------------------------------------------------------------
    def capabilities(self) -> frozenset[str]:
        shared = frozenset.intersection(*(c.capabilities() for c in self.children))
        return shared - {"local"} | {"erasure", "redundant"}

    async def statistics(self) -> Mapping[str, int]:
        keys = (
            "puts",
            "gets",
            "deletes",
            "bytes_written",
            "degraded_reads",
            "degraded_writes",
            "failed_writes",
            "healed_shares",
        )
        return {
            "k": self.k,
            "m": self.m,
            "write_quorum": self.write_quorum,
            **{key: self._counts[key] for key in keys},
        }

    async def close(self) -> None:
        for child in self.children:
            await child.close()


def _agreeing(sound: Mapping[int, es.Share], k: int) -> list[es.Share] | None:
    """k sound shares that agree on the block's length, if there are k."""
    by_length: dict[int, list[es.Share]] = {}
    for share in sound.values():
        by_length.setdefault(share.length, []).append(share)
    for group in by_length.values():
        if len(group) >= k:
            return group
    return None


def _retrieved(task: asyncio.Future[None]) -> None:
    """Take the outcome of a put nobody awaits any more (its caller was cancelled)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("erasure: a cancelled put failed: %s", task.exception())


def _check_name(digest: bytes) -> None:
    if not isinstance(digest, bytes) or not digest:
        raise ValueError("a block digest is a non-empty bytes value")


if TYPE_CHECKING:
    from dolium.protocols.blob import RedundantStore

    def _conforms(s: ErasureStore) -> BlobStore:  # mypy fails if the class drifts
        return s

    def _redundant(s: ErasureStore) -> RedundantStore:
        return s
