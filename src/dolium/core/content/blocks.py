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
match is never returned: `CorruptBlock` is raised instead, and the block is
quarantined (core.content.quarantine) so that a later write of the same
content stores it again.

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
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field

from dolium.core.clock import Clock
from dolium.core.content.checksums import new_checksum
from dolium.core.content.hashing import top_hash
from dolium.core.content.quarantine import corrupt
from dolium.core.content.sse import BlockCipher
from dolium.errors import BlockNotFound, CorruptBlock, EntityTooLarge, StorageError
from dolium.model import BlockRef, Extent
from dolium.protocols.blob import BlobStore, BlockingReads
from dolium.protocols.meta import MetaStore

MAX_OBJECT_SIZE = 5 * 1024**4  # 5 TiB, the S3 limit
MAX_PUT_SIZE = 5 * 1024**3  # 5 GiB for one PUT or one part
# A block the collector is deleting cannot be leased; it is done within
# moments, so a writer asks again this often, this many times.
BUSY_WAIT = 0.05
BUSY_TRIES = 200
# Blocks of one stream in the stream hashes (MD5 and the checksums) at once,
# and being hashed for their address and stored at once. Stores overlap
# their fsyncs: on a virtual disk measured here, one 4 MiB write+fsync at a
# time made 230 MB/s, two at once over 1 GB/s. Once blocks were written
# direct, a store (digest, lease, write, fsyncs, rename) took some 20 ms
# while a block arrived every 8-12 ms, and with two the stream waited on
# them for 40 % of its time: four made a 256 MiB single-stream PUT 5-10 %
# faster (medians of 8 and 10 alternating rounds) than two; more MD5s in
# flight made nothing faster. An upload holds about STORES_IN_FLIGHT blocks
# plus the one it is receiving.
IN_FLIGHT = 2
STORES_IN_FLIGHT = 4
# Blocks a reader has fetched and is verifying ahead of the one it sends:
# two verify on two cores while the event loop sends, and a third waits on
# the disk meanwhile. Three made a 256 MiB GET of blocks not in the page
# cache 6-13 % faster than two here (four, no faster than three); a stream
# holds these, the one being sent and the one before it in the server's
# send buffer, about 20 MiB.
READ_AHEAD = 3


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
        # The bytes received and not yet cut into a block, as they came
        # (a piece of a chunk as a view of it), and their total length.
        self._held: deque[bytes | memoryview] = deque()
        self._held_size = 0
        self._size = 0
        # Plaintext block hashes of a sealed write (the hashmap), when kept,
        # by block index: blocks are sealed side by side.
        self._plain: dict[int, bytes] = {}
        self._last_refresh = clock()
        # Blocks being stored, oldest first (at most STORES_IN_FLIGHT).
        self._pending: deque[asyncio.Task[None]] = deque()
        # The stream hashes' updates not yet done, oldest first (at most
        # IN_FLIGHT): each waits for the one before, so blocks enter MD5 and
        # the checksums in order while their digests and writes run side by
        # side. Bounded too: MD5 is slower than SHA-256, and blocks waiting
        # for it would pile up.
        self._streamed: deque[asyncio.Task[None]] = deque()

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
        """Take the next bytes of the stream.

        `chunk` is kept as it is, not copied, until its block is cut; one
        that is not immutable bytes is copied first.
        """
        self._count(len(chunk))
        if type(chunk) is not bytes:
            # A buffer its producer may fill again (bytearray, memoryview):
            # held as it is now.
            chunk = bytes(chunk)
        if chunk:
            self._held.append(chunk)
            self._held_size += len(chunk)
        while self._held_size >= self.block_size:
            # Room is made (the oldest block stored and freed) before this
            # one is put together.
            await self._make_room()
            await self._submit(self._take(self.block_size))
        await self._keep_alive_if_due()

    def _take(self, size: int) -> bytes:
        """The first `size` bytes held, as one bytes object.

        Copied once, by the join, from the chunks as they came: gathering
        them in a growing buffer first copied every byte twice.
        """
        held = self._held
        parts: list[bytes | memoryview] = []
        need = size
        while need:
            part = held[0]
            if len(part) <= need:
                parts.append(held.popleft())
                need -= len(part)
            else:
                view = memoryview(part)
                parts.append(view[:need])
                held[0] = view[need:]
                need = 0
        self._held_size -= size
        # A block that is one whole chunk is that chunk, not a copy.
        return b"".join(parts)

    def can_adopt(self, extent: Extent, hash_algorithm: str, *, last: bool) -> bool:
        """Whether `adopt` may take this stored block as the next block of the stream.

        Only where a rewrite would cut exactly this block: in clear, on a
        block boundary, a whole block (or a shorter one that ends the stream).
        """
        return (
            self.cipher is None
            and not self._held_size
            and hash_algorithm == self.hash_algorithm
            and (extent.size == self.block_size or (last and extent.size < self.block_size))
        )

    async def adopt(self, extent: Extent, content: bytes) -> None:
        """Take a stored block in clear as the next block, by reference (see `can_adopt`).

        `content` is its data, for the MD5 and the checksums of the stream;
        the block is neither hashed for its address nor stored again.
        """
        assert self.cipher is None and not self._held_size, "only whole blocks in clear"
        self._count(extent.size)
        await self._make_room()
        self._extents.append(extent)
        self._stream(content)
        self._pending.append(asyncio.create_task(hold(self.blobs, self.leases, [extent])))
        await self._keep_alive_if_due()

    async def finish(self) -> WrittenData:
        """Store what is left of the stream and describe what was written."""
        tail = self._take(self._held_size)
        inline = self.cipher is None and self._size <= self.inline_threshold
        if not self._extents and not self._pending and inline:
            return self._finish_inline(tail)
        if tail:
            await self._submit(tail)
        await self._settle()
        await self.refresh_leases(force=False)
        return self._result(self._size)

    async def abandon(self) -> None:
        """Stop the blocks in flight (the write failed)."""
        tasks = [*self._pending, *self._streamed]
        self._pending.clear()
        self._streamed.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
        """Wait until every block is stored and in the stream hashes."""
        while self._pending:
            await self._pending[0]
            self._pending.popleft()
        while self._streamed:
            await self._streamed[0]
            self._streamed.popleft()

    async def _make_room(self) -> None:
        for tasks, limit in ((self._pending, STORES_IN_FLIGHT), (self._streamed, IN_FLIGHT)):
            while len(tasks) >= limit:
                await tasks[0]
                tasks.popleft()

    def _stream(self, block: bytes) -> None:
        previous = self._streamed[-1] if self._streamed else None
        self._streamed.append(asyncio.ensure_future(self._stream_after(previous, block)))

    async def _stream_after(self, previous: asyncio.Task[None] | None, block: bytes) -> None:
        if previous is not None:
            await previous
        await asyncio.to_thread(self._hasher.stream, block)

    async def _submit(self, block: bytes) -> None:
        # The next blocks are received while this one is hashed and stored.
        await self._make_room()
        index = len(self._extents)
        self._extents.append(Extent(b"", len(block)))
        self._stream(block)
        self._pending.append(asyncio.create_task(self._store(index, block)))

    async def _keep_alive(self) -> None:
        await self._settle()
        await self.refresh_leases(force=True)

    async def _store(self, index: int, block: bytes) -> None:
        # Only the block's own digest is needed to store it, so the stream
        # hashes (MD5, the slowest, and the checksums) run in another thread
        # (`_stream`) beside the digest and the write, not before them.
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

    def _address(self, index: int, block: bytes) -> tuple[bytes, bytes]:
        # Sealed first: the address names what the blob store holds. The
        # plaintext's hash goes only to the hashmap, never to the store.
        if self.cipher is not None:
            if self.hashmap:
                self._plain[index] = self._hasher.address(block)[1]
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
            digests = [self._plain[i] for i in range(len(self._plain))] if self.hashmap else []
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
        if isinstance(blobs, BlockingReads):
            # Read and checked in one worker thread: one hand-off, not two.
            stored, ok = await asyncio.to_thread(_get_checked, blobs, extent.digest, hash_algorithm)
        else:
            stored = await blobs.get(extent.digest)
            if len(stored) >= 65536:
                ok = await asyncio.to_thread(_matches, stored, extent.digest, hash_algorithm)
            else:
                ok = _matches(stored, extent.digest, hash_algorithm)
    except BlockNotFound as exc:
        raise CorruptBlock(f"block {extent.digest.hex()} is missing") from exc
    size = extent.size + (cipher.overhead if cipher is not None else 0)
    if not ok:
        raise await corrupt(blobs, extent.digest, stored)
    if len(stored) > size:
        raise CorruptBlock(f"block {extent.digest.hex()} is longer than its place in the object")
    if len(stored) < size:
        stored += b"\0" * (size - len(stored))
    if cipher is None:
        return stored
    plain = await asyncio.to_thread(cipher.open, stored) if size >= 65536 else cipher.open(stored)
    if len(plain) != extent.size:
        raise CorruptBlock(f"block {extent.digest.hex()} opens to the wrong length")
    return plain


