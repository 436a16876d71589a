"""Writing objects by hashmap, and storing the blocks they name (Pithos' upload).

A client hashes its file into blocks (core.content.hashing), asks to create
the object from that hashmap, and is told which blocks the store lacks
(`MissingBlocks`); it uploads those (`store_blocks`) and asks again. Only
missing data crosses the wire.

Blocks are looked for in the block store of the container's storage policy:
across every container and account of that policy, as Pithos' store is
global. So whoever knows a block's hash may make an object of it, and learns
whether it is stored; that is Pithos' deduplication, and its price.

Uploaded blocks are leased for the collector's grace time (as every writer
leases what it stores), which is the time a client has to name them in a
hashmap; blocks no version names by then are collected.

ETags stay MD5, so that S3 and Swift agree on them: the MD5 of an object
made from a hashmap is computed from its stored blocks, each read back and
verified against its hash (the data is read once, a few blocks at a time).

Containers that encrypt new data by default take neither: their data must
arrive in clear to be sealed, and blocks uploaded alone would sit in the
store unsealed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterator, Sequence

from dolium.core.access import grants
from dolium.core.access.actions import Action
from dolium.core.content.blocks import MAX_PUT_SIZE, hold
from dolium.core.content.hashing import top_hash
from dolium.core.content.quarantine import corrupt
from dolium.core.content.sse import write_request
from dolium.core.context import Context
from dolium.core.names import validate_key
from dolium.core.objects import object_lock
from dolium.core.objects.hashmaps import block_count
from dolium.core.objects.service import Objects
from dolium.core.objects.version_ids import write_version_id
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import (
    BlockNotFound,
    CorruptBlock,
    EntityTooLarge,
    InvalidRequest,
    MissingBlocks,
)
from dolium.model import Bucket, ChangeAction, Extent, ObjectVersion, Principal
from dolium.protocols.blob import BlobStore

# Blocks fetched and being verified ahead of the one whose MD5 is taken.
_READ_AHEAD = 2


class HashmapWrites:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    async def _writable(self, principal: Principal, bucket_name: str, key: str | None) -> Bucket:
        bucket = await self.ctx.bucket(principal, bucket_name, Action.WRITE, key)
        if write_request(bucket, None) is not None:
            raise InvalidRequest(
                "This container encrypts new data, which must then arrive as data, "
                "not as blocks or hashmaps."
            )
        return bucket

    async def store_blocks(
        self, principal: Principal, bucket_name: str, body: AsyncIterator[bytes]
    ) -> list[bytes]:
        """Store a body as blocks of the container's block size; their digests, in order.

        Each is leased for the collector's grace time by the writer.
        """
        bucket = await self._writable(principal, bucket_name, None)
        writer = self.objects.writer(bucket, WriteOptions(), inline=False)
        written = await writer.write(body)
        return [e.digest for e in written.extents]

    async def put(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        size: int,
        digests: Sequence[bytes],
        opts: WriteOptions,
    ) -> ObjectVersion:
        """Create an object from stored blocks; MissingBlocks when some are not stored."""
        validate_key(key)
        bucket = await self._writable(principal, bucket_name, key)
        extents = _extents(bucket, size, digests)
        blobs = self.ctx.blobs_for(bucket.policy)
        missing = [d for d in dict.fromkeys(e.digest for e in extents) if not await blobs.has(d)]
        if missing:
            raise MissingBlocks(
                f"{len(missing)} of the blocks the hashmap names are not stored.",
                missing=tuple(missing),
            )
        # Leased, then checked once more: the collector may have taken one
        # between the look above and the lease.
        await hold(blobs, self.objects.leases(bucket.policy), extents)
        md5 = await _verified_md5(blobs, extents, bucket.hash_algorithm)
        acl_text = await grants.acl_for_write(self.ctx.meta, principal, bucket, "")
        requested = object_lock.requested_lock(bucket, None, self.ctx.clock())
        modified = self.ctx.clock()
        algorithm = bucket.hash_algorithm
        version = ObjectVersion(
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket, modified),
            size=size,
            etag=md5.hex(),
            modified=modified,
            owner=grants.object_owner(bucket, principal.tenant, ""),
            user=principal.user,
            content_type=opts.content_type,
            extents=extents,
            inline=b"" if not extents else None,
            top_hash=(
                top_hash([e.digest for e in extents], algorithm).hex()
                if extents
                else hashlib.new(algorithm, b"").hexdigest()
            ),
            meta=dict(opts.meta),
            headers=dict(opts.headers),
            acl=acl_text,
            lock=object_lock.new_version_lock(bucket, requested, modified),
            policy=bucket.policy,
        )
        created = await self.ctx.meta.put_version(
            version, opts.condition, actor=principal.actor, action=ChangeAction.OBJECT_PUT,
            limits=await self.objects.quotas.limits(bucket),
        )  # fmt: skip
        await self.objects.delivered(bucket)
        return created


def _extents(bucket: Bucket, size: int, digests: Sequence[bytes]) -> tuple[Extent, ...]:
    """The blocks of an object of `size` bytes with these block digests (Pithos' rules)."""
    block_size, algorithm = bucket.block_size, bucket.hash_algorithm
    width = hashlib.new(algorithm).digest_size
    if size < 0:
        raise InvalidRequest("An object's size is not negative.")
    if size > MAX_PUT_SIZE:
        raise EntityTooLarge(f"An object made from a hashmap holds at most {MAX_PUT_SIZE} bytes.")
    if any(len(d) != width for d in digests):
        raise InvalidRequest(f"Block hashes are {algorithm} digests of {width} bytes.")
    if size == 0:
        # An empty object's hashmap is empty, or the one hash of no bytes.
        if list(digests) not in ([], [hashlib.new(algorithm, b"").digest()]):
            raise InvalidRequest("An empty object's hashmap names no block.")
        return ()
    if len(digests) != block_count(size, block_size):
        raise InvalidRequest(
            f"{size} bytes are {block_count(size, block_size)} blocks of {block_size} bytes, "
            f"not {len(digests)}."
        )
    last = size - (len(digests) - 1) * block_size
    return tuple(
        Extent(d, block_size if i < len(digests) - 1 else last) for i, d in enumerate(digests)
    )


async def _verified_block(blobs: BlobStore, extent: Extent, algorithm: str) -> bytes:
    """A stored block as the object holds it: verified, no longer than its place, padded."""
    try:
        stored = await blobs.get(extent.digest)
    except BlockNotFound as exc:
        raise CorruptBlock(f"block {extent.digest.hex()} is missing") from exc

    def check() -> bool:
        return hashlib.new(algorithm, stored).digest() == extent.digest

    if not await asyncio.to_thread(check):
        raise await corrupt(blobs, extent.digest, stored)
    if len(stored) > extent.size:
        # A block of another block size, or a sealed one: not the bytes the
        # hashmap says stand at this place.
        raise InvalidRequest(
            f"Block {extent.digest.hex()} holds {len(stored)} bytes; "
            f"its place in the hashmap has {extent.size}."
        )
    return stored + b"\0" * (extent.size - len(stored))


async def _verified_md5(blobs: BlobStore, extents: Sequence[Extent], algorithm: str) -> bytes:
    """The MD5 of the data the extents hold, each block read back and verified."""
    md5 = hashlib.md5(usedforsecurity=False)
    ahead: deque[asyncio.Task[bytes]] = deque()
    index = 0
    try:
        while index < len(extents) or ahead:
            while index < len(extents) and len(ahead) < _READ_AHEAD:
                ahead.append(asyncio.create_task(_verified_block(blobs, extents[index], algorithm)))
                index += 1
            block = await ahead.popleft()
            await asyncio.to_thread(md5.update, block)
    finally:
        for task in ahead:
            task.cancel()
        await asyncio.gather(*ahead, return_exceptions=True)
    return md5.digest()
