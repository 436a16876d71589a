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

Timestamps: a block's mtime is the time it was last put or touched, written
explicitly from ``time.time_ns()`` so that it is comparable with the cutoffs
the garbage collector computes from ``time.time()``. Touches are not fsynced:
a touch lost in a crash matters only to a writer that had not committed its
metadata yet, and that write was lost with the crash anyway.

Deletion is safe against concurrent writers. ``delete`` renames the block
to a trash name unique to that call (atomic), then checks the renamed file's
mtime: touched after the cutoff, it is renamed back; otherwise it is
unlinked. A writer relying on a block touches (or puts) it before committing
metadata that references it:

- touch before the rename: delete sees the fresh mtime and puts it back;
- touch after the rename: the name is gone, touch returns False, and the
  writer, which holds the data, puts the block again.

A path-based utime could resolve the name, lose the CPU while a whole delete
runs, then stamp the orphaned inode and report success. So touch stamps
through a descriptor and then checks that the name still leads to that
inode; a stamp that lost the race reports False like a touch after the
rename. Either way the block the writer relies on exists. This needs a local
POSIX file system, where renames and inode times are seen at once by all.

A reader arriving while a block sits under a trash name reads the trash
file. Trash left by a crash is put back by ``scan`` with a fresh mtime, so
the next collection decides again (restoring is always safe, deleting never
is); ``scan`` also removes temporary files older than an hour. Recovery is
done by ``scan``, not ``open``: it walks every block, and start-up time must
not grow with the store.

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
from collections.abc import AsyncIterator, Generator, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

from dolium import errors

STALE_TEMP_SECONDS = 3600.0
SCAN_BATCH = 1024
_TMP_SUFFIX = ".tmp"
_TRASH_SUFFIX = ".trash"
_HEX = frozenset("0123456789abcdef")
_O_SAFE = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_O_READ = os.O_RDONLY | _O_SAFE
_O_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_SAFE
# A full file system, or a full quota on it: the operator must free space.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(st: os.stat_result) -> float:
    return st.st_mtime_ns / 1e9


def _is_block_name(name: str) -> bool:
    return len(name) >= 2 and len(name) % 2 == 0 and all(c in _HEX for c in name)


def _shard(hexname: str) -> tuple[str, str]:
    # Digests shorter than two bytes still get two shard levels.
    padded = hexname.ljust(4, "0")
    return padded[0:2], padded[2:4]


def _refresh(path: str, now_ns: int) -> bool:
    """Set a block's mtime; True only if the block still stands under `path`.

    Stamped through a descriptor, then checked to be still under its name:
    a stamp that lost the race against delete's rename is reported as False.
    """
    try:
        fd = os.open(path, _O_READ)
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False  # a symlink is not a block; a put replaces it
        raise
    try:
        touched = os.fstat(fd)
        if not stat.S_ISREG(touched.st_mode):
            return False
        os.utime(fd, ns=(now_ns, now_ns))
    finally:
        os.close(fd)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return False
    return (current.st_ino, current.st_dev) == (touched.st_ino, touched.st_dev)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_file(path: str) -> bytes:
    fd = os.open(path, _O_READ)
    try:
        size = os.fstat(fd).st_size
        # One read of the known size: no growing buffer, no copy when it
        # comes back whole, which it does for a regular file.
        data = os.read(fd, size)
        if len(data) == size:
            return data
        parts = [data]
        while chunk := os.read(fd, size):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