def _get_checked(blobs: BlockingReads, digest: bytes, hash_algorithm: str) -> tuple[bytes, bool]:
    stored = blobs.get_blocking(digest)
    return stored, _matches(stored, digest, hash_algorithm)


def _matches(data: bytes, digest: bytes, hash_algorithm: str) -> bool:
    return hashlib.new(hash_algorithm, data).digest() == digest


class BlockReader:
    """Reads bytes [start, end] of an object's extents, verified, READ_AHEAD blocks ahead.

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
        # Blocks fetched and being verified, in order, from self._index on.
        self._ahead: deque[asyncio.Task[bytes]] = deque()
        self._index = 0

    def _fill(self) -> None:
        """Fetch blocks until READ_AHEAD are on their way (or none is left)."""
        while len(self._ahead) < READ_AHEAD:
            index = self._index + len(self._ahead)
            if index >= len(self._plan):
                return
            extent = self._plan[index][0]
            self._ahead.append(
                asyncio.create_task(
                    read_block(self.blobs, extent, self.hash_algorithm, self.cipher)
                )
            )

    async def prime(self) -> None:
        self._fill()
        if self._ahead:
            await asyncio.shield(self._ahead[0])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._fill()
        try:
            while self._ahead:
                block = await self._ahead[0]
                self._ahead.popleft()
                _, lo, hi = self._plan[self._index]
                self._index += 1
                self._fill()
                # One piece per block, not copies cut from it: the block is
                # whole in memory already (it was verified whole), and a cut
                # costs a copy and a send each.
                yield block if lo == 0 and hi == len(block) else block[lo:hi]
        finally:
            for task in self._ahead:
                task.cancel()
            await asyncio.gather(*self._ahead, return_exceptions=True)
            self._ahead.clear()
