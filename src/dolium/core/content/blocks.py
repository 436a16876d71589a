"""Cutting object data into content-addressed blocks, and reading it back.

The writer consumes a body as an async iterator, cuts it into blocks of the
bucket's block size, hashes each block by the Pithos rules, and stores it
through the BlobStore of the bucket's storage policy (deduplicated: a block
already stored is not written again). It computes the MD5, the requested
checksums and the top hash on the way, so data is read once. Hashing runs in
a worker thread (hashlib releases the GIL) while the next block arrives.

The writer leases each block in the meta store (`Leases`); the lease covers
the block until the metadata that references it commits, and the collector
deletes no leased block. Long uploads renew their leases on the way and
before committing, and check that every block is still stored.

The reader fetches the blocks an object (or a range of it) needs, checks each
against its digest, and pads it back to its length. A block that does not
match is never returned: `CorruptBlock` is raised instead.

With a `BlockCipher` (core.sse) both seal and open blocks. Encryption sits
between the hashmap and the content address (docs/encryption.md): a block's
address is the digest of the sealed bytes it is stored as, so the stored
bytes are verified without a key; the top hash describes the plaintext
(Pithos rules), and is kept only when the write asks for it (`hashmap`),
which SSE-C writes do not, as it would let anyone who can read the metadata
confirm a guess of the content.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field

from dolium.core.clock import Clock
from dolium.core.content.checksums import new_checksum
from dolium.core.content.hashing import top_hash
from dolium.core.content.sse import BlockCipher
from dolium.errors import BlockNotFound, CorruptBlock, EntityTooLarge, StorageError
from dolium.model import BlockRef, Extent
from dolium.protocols.blob import BlobStore
from dolium.protocols.meta import MetaStore

MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB, the S3 limit
MAX_PUT_SIZE = 5 * 1024**3  # 5 GiB for one PUT or one part
# A block the collector is deleting cannot be leased; it is done within
# moments, so a writer asks again this often, this many times.
BUSY_WAIT = 0.05
BUSY_TRIES = 200


@dataclass
class Leases:
    """One writer's leases on blocks of one storage policy, kept in the meta store."""

    meta: MetaStore
    policy: str
    duration: float
    clock: Clock
    holder: str = field(default_factory=lambda: secrets.token_hex(8))

    async def take(self, digests: Collection[bytes]) -> None:
        """Lease (or renew) `digests`; wait while the collector deletes one of them."""
        refs = {BlockRef(self.policy, d) for d in digests}
        for _ in range(BUSY_TRIES):
            now = self.clock()
            refs = await self.meta.lease_blocks(
                refs, self.holder, now=now, until=now + self.duration
            )
            if not refs:
                return
            await asyncio.sleep(BUSY_WAIT)
        raise StorageError("a block is being deleted by the garbage collector; try again")


@dataclass
class WrittenData:
    size: int = 0
    md5: bytes = b""
    extents: tuple[Extent, ...] = ()
    inline: bytes | None = None
    top_hash: str | None = None
    checksums: dict[str, str] = field(default_factory=dict)


class _Hasher:
    """Hashes of the whole stream, updated block by block, in order."""

    def __init__(self, algorithms: Sequence[str], hash_algorithm: str) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.checksums = {name: new_checksum(name) for name in algorithms}
        self.hash_algorithm = hash_algorithm

    def feed(self, block: bytes) -> tuple[bytes, bytes]:
        """Update the stream hashes; return (stored bytes, block digest)."""
        self.stream(block)
        return self.address(block)

    def stream(self, block: bytes) -> None:
        """Update the hashes of the whole stream (MD5, checksums) with the next block."""
        self.md5.update(block)
        for checksum in self.checksums.values():
            checksum.update(block)

    def address(self, block: bytes) -> tuple[bytes, bytes]:
        """(stored bytes, block digest): what the blob store keeps, and its name."""
        stored = block.rstrip(b"\0")
        return stored, hashlib.new(self.hash_algorithm, stored).digest()


