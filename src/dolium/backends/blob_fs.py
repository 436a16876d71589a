"""Filesystem blob store: one file per block under a root directory.

Layout: ``root/ab/cd/<hex digest>``, where ``abcd`` are the first four hex
digits of the digest. The file name is built only from the digest bytes the
core hands over, hexed here; no client string ever reaches a path.

Durability: a block is acknowledged only once it survives a crash. It is
written to a temporary file in its own directory (a name unique to that
writer, so two concurrent puts of one block both succeed), written, fsynced,
renamed onto its final name, and the directory is fsynced. A shard directory
is fsynced into its parent the first time this process uses it, whether it
created it or found it: another process may have created it and not yet
made it durable. All disk work runs in worker threads so that the event loop
never waits on the disk.

Large blocks are written with O_DIRECT where the file system takes it: a
buffered write followed by fsync costs the kernel several times the CPU of
a direct one (copying into the page cache, then writing it back), and it
was what bounded a single upload stream. Direct I/O wants page-aligned
memory, lengths and offsets, so each block goes through a page-aligned
buffer lent by `direct_buffers`, DIRECT_CHUNK at a time; the unaligned tail (blocks
are stored without their trailing NULs, so of any length) is written
buffered once O_DIRECT is cleared on the file. The fsync, the rename and
the directory's fsync follow as for any block. A file system that refuses
O_DIRECT (EINVAL) gets buffered writes from then on. Blocks below
DIRECT_MIN stay buffered: for them the direct write's wait on the device
costs more than the copy it saves. A block written so is not left in the
page cache; reads of it go to the disk.

Deletion unlinks the block and fsyncs its directory. Whether a block may
be deleted is not this module's business: the garbage collector decides it
from the reference counts and leases in the meta store, and calls `delete`
only for blocks nothing uses or may use.

Temporary files left by a crashed put are removed once an hour old, by the
delete of their block (its writer leased it before the put, so the block
becomes garbage) and by `list`, which walks every shard directory and also
puts back under its name a block an older release's collector left under a
trash name.

A block the core found corrupt is moved aside (`quarantine`) into
``root/quarantine/<hex digest>.<time>.<random>``, out of the walk (which
reads only two-hex-digit directories): it then counts as absent, so the
next put of its content stores a sound copy, and the bad bytes stay for
an operator to look at (and delete).

Block files are read by blob_fs_read: from the page cache when it holds the
block whole, else with O_DIRECT through a buffer lent by direct_buffers.

This module must not import the core or the front ends and must not verify
digests (the core does). It does not follow symlinks out of the root: block
files are opened with O_NOFOLLOW, a symlink in a block's place counts as
absent, and the walk never descends into a symlinked directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING

from dolium import errors
from dolium.backends.blob_fs_read import O_SAFE, BlockFiles, read_plain
from dolium.backends.direct_buffers import DIRECT_ALIGN, DIRECT_MIN, O_DIRECT, lend, set_direct
from dolium.durable import fsync_dir

STALE_TEMP_SECONDS = 3600.0
# Counting the blocks and their bytes walks the whole store, and metrics
# scrapes ask for statistics often: a count is reused for this long, and
# callers asking while one runs share it.
USAGE_TTL = 300.0
SCAN_BATCH = 1024
_TMP_SUFFIX = ".tmp"
_TRASH_SUFFIX = ".trash"
QUARANTINE = "quarantine"
_HEX = frozenset("0123456789abcdef")
_O_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_SAFE
# A full file system, or a full quota on it: the operator must free space.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
# Direct writes (see the module docstring): a chunk of 1 MiB wrote as fast
# as 4 MiB ones here (800-1000 MB/s, one or two writers) and keeps the
# buffers lent for it small.
DIRECT_CHUNK = 1024 * 1024


def _is_block_name(name: str) -> bool:
    return len(name) >= 2 and len(name) % 2 == 0 and all(c in _HEX for c in name)


def _shard(hexname: str) -> tuple[str, str]:
    # Digests shorter than two bytes still get two shard levels.
    padded = hexname.ljust(4, "0")
    return padded[0:2], padded[2:4]


def _is_block(path: str) -> bool:
    """Whether a regular file stands under `path` (a symlink is not a block)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_direct(fd: int, data: bytes) -> None:
    """Write `data` to `fd`, opened with O_DIRECT: the aligned part directly, the tail
    buffered (O_DIRECT cleared). OSError(EINVAL) if the file system refuses it."""
    with lend(DIRECT_CHUNK) as buffer, memoryview(data) as view, memoryview(buffer) as chunks:
        aligned = len(data) - len(data) % DIRECT_ALIGN
        done = 0
        while done < aligned:
            n = min(DIRECT_CHUNK, aligned - done)
            chunks[:n] = view[done : done + n]
            done += os.write(fd, chunks[:n])
        if done < len(data):
            set_direct(fd, False)
            _write_all(fd, view[done:])


