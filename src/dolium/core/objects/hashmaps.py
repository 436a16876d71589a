"""Pithos hashmaps of stored versions: what `GET ?hashmap` and `X-Object-Hash` show.

A version's extents are its hashmap when its blocks are in clear and cut on
its container's block grid: every write through the BlockWriter, and
multipart uploads whose parts are multiples of the block size. Otherwise
(parts of other sizes, such as S3's 5 MiB parts; blocks sealed by SSE-S3,
whose digests name ciphertext) the hashmap is computed once from the data,
read back and verified block by block, and kept on the version
(`ObjectVersion.hashmap`, with the version's other attributes in the meta
store). It is kept there, not in a cache, because it is a fact about that
version: every process sharing the meta store sees it, it goes when the
version goes, and a copy that shares the version's blocks carries it along.

Data encrypted with a customer key (SSE-C) keeps no hash of its plaintext
(core.sse.keeps_hashmap), so it has no hashmap to show.

This module reads; writing objects from a hashmap is `hashmap_write`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from dolium.core.content.hashing import block_digests, top_hash
from dolium.core.content.sse import keeps_hashmap
from dolium.core.context import Context
from dolium.core.objects.service import Objects
from dolium.errors import InvalidRequest, NotFound, PreconditionFailed
from dolium.model import HASHMAP, Bucket, Extent, Hashmap, ObjectVersion, Principal


@dataclass(frozen=True)
class ObjectHashmap:
    """A version and its hashmap, by its container's block size and hash."""

    version: ObjectVersion
    block_size: int
    algorithm: str
    digests: tuple[bytes, ...]

    @property
    def top_hash(self) -> str:
        return top_hash(self.digests, self.algorithm).hex()


def block_count(size: int, block_size: int) -> int:
    """Leaves of the hashmap of `size` bytes; an empty object has one (hash of b"")."""
    return max(1, -(-size // block_size))


def aligned(extents: tuple[Extent, ...], size: int, block_size: int) -> bool:
    """Whether the extents are the block grid: whole blocks, then one that may be short."""
    return (
        len(extents) == block_count(size, block_size)
        and all(e.size == block_size for e in extents[:-1])
        and 0 < extents[-1].size <= block_size
    )


def known_hashmap(bucket: Bucket, version: ObjectVersion) -> tuple[bytes, ...] | None:
    """The hashmap without reading data; None when it must be computed from the data."""
    size, algorithm = bucket.block_size, bucket.hash_algorithm
    if version.size == 0:
        return (hashlib.new(algorithm, b"").digest(),)
    if version.inline is not None:
        # Inline data is smaller than a block: hashed as it is, in memory.
        return tuple(block_digests(version.inline, size, algorithm))
    kept = version.hashmap
    if (
        kept is not None
        and kept.block_size == size
        and kept.algorithm == algorithm
        and len(kept.digests) == block_count(version.size, size)
    ):
        return kept.digests
    if not version.sse and aligned(version.extents, version.size, size):
        return tuple(e.digest for e in version.extents)
    return None


def object_top_hash(version: ObjectVersion) -> str | None:
    """The top hash (hex) of a version, when known without reading its data."""
    if version.top_hash:
        return version.top_hash
    if version.hashmap is not None:
        return top_hash(version.hashmap.digests, version.hashmap.algorithm).hex()
    return None


class _Replaced(Exception):
    """The version's row no longer holds the data the hashmap was computed from."""


class Hashmaps:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    async def get(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectHashmap:
        """The hashmap of the version `principal` may read (the current one by default)."""
        bucket, version = await self.objects.open(principal, bucket_name, key, version_id)
        if not keeps_hashmap(version.sse):
            raise InvalidRequest(
                "Data encrypted with a customer key keeps no hash of its plaintext."
            )
        digests = known_hashmap(bucket, version)
        if digests is None:
            digests = await self._compute(bucket, version)
            await self._keep(
                principal, version, Hashmap(bucket.block_size, bucket.hash_algorithm, digests)
            )
        return ObjectHashmap(version, bucket.block_size, bucket.hash_algorithm, digests)

    async def _compute(self, bucket: Bucket, version: ObjectVersion) -> tuple[bytes, ...]:
        """Read the data (verified, opened if sealed) and hash it on the block grid.

        Holds one block besides the reader's read-ahead, whatever the size.
        """
        data = await self.objects.read(version, 0, version.size - 1)
        return await hash_blocks(data, bucket.block_size, bucket.hash_algorithm)

    async def _keep(self, principal: Principal, version: ObjectVersion, hashmap: Hashmap) -> None:
        """Keep the hashmap on the version, unless the row changed meanwhile.

        An unversioned key is rewritten in place under the same version id:
        the guard makes sure the row still holds the data that was hashed.
        Losing that race only means the next request computes again.
        """

        def same_data(stored: ObjectVersion) -> None:
            if stored.extents != version.extents or stored.size != version.size:
                raise _Replaced

        try:
            await self.ctx.meta.update_version(
                replace(version, hashmap=hashmap),
                (HASHMAP,),
                same_data,
                actor=principal.actor,
            )
        except (_Replaced, NotFound, PreconditionFailed):
            return


async def hash_blocks(
    data: AsyncIterator[bytes], block_size: int, algorithm: str
) -> tuple[bytes, ...]:
    """The Pithos block digests of a stream, cut into blocks of `block_size`."""
    digests: list[bytes] = []
    block = bytearray()

    def digest(chunk: bytes) -> bytes:
        return hashlib.new(algorithm, chunk.rstrip(b"\0")).digest()

    async for chunk in data:
        block += chunk
        while len(block) >= block_size:
            whole = bytes(block[:block_size])
            del block[:block_size]
            digests.append(await asyncio.to_thread(digest, whole))
    if block or not digests:
        digests.append(await asyncio.to_thread(digest, bytes(block)))
    return tuple(digests)