class BlockWriter:
    """Writes one stream of data as blocks. Not reusable."""

    def __init__(
        self,
        blobs: BlobStore,
        *,
        block_size: int,
        hash_algorithm: str = "sha256",
        inline_threshold: int = 0,
        checksum_algorithms: Sequence[str] = (),
        max_size: int = MAX_PUT_SIZE,
        lease_refresh: float = 600.0,
        clock: Clock,
        cipher: BlockCipher | None = None,
        leases: Leases | None = None,
        hashmap: bool = True,
    ) -> None:
        self.blobs = blobs
        # None: nothing else writes or collects (unit tests of the hashing).
        self.leases = leases
        # Whether a sealed write keeps the top hash of its plaintext.
        self.hashmap = hashmap
        self.block_size = block_size
        # Encrypted data is sealed block by block, never kept inline.
        self.cipher = cipher
        self.inline_threshold = inline_threshold
        self.max_size = max_size
        self.lease_refresh = lease_refresh
        self.clock = clock
        self._hasher = _Hasher(checksum_algorithms, hash_algorithm)
        self._extents: list[Extent] = []
        self._buffer = bytearray()
        self._size = 0
        # Plaintext block hashes of a sealed write (the hashmap), when kept.
        self._plain: list[bytes] = []
        self._last_refresh = clock()
        self._pending: asyncio.Task[None] | None = None

    @property
    def hash_algorithm(self) -> str:
        return self._hasher.hash_algorithm

    async def write(self, body: AsyncIterator[bytes]) -> WrittenData:
        try:
            async for chunk in body:
                await self.feed(chunk)
            return await self.finish()
        except BaseException:
            await self.abandon()
            raise

    async def feed(self, chunk: bytes) -> None:
        """Take the next bytes of the stream."""
        self._count(len(chunk))
        buffer = self._buffer
        buffer += chunk
        while len(buffer) >= self.block_size:
            # The previous block is stored (and freed) before this one
            # is copied out, and copied once, through a view (a slice
            # would copy it twice): an upload holds about two blocks.
            await self._settle()
            with memoryview(buffer) as view:
                block = bytes(view[: self.block_size])
            del buffer[: self.block_size]
            await self._submit(block)
        await self._keep_alive_if_due()

    def can_adopt(self, extent: Extent, hash_algorithm: str, *, last: bool) -> bool:
        """Whether `adopt` may take this stored block as the next block of the stream.

        Only where a rewrite would cut exactly this block: in clear, on a
        block boundary, a whole block (or a shorter one that ends the stream).
        """
        return (
            self.cipher is None
            and not self._buffer
            and hash_algorithm == self.hash_algorithm
            and (extent.size == self.block_size or (last and extent.size < self.block_size))
        )

    async def adopt(self, extent: Extent, content: bytes) -> None:
        """Take a stored block in clear as the next block, by reference (see `can_adopt`).

        `content` is its data, for the MD5 and the checksums of the stream;
        the block is neither hashed for its address nor stored again.
        """
        assert self.cipher is None and not self._buffer, "only whole blocks in clear"
        self._count(extent.size)
        await self._settle()
        self._extents.append(extent)
        self._pending = asyncio.create_task(self._reference(extent, content))
        await self._keep_alive_if_due()

    async def finish(self) -> WrittenData:
        """Store what is left of the stream and describe what was written."""
        tail = bytes(self._buffer)
        self._buffer.clear()
        inline = self.cipher is None and self._size <= self.inline_threshold
        if not self._extents and self._pending is None and inline:
            return self._finish_inline(tail)
        if tail:
            await self._submit(tail)
        await self._settle()
        await self.refresh_leases(force=False)
        return self._result(self._size)

    async def abandon(self) -> None:
        """Stop the block in flight (the write failed)."""
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)
            self._pending = None

    def _count(self, size: int) -> None:
        self._size += size
        if self._size > self.max_size:
            raise EntityTooLarge(
                f"The data exceeds {self.max_size} bytes, the most one write takes."
            )

    async def _keep_alive_if_due(self) -> None:
        # Checked per chunk, not per block: a body that trickles in may take
        # longer than the grace time to fill one block.
        if self.clock() - self._last_refresh > self.lease_refresh:
            await self._keep_alive()

    async def _settle(self) -> None:
        if self._pending is not None:
            await self._pending
            self._pending = None

    async def _submit(self, block: bytes) -> None:
        # One block in flight: the next one is received while this one is
        # hashed and stored; memory stays at about two blocks.
        await self._settle()
        index = len(self._extents)
        self._extents.append(Extent(b"", len(block)))
        self._pending = asyncio.create_task(self._store(index, block))

    async def _keep_alive(self) -> None:
        await self._settle()
        await self.refresh_leases(force=True)

    async def _store(self, index: int, block: bytes) -> None:
        # Only the block's own digest is needed to store it, so the stream
        # hashes (MD5, the slowest, and the checksums) run in another thread
        # beside the digest and the write, not before them. Blocks still
        # enter the stream hashes in order: one _store runs at a time, and it
        # ends only when its stream update has.
        streamed = asyncio.ensure_future(asyncio.to_thread(self._hasher.stream, block))
        try:
            stored, digest = await asyncio.to_thread(self._address, index, block)
            self._extents[index] = Extent(digest, len(block))
            # Leased before it is stored: from here until the commit the
            # collector leaves it alone. Put even when it is stored already
            # (deduplicated): the store then writes nothing, but makes sure
            # the block is durable before this write is acknowledged, as the
            # writer that stored it may not have yet.
            if self.leases is not None:
                await self.leases.take([digest])
            await self.blobs.put(digest, stored)
        finally:
            await streamed

    async def _reference(self, extent: Extent, content: bytes) -> None:
        streamed = asyncio.ensure_future(asyncio.to_thread(self._hasher.stream, content))
        try:
            # Leased, then checked: from here until the commit the collector
            # leaves it alone, and it is known to be there.
            await hold(self.blobs, self.leases, [extent])
        finally:
            await streamed

    def _address(self, index: int, block: bytes) -> tuple[bytes, bytes]:
        # Sealed first: the address names what the blob store holds. The
        # plaintext's hash goes only to the hashmap, never to the store.
        if self.cipher is not None:
            if self.hashmap:
                self._plain.append(self._hasher.address(block)[1])
            block = self.cipher.seal(index, block)
        return self._hasher.address(block)

    async def refresh_leases(self, *, force: bool) -> None:
        """Renew the leases of every block written so far, and check they are stored.

        Long uploads call this on the way and before committing: a lease
        lasts the collector's grace time.
        """
        if not force and self.clock() - self._last_refresh <= self.lease_refresh:
            return
        await hold(self.blobs, self.leases, self._extents)
        self._last_refresh = self.clock()

    def _finish_inline(self, data: bytes) -> WrittenData:
        stored, digest = self._hasher.feed(data)
        del stored
        result = self._result(len(data))
        result.inline = data
        result.top_hash = digest.hex()
        return result

    def _result(self, size: int) -> WrittenData:
        digests = [e.digest for e in self._extents]
        if self.cipher is not None:
            # The top hash describes the plaintext, or is not kept at all.
            digests = self._plain if self.hashmap else []
        aligned = all(e.size == self.block_size for e in self._extents[:-1])
        top = None
        if self.cipher is not None and not self.hashmap:
            top = None
        elif not digests:
            top = hashlib.new(self._hasher.hash_algorithm, b"").hexdigest()
        elif aligned:
            top = top_hash(digests, self._hasher.hash_algorithm).hex()
        return WrittenData(
            size=size,
            md5=self._hasher.md5.digest(),
            extents=tuple(self._extents),
            top_hash=top,
            # Keyed by S3's spelling of the name, however the caller spelt it.
            checksums={c.algorithm: c.digest_b64() for c in self._hasher.checksums.values()},
        )