class FsBlobStore:
    """Blocks as files under `root`; see the module docstring for the rules."""

    def __init__(self, root: str) -> None:
        self.root = root
        # Shard directories already made durable in their parent by this process.
        self._durable_dirs: set[str] = set()

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
                _fsync_dir(os.path.dirname(path))
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
            _fsync_dir(above)
        self._durable_dirs.add(directory)

    # -- the protocol --------------------------------------------------------
    async def put(self, digest: bytes, data: bytes) -> None:
        await asyncio.to_thread(self._put_sync, digest, data)

    def _put_sync(self, digest: bytes, data: bytes) -> None:
        directory, final, hexname = self._locate(digest)
        now = time.time_ns()
        try:
            if _refresh(final, now):
                # Already stored: a put is then just a touch. The writer that
                # renamed it may not have synced its directory yet, and this
                # put is acknowledged on its own: sync it here too.
                _fsync_dir(directory)
                return
        except OSError as exc:
            raise errors.StorageError(f"cannot refresh block {hexname}: {exc}") from exc
        tmp = os.path.join(directory, f".{hexname}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
        try:
            self._ensure_dir(directory)
            fd = os.open(tmp, _O_CREATE, 0o666)
            try:
                _write_all(fd, data)
                os.utime(fd, ns=(now, now))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, final)
            _fsync_dir(directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            full = exc.errno in _NO_SPACE
            error = errors.StorageFull if full else errors.StorageError
            raise error(f"cannot store block {hexname}: {exc}") from exc

    async def get(self, digest: bytes) -> bytes:
        return await asyncio.to_thread(self._get_sync, digest)

    def _get_sync(self, digest: bytes) -> bytes:
        directory, final, hexname = self._locate(digest)
        try:
            return _read_file(final)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise errors.StorageError(f"cannot read block {hexname}: {exc}") from exc
        # Not under its name: it may be parked under a trash name by a delete
        # that is about to put it back, or by one that crashed. The content is
        # the same either way; an open descriptor survives a concurrent unlink.
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            names = []
        except OSError as exc:
            raise errors.StorageError(f"cannot read block {hexname}: {exc}") from exc
        prefix = f".{hexname}."
        for name in names:
            if name.startswith(prefix) and name.endswith(_TRASH_SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    return _read_file(os.path.join(directory, name))
        raise errors.BlockNotFound(f"block {hexname} is not stored", digest=hexname)

    async def touch(self, digest: bytes) -> bool:
        return await asyncio.to_thread(self._touch_sync, digest)

    def _touch_sync(self, digest: bytes) -> bool:
        _, final, hexname = self._locate(digest)
        try:
            return _refresh(final, time.time_ns())
        except OSError as exc:
            raise errors.StorageError(f"cannot touch block {hexname}: {exc}") from exc

    async def missing(self, digests: Iterable[bytes]) -> set[bytes]:
        wanted = list(digests)
        return await asyncio.to_thread(self._missing_sync, wanted)

    def _missing_sync(self, digests: list[bytes]) -> set[bytes]:
        absent: set[bytes] = set()
        for digest in digests:
            _, final, hexname = self._locate(digest)
            try:
                st = os.lstat(final)
            except FileNotFoundError:
                absent.add(digest)
                continue
            except OSError as exc:
                raise errors.StorageError(f"cannot check block {hexname}: {exc}") from exc
            if not stat.S_ISREG(st.st_mode):
                absent.add(digest)
        return absent

    async def delete(self, digest: bytes, unused_since: float) -> bool:
        return await asyncio.to_thread(self._delete_sync, digest, unused_since)

    def _delete_sync(self, digest: bytes, unused_since: float) -> bool:
        directory, final, hexname = self._locate(digest)
        try:
            st = os.lstat(final)
            # Cheap first look, so a block in use is not even moved aside.
            if not stat.S_ISREG(st.st_mode) or _mtime(st) >= unused_since:
                return False
            trash = os.path.join(directory, f".{hexname}.{secrets.token_hex(8)}{_TRASH_SUFFIX}")
            os.rename(final, trash)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise errors.StorageError(f"cannot delete block {hexname}: {exc}") from exc
        # From here on a touch() of this block fails, so the writer re-puts it;
        # only a touch that landed before the rename can show in this mtime.
        try:
            if _mtime(os.lstat(trash)) >= unused_since:
                os.rename(trash, final)
                _fsync_dir(directory)
                return False
            os.unlink(trash)
        except FileNotFoundError:
            # A concurrent scan() restored it: the block stays.
            return False
        except OSError as exc:
            raise errors.StorageError(f"cannot delete block {hexname}: {exc}") from exc
        return True

    async def scan(self) -> AsyncIterator[tuple[bytes, float]]:
        walk = self._walk()
        try:
            while True:
                batch = await asyncio.to_thread(lambda: list(islice(walk, SCAN_BATCH)))
                for item in batch:
                    yield item
                if len(batch) < SCAN_BATCH:
                    return
        finally:
            # If we were cancelled while a worker thread was still inside the
            # walk, it cannot be closed now; it is collected once it returns.
            with contextlib.suppress(ValueError):
                walk.close()

    def _walk(self) -> Generator[tuple[bytes, float], None, None]:
        """Every block with its mtime, one shard directory at a time."""
        try:
            for a in self._subdirs(self.root):
                for b in self._subdirs(os.path.join(self.root, a)):
                    yield from self._walk_leaf(a, b)
        except OSError as exc:
            raise errors.StorageError(f"cannot scan blob store {self.root}: {exc}") from exc

    @staticmethod
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

    def _walk_leaf(self, a: str, b: str) -> Iterator[tuple[bytes, float]]:
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
                yield bytes.fromhex(hexname), _mtime(st)

    @staticmethod
    def _remove_if_stale(path: str) -> None:
        try:
            if time.time() - _mtime(os.lstat(path)) > STALE_TEMP_SECONDS:
                os.unlink(path)
        except FileNotFoundError:
            pass

    @staticmethod
    def _restore_trash(directory: str, name: str) -> str | None:
        """Put a leftover trash file back under its block name; its hex name."""
        parts = name[1 : -len(_TRASH_SUFFIX)].split(".")
        if len(parts) != 2 or not _is_block_name(parts[0]):
            return None
        hexname = parts[0]
        trash = os.path.join(directory, name)
        now = time.time_ns()
        try:
            # Fresh mtime first, so the restored block is never older than a
            # copy a writer may have put meanwhile (the rename replaces it).
            os.utime(trash, ns=(now, now), follow_symlinks=False)
            os.rename(trash, os.path.join(directory, hexname))
        except FileNotFoundError:
            return None  # its delete() finished first, one way or the other
        return hexname

    async def close(self) -> None:
        """Nothing is held open between calls."""


if TYPE_CHECKING:
    from dolium.protocols.blob import BlobStore

    def _conforms(s: FsBlobStore) -> BlobStore:  # mypy fails if the class drifts
        return s