def _subdirs(path: str) -> list[str]:
    try:
        with os.scandir(path) as it:
            names = [
                e.name
                for e in it
                if len(e.name) == 2
                and all(c in _HEX for c in e.name)
                and e.is_dir(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return []
    return sorted(names)


class FsBlobStore:
    """Blocks as files under `root`; see the module docstring for the rules."""

    def __init__(self, root: str) -> None:
        self.root = root
        # Shard directories already made durable in their parent by this process.
        self._durable_dirs: set[str] = set()
        self._files = BlockFiles()
        # Whether large blocks are written with O_DIRECT; off for good once
        # the file system refuses it.
        self.direct = bool(O_DIRECT)
        self._counts = {"puts": 0, "deletes": 0, "bytes_written": 0, "quarantined": 0}
        self._usage: asyncio.Task[dict[str, int]] | None = None
        self._usage_at = 0.0

    @classmethod
    async def open(cls, root: str) -> FsBlobStore:
        """Create `root` if needed; raise ConfigError (one line) if it is unusable."""
        return cls(await asyncio.to_thread(cls._prepare_root, root))

    @staticmethod
    def _prepare_root(root: str) -> str:
        path = os.path.realpath(os.path.abspath(os.path.expanduser(root)))
        try:
            created = not os.path.isdir(path)
            os.makedirs(path, exist_ok=True)
            if created:
                fsync_dir(os.path.dirname(path))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise errors.ConfigError(
                f"blob fs root {path}: cannot create directory ({reason}); "
                "create it or choose another path",
                root=path,
            ) from exc
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise errors.ConfigError(
                f"blob fs root {path}: directory is not writable by this user; "
                "fix its permissions or choose another path",
                root=path,
            )
        return path

    # -- paths ---------------------------------------------------------------
    def _locate(self, digest: bytes) -> tuple[str, str, str]:
        """(shard directory, final path, hex name) of a digest."""
        if not isinstance(digest, bytes) or not digest:
            raise ValueError("a block digest is a non-empty bytes value")
        hexname = digest.hex()
        a, b = _shard(hexname)
        directory = os.path.join(self.root, a, b)
        return directory, os.path.join(directory, hexname), hexname

    def _ensure_dir(self, directory: str) -> None:
        if directory in self._durable_dirs:
            return
        parent = os.path.dirname(directory)
        for path, above in ((parent, self.root), (directory, parent)):
            with contextlib.suppress(FileExistsError):
                os.mkdir(path)
            # Fsync even when the directory already existed: a concurrent
            # process may have created it without having made it durable yet.
            fsync_dir(above)
        self._durable_dirs.add(directory)

    # -- the protocol --------------------------------------------------------
    async def put(self, digest: bytes, data: bytes) -> None:
        await asyncio.to_thread(self._put_sync, digest, data)

    def _put_sync(self, digest: bytes, data: bytes) -> None:
        directory, final, hexname = self._locate(digest)
        try:
            if _is_block(final):
                # Already stored. The writer that renamed it may not have
                # synced its directory yet, and this put is acknowledged on
                # its own: sync it here too. A store that cannot take writes
                # refuses this put as it would any other, so that a read-only
                # disk fails every write alike, not only those of new data.
                if os.statvfs(directory).f_flag & os.ST_RDONLY:
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS))
                fsync_dir(directory)
                return
        except OSError as exc:
            raise errors.StorageError(f"cannot store block {hexname}: {exc}") from exc
        tmp = os.path.join(directory, f".{hexname}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
        try:
            self._ensure_dir(directory)
            self._write_file(tmp, data)
            os.rename(tmp, final)
            fsync_dir(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            full = exc.errno in _NO_SPACE
            error = errors.StorageFull if full else errors.StorageError
            raise error(f"cannot store block {hexname}: {exc}") from exc
        self._counts["puts"] += 1
        self._counts["bytes_written"] += len(data)

    def _write_file(self, path: str, data: bytes) -> None:
        """Create `path` (it must not exist) holding `data`, fsynced."""
        fd, direct = self._create(path, direct=self.direct and len(data) >= DIRECT_MIN)
        try:
            if direct:
                try:
                    _write_direct(fd, data)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    # Opened, but the writes are refused (an alignment this
                    # store does not meet): start the file again, buffered.
                    self.direct = False
                    set_direct(fd, False)
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    _write_all(fd, data)
            else:
                _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _create(self, path: str, *, direct: bool) -> tuple[int, bool]:
        """A new file at `path`, and whether it was opened with O_DIRECT."""
        if direct:
            try:
                return os.open(path, _O_CREATE | O_DIRECT, 0o666), True
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                # Refused by the file system; the open may have created the
                # file before it checked the flag.
                self.direct = False
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        return os.open(path, _O_CREATE, 0o666), False

    async def get(self, digest: bytes) -> bytes:
        return await asyncio.to_thread(self._get_sync, digest)

    def get_blocking(self, digest: bytes) -> bytes:
        """`get`, in the calling thread (protocols.blob.BlockingReads)."""
        return self._get_sync(digest)

    def _get_sync(self, digest: bytes) -> bytes:
        _, final, hexname = self._locate(digest)
        try:
            return self._files.read(final)
        except FileNotFoundError:
            raise errors.BlockNotFound(f"block {hexname} is not stored", digest=hexname) from None
        except OSError as exc:
            raise errors.StorageError(f"cannot read block {hexname}: {exc}") from exc

    async def has(self, digest: bytes) -> bool:
        return await asyncio.to_thread(self._has_sync, digest)

    def _has_sync(self, digest: bytes) -> bool:
        _, final, hexname = self._locate(digest)
        try:
            return _is_block(final)
        except OSError as exc:
            raise errors.StorageError(f"cannot check block {hexname}: {exc}") from exc

    async def delete(self, digest: bytes) -> None:
        await asyncio.to_thread(self._delete_sync, digest)

    def _delete_sync(self, digest: bytes) -> None:
        directory, final, hexname = self._locate(digest)
        try:
            self._remove_stale_temps(directory, hexname)
            if not _is_block(final):
                return  # absent, or a symlink, which is never followed nor removed
            os.unlink(final)
            fsync_dir(directory)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise errors.StorageError(f"cannot delete block {hexname}: {exc}") from exc
        self._counts["deletes"] += 1

    def _remove_stale_temps(self, directory: str, hexname: str) -> None:
        """Remove what crashed puts of this block left, once an hour old.

        A writer leases a block before it puts it, so the block of a put that
        crashed becomes garbage, and its delete is where its leftovers go.
        """
        prefix = f".{hexname}."
        for name in os.listdir(directory):
            if name.startswith(prefix) and name.endswith(_TMP_SUFFIX):
                self._remove_if_stale(os.path.join(directory, name))

    async def quarantine(self, digest: bytes, found: bytes) -> bool:
        return await asyncio.to_thread(self._quarantine_sync, digest, found)

    def _quarantine_sync(self, digest: bytes, found: bytes) -> bool:
        directory, final, hexname = self._locate(digest)
        aside_dir = os.path.join(self.root, QUARANTINE)
        aside = os.path.join(aside_dir, f"{hexname}.{int(time.time())}.{secrets.token_hex(4)}")
        try:
            if not _is_block(final):
                return False
            if not os.path.isdir(aside_dir):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(aside_dir)
                fsync_dir(self.root)
            os.rename(final, aside)
            if read_plain(aside) != found:
                # A sound copy was stored since the bad bytes were read (a
                # put after an earlier quarantine): it goes back, unless yet
                # another put has stored one again meanwhile.
                with contextlib.suppress(FileExistsError):
                    os.link(aside, final)
                os.unlink(aside)
                fsync_dir(directory)
                return False
            fsync_dir(directory)
            fsync_dir(aside_dir)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise errors.StorageError(f"cannot quarantine block {hexname}: {exc}") from exc
        self._counts["quarantined"] += 1
        return True

    async def list(self) -> AsyncIterator[bytes]:
        walk = self._walk()
        try:
            while True:
                batch = await asyncio.to_thread(lambda: [*islice(walk, SCAN_BATCH)])
                for item in batch:
                    yield item
                if len(batch) < SCAN_BATCH:
                    return
        finally:
            # If we were cancelled while a worker thread was still inside the
            # walk, it cannot be closed now; it is collected once it returns.
            with contextlib.suppress(ValueError):
                walk.close()

    def capabilities(self) -> frozenset[str]:
        return frozenset({"durable", "local"})

    async def statistics(self) -> Mapping[str, int | float]:
        """Counters since open, the file system's room, and a count of the blocks
        (at most USAGE_TTL seconds old)."""
        fs = await asyncio.to_thread(os.statvfs, self.root)
        if self._usage is None or time.monotonic() - self._usage_at > USAGE_TTL:
            self._usage = asyncio.ensure_future(asyncio.to_thread(self._count))
            self._usage_at = time.monotonic()
        try:
            usage = await asyncio.shield(self._usage)
        except OSError as exc:
            self._usage = None
            raise errors.StorageError(f"cannot count blocks in {self.root}: {exc}") from exc
        return {
            **self._counts,
            "capacity_bytes": fs.f_blocks * fs.f_frsize,
            "free_bytes": fs.f_bavail * fs.f_frsize,
            **usage,
        }

    def _count(self) -> dict[str, int]:
        blocks = used = 0
        for digest in self._walk():
            with contextlib.suppress(FileNotFoundError):  # deleted while we walked
                used += os.lstat(self._locate(digest)[1]).st_size
                blocks += 1
        return {"used_bytes": used, "blocks": blocks}

    def _walk(self) -> Generator[bytes, None, None]:
        """Every block, one shard directory at a time."""
        try:
            for a in _subdirs(self.root):
                for b in _subdirs(os.path.join(self.root, a)):
                    yield from self._walk_leaf(a, b)
        except OSError as exc:
            raise errors.StorageError(f"cannot list blob store {self.root}: {exc}") from exc

    def _walk_leaf(self, a: str, b: str) -> Iterator[bytes]:
        directory = os.path.join(self.root, a, b)
        try:
            with os.scandir(directory) as it:
                names = [e.name for e in it]
        except FileNotFoundError:
            return
        blocks: set[str] = set()
        for name in names:
            if name.startswith(".") and name.endswith(_TMP_SUFFIX):
                self._remove_if_stale(os.path.join(directory, name))
            elif name.startswith(".") and name.endswith(_TRASH_SUFFIX):
                hexname = self._restore_trash(directory, name)
                if hexname is not None:
                    blocks.add(hexname)
            elif _is_block_name(name) and _shard(name) == (a, b):
                blocks.add(name)
        for hexname in sorted(blocks):
            try:
                st = os.lstat(os.path.join(directory, hexname))
            except FileNotFoundError:
                continue  # deleted while we walked
            if stat.S_ISREG(st.st_mode):
                yield bytes.fromhex(hexname)

    @staticmethod
    def _remove_if_stale(path: str) -> None:
        try:
            if time.time() - os.lstat(path).st_mtime > STALE_TEMP_SECONDS:
                os.unlink(path)
        except FileNotFoundError:
            pass

    @staticmethod
    def _restore_trash(directory: str, name: str) -> str | None:
        """Put a block an older release's collector parked as trash back; its hex name.

        Restoring is always safe: the collector decides again from the meta store.
        """
        parts = name[1 : -len(_TRASH_SUFFIX)].split(".")
        if len(parts) != 2 or not _is_block_name(parts[0]):
            return None
        hexname = parts[0]
        try:
            os.rename(os.path.join(directory, name), os.path.join(directory, hexname))
        except FileNotFoundError:
            return None
        return hexname

    async def close(self) -> None:
        """Nothing is held open between calls."""


if TYPE_CHECKING:
    from dolium.protocols.blob import BlobStore, BlockingReads, QuarantineStore

    def _conforms(s: FsBlobStore) -> BlobStore:  # mypy fails if the class drifts
        return s

    def _quarantines(s: FsBlobStore) -> QuarantineStore:
        return s

    def _reads_blocking(s: FsBlobStore) -> BlockingReads:
        return s
