"""Blob stores: put/get/delete blocks by content hash.

A blob store never sees buckets, keys, versions or permissions. It stores
opaque blocks under their digest and does not verify them: the core checks
every block it reads against its digest.

A blob store keeps no times, leases or reference counts: whether a block is
still needed is recorded in the meta store (block references and leases), so
garbage collection works the same over any store that can put, get and
delete by name. Only the garbage collector deletes, and only blocks the meta
store has marked as garbage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from enum import StrEnum
from typing import Protocol, runtime_checkable


class BlobStore(Protocol):
    async def put(self, digest: bytes, data: bytes) -> None:
        """Store a block durably (idempotent). Returns once it survives a crash."""

    async def get(self, digest: bytes) -> bytes:
        """Return the stored bytes; raise BlockNotFound if absent."""

    async def has(self, digest: bytes) -> bool:
        """Whether the block is stored."""

    async def delete(self, digest: bytes) -> None:
        """Remove the block durably; nothing happens if it is absent."""

    def list(self) -> AsyncIterator[bytes]:
        """Every stored block's digest, streamed (for audits and repairs, not for GC)."""

    def capabilities(self) -> frozenset[str]:
        """What this store offers beyond the protocol, by name.

        A capability is a bare name ("durable", "local") or `name=value` where
        it has a setting ("compression=zstd", "encryption=AES_GCM_256",
        "encryption-keys=convergent", "replicas=3", "erasure=4+2"). A module
        answers its own and those of the store(s) it wraps.
        """

    async def statistics(self) -> Mapping[str, int | float]:
        """Figures about the store, by name, for operators (CLI, admin API, metrics).

        Not for the request path: a store may walk itself to count its blocks
        (and reuse the count a while).

        Where it can tell them: `capacity_bytes` (room for blocks),
        `used_bytes` (bytes the stored blocks take), `blocks` (how many),
        then its own (counters since it was opened, `compression_ratio` ...).
        Counts are ints; ratios are floats.
        """

    async def close(self) -> None:
        """Release what the store holds; calling it again does nothing."""


class BlockState(StrEnum):
    """What a check of one block found in a store that keeps redundancy."""

    OK = "ok"  # every copy or share is present and valid
    DEGRADED = "degraded"  # readable, but some copy or share is missing or corrupt
    LOST = "lost"  # too little is left to read the block back correctly


@runtime_checkable
class RedundantStore(Protocol):
    """A block store (or a module stack) that can check and rebuild its redundancy.

    Optional: the scrubber asks a policy's store for these when it has them,
    and otherwise reads each block back and checks it against its digest.
    A module without redundancy of its own passes both calls to the store it
    wraps. `digest` is the block's name, as in `BlobStore.put`.
    """

    async def verify(self, digest: bytes) -> BlockState:
        """Check every copy or share of the block, changing nothing."""

    async def repair(self, digest: bytes) -> BlockState:
        """Rebuild missing or corrupt copies or shares; the state after the repair."""


@runtime_checkable
class QuarantineStore(Protocol):
    """A block store that can move a corrupt block aside rather than serve it again.

    Optional: when the core finds that a block's bytes do not match its
    digest it asks the store to quarantine them, where the store offers it.
    The block then counts as absent, so a later write of the same content
    stores a sound copy (a put keeps what a name already holds), and what
    was moved aside stays for an operator to look at. `found` are the bytes
    that failed: a store moves the block only if it still holds them, so a
    sound copy stored meanwhile is never moved aside.
    """

    async def quarantine(self, digest: bytes, found: bytes) -> bool:
        """Move the block aside if it holds `found`; whether it did."""


@runtime_checkable
class BlockingReads(Protocol):
    """A block store that can read a block in the thread of the caller's choosing.

    Optional: the core checks every block it reads against its digest in a
    worker thread; with a store that has this, it reads the block in that
    same thread first, one hand-off between threads per block instead of
    two. Only a store that reads its blocks itself offers it: a module that
    changes what `get` returns must not pass it on from the store it wraps.
    `get_blocking` blocks, so it is never called on the event loop.
    """

    def get_blocking(self, digest: bytes) -> bytes:
        """What `get` returns, read in the calling thread; raise BlockNotFound if absent."""