async def hold(blobs: BlobStore, leases: Leases | None, extents: Sequence[Extent]) -> None:
    """Lease the blocks a new reference is about to point at, and check they are stored.

    For copies and completed uploads, whose blocks were written earlier, and
    for long uploads renewing their leases.
    """
    if leases is not None and extents:
        await leases.take({e.digest for e in extents})
    for digest in dict.fromkeys(e.digest for e in extents):
        if not await blobs.has(digest):
            raise StorageError(f"block {digest.hex()} is missing from the block store")


async def read_block(
    blobs: BlobStore, extent: Extent, hash_algorithm: str, cipher: BlockCipher | None = None
) -> bytes:
    """One block, verified against its digest, padded back to its size, opened if sealed."""
    try:
        stored = await blobs.get(extent.digest)
    except BlockNotFound as exc:
        raise CorruptBlock(f"block {extent.digest.hex()} is missing") from exc
    if len(stored) >= 65536:
        ok = await asyncio.to_thread(_matches, stored, extent.digest, hash_algorithm)
    else:
        ok = _matches(stored, extent.digest, hash_algorithm)
    size = extent.size + (cipher.overhead if cipher is not None else 0)
    if not ok or len(stored) > size:
        raise CorruptBlock(f"block {extent.digest.hex()} does not match its hash")
    if len(stored) < size:
        stored += b"\0" * (size - len(stored))
    if cipher is None:
        return stored
    plain = await asyncio.to_thread(cipher.open, stored) if size >= 65536 else cipher.open(stored)
    if len(plain) != extent.size:
        raise CorruptBlock(f"block {extent.digest.hex()} opens to the wrong length")
    return plain


