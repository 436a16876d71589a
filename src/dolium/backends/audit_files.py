"""An AuditStore in append-only files: for logs kept on write-once storage or read by plain tools.

A directory holds:

- `entries.log`: the entries, each `u32 length || JSON header || record`, appended;
- `entries.idx`: one u64 offset into entries.log per entry, so entry i is
  found at once;
- `nodes-<level>.bin`: the hashes of the tree's perfect subtrees of that
  level, 32 bytes each, in index order (an append completes them left to
  right, so each file only grows);
- `checkpoints.log`: each signed head as a JSON line `{"size": n, "note": ...}`;
- `committed`: the number of entries the files hold for certain, replaced
  atomically (write, fsync, rename, fsync the directory) after the data of an
  append is fsynced.

A crash in the middle of an append leaves bytes past what `committed` says;
they are cut off when the store is next opened, so the log is the one before
that append. Appends take an exclusive flock on `lock`, so sealers in
several processes never interleave. Searches read the entries in order (no
index): this store is for keeping and shipping a log, not for querying a
large one.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from dolium.backends.audit_memory import matches
from dolium.durable import fsync_dir
from dolium.errors import AppendConflict, StorageError
from dolium.protocols.audit import AuditEntry, AuditQuery, NodeKey

HASH = 32
_OFFSET = struct.Struct(">Q")
_LENGTH = struct.Struct(">I")


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class FileAuditStore:
    @classmethod
    async def open(cls, *, root: str) -> Self:
        return await asyncio.to_thread(cls, Path(root))

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
            with self._locked():
                self._recover()
        except OSError as exc:
            raise StorageError(f"audit store {root}: {exc}") from exc

    # -- files ------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.root / name

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._path("lock"), "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _committed(self) -> int:
        try:
            return int(self._path("committed").read_text() or "0")
        except FileNotFoundError:
            return 0

    def _commit(self, size: int) -> None:
        tmp = self._path("committed.tmp")
        with open(tmp, "w") as f:
            f.write(str(size))
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self._path("committed"))
        fsync_dir(self.root)

    def _recover(self) -> None:
        """Cut off what an interrupted append left past the committed size."""
        size = self._committed()
        index = self._path("entries.idx")
        if not index.exists():
            return
        offsets = index.read_bytes()
        if len(offsets) > size * _OFFSET.size:
            os.truncate(index, size * _OFFSET.size)
        end = self._offset_after(size)
        log = self._path("entries.log")
        if log.exists() and log.stat().st_size > end:
            os.truncate(log, end)
        for level in range(64):
            nodes = self._path(f"nodes-{level}.bin")
            if not nodes.exists():
                break
            keep = (size >> level) * HASH
            if nodes.stat().st_size > keep:
                os.truncate(nodes, keep)

    def _offset_after(self, size: int) -> int:
        """Where entry `size` starts in entries.log (the end of entries [0, size))."""
        if size == 0:
            return 0
        with open(self._path("entries.idx"), "rb") as f:
            f.seek((size - 1) * _OFFSET.size)
            (start,) = _OFFSET.unpack(f.read(_OFFSET.size))
        with open(self._path("entries.log"), "rb") as f:
            f.seek(start)
            (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
        return int(start) + _LENGTH.size + int(length)

    # -- the protocol -----------------------------------------------------------------

    async def append(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        await asyncio.to_thread(self._append_sync, entries, nodes)

    def _append_sync(self, entries: Sequence[AuditEntry], nodes: Mapping[NodeKey, bytes]) -> None:
        try:
            with self._locked():
                self._recover()  # another process may have died mid-append
                size = self._committed()
                if entries and entries[0].index != size:
                    first = entries[0].index
                    raise AppendConflict(f"the log holds {size} entries, not {first}")
                offset = self._offset_after(size)
                log, index = bytearray(), bytearray()
                for e in entries:
                    head = json.dumps(
                        {"i": e.index, "s": e.seq, "t": e.time, "a": e.actor, "r": e.resource}
                    ).encode()
                    blob = _LENGTH.pack(len(head)) + head + e.record
                    index += _OFFSET.pack(offset + len(log))
                    log += _LENGTH.pack(len(blob)) + blob
                _append(self._path("entries.log"), bytes(log))
                _append(self._path("entries.idx"), bytes(index))
                by_level: dict[int, list[tuple[int, bytes]]] = {}
                for (level, idx), value in nodes.items():
                    by_level.setdefault(level, []).append((idx, value))
                for level, items in sorted(by_level.items()):
                    path = self._path(f"nodes-{level}.bin")
                    have = path.stat().st_size // HASH if path.exists() else 0
                    items.sort()
                    if [i for i, _ in items] != list(range(have, have + len(items))):
                        raise StorageError(
                            f"audit store {self.root}: level {level} nodes out of order"
                        )
                    _append(path, b"".join(v for _, v in items))
                self._commit(size + len(entries))
        except OSError as exc:
            raise StorageError(f"audit store {self.root}: {exc}") from exc

    async def size(self) -> int:
        return await asyncio.to_thread(self._committed)

    async def last_seq(self) -> int:
        size = await self.size()
        last = await self.entries(size - 1, size) if size else []
        return last[0].seq if last else 0

    async def nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return await asyncio.to_thread(self._nodes_sync, keys)

    def _nodes_sync(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        size = self._committed()
        found: dict[NodeKey, bytes] = {}
        for level, idx in keys:
            if (idx + 1) << level > size:
                continue  # not complete in the committed tree
            try:
                with open(self._path(f"nodes-{level}.bin"), "rb") as f:
                    f.seek(idx * HASH)
                    value = f.read(HASH)
            except FileNotFoundError:
                continue
            if len(value) == HASH:
                found[(level, idx)] = value
        return found

    async def entries(self, first: int, end: int) -> list[AuditEntry]:
        return await asyncio.to_thread(lambda: list(self._read(first, end)))

    def _read(self, first: int, end: int) -> Iterator[AuditEntry]:
        end = min(end, self._committed())
        first = max(first, 0)
        if first >= end:
            return
        with open(self._path("entries.idx"), "rb") as idx:
            idx.seek(first * _OFFSET.size)
            (start,) = _OFFSET.unpack(idx.read(_OFFSET.size))
        with open(self._path("entries.log"), "rb") as log:
            log.seek(start)
            for _ in range(first, end):
                (length,) = _LENGTH.unpack(log.read(_LENGTH.size))
                blob = log.read(length)
                (hlen,) = _LENGTH.unpack(blob[: _LENGTH.size])
                head = json.loads(blob[_LENGTH.size : _LENGTH.size + hlen])
                record = blob[_LENGTH.size + hlen :]
                yield AuditEntry(head["i"], head["s"], head["t"], head["a"], head["r"], record)

    async def search(self, query: AuditQuery) -> list[AuditEntry]:
        def scan() -> list[AuditEntry]:
            found = []
            for e in self._read(query.after + 1, self._committed()):
                if matches(e, query):
                    found.append(e)
                    if len(found) >= query.limit:
                        break
            return found

        return await asyncio.to_thread(scan)

    async def prune(self, end: int) -> int:
        raise StorageError(
            f"audit store {self.root}: an append-only store keeps every entry; "
            "offload to a file and archive the directory instead"
        )

    async def put_checkpoint(self, size: int, note: str) -> None:
        line = json.dumps({"size": size, "note": note}) + "\n"
        await asyncio.to_thread(_append, self._path("checkpoints.log"), line.encode())

    async def checkpoints(self) -> list[tuple[int, str]]:
        def read() -> list[tuple[int, str]]:
            try:
                text = self._path("checkpoints.log").read_text()
            except FileNotFoundError:
                return []
            kept: dict[int, str] = {}
            for line in text.splitlines():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
                kept[int(item["size"])] = str(item["note"])
            return sorted(kept.items())

        return await asyncio.to_thread(read)

    async def close(self) -> None:
        pass