def _matches(data: bytes, digest: bytes, hash_algorithm: str) -> bool:
    return hashlib.new(hash_algorithm, data).digest() == digest


class BlockReader:
    """Reads bytes [start, end] of an object's extents, verified, one block ahead.

    `prime()` fetches and checks the first block, so that a corrupt or missing
    first block fails before any response header is sent.
    """

    def __init__(
        self,
        blobs: BlobStore,
        extents: Sequence[Extent],
        start: int,
        end: int,
        hash_algorithm: str = "sha256",
        cipher: BlockCipher | None = None,
    ) -> None:
        self.blobs = blobs
        self.hash_algorithm = hash_algorithm
        self.cipher = cipher
        self._plan: list[tuple[Extent, int, int]] = []  # extent, slice start, slice end
        offset = 0
        for extent in extents:
            lo, hi = offset, offset + extent.size - 1
            if hi >= start and lo <= end:
                self._plan.append((extent, max(start, lo) - lo, min(end, hi) - lo + 1))
            offset += extent.size
            if offset > end:
                break
        self._next: asyncio.Task[bytes] | None = None
        self._index = 0

    def _fetch(self, index: int) -> asyncio.Task[bytes] | None:
        if index >= len(self._plan):
            return None
        return asyncio.create_task(
            read_block(self.blobs, self._plan[index][0], self.hash_algorithm, self.cipher)
        )

    async def prime(self) -> None:
        if self._next is None:
            self._next = self._fetch(0)
        if self._next is not None:
            await asyncio.shield(self._next)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._next is None:
            self._next = self._fetch(0)
        try:
            while self._next is not None:
                block = await self._next
                _, lo, hi = self._plan[self._index]
                self._index += 1
                self._next = self._fetch(self._index)
                view = memoryview(block)[lo:hi]
                # Hand out moderate pieces so the server can start sending.
                for i in range(0, len(view), 1024 * 1024):
                    yield bytes(view[i : i + 1024 * 1024])
        finally:
            if self._next is not None:
                self._next.cancel()
                await asyncio.gather(self._next, return_exceptions=True)
