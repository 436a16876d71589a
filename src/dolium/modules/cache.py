"""`cache`: copies of blocks on a local disk, in front of a slower store.

Options: `root` (the cache directory; the config defaults it to
DATA/cache-POLICY) and `max_bytes` (its size limit, e.g. "1GiB"). Reads are
served from the cache when it holds the block, and fill it when it does
not; writes go to the store below first (that is where durability lives)
and then into the cache. Past the limit, the least recently used copies go.

A copy carries its own SHA-256 (`checksum_frame`) and one that does not
check is dropped and read again from below: the cache never serves a
damaged block. Copies are not fsynced: one lost or torn by a crash is
only a miss. Several server processes may share the directory; each keeps
its own recency order and byte count (so the directory may hold up to
`max_bytes` per process), and a copy another one evicted is a miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

from dolium import errors
from dolium.modules import checksum_frame
from dolium.modules.base import Wrapper, only_store
from dolium.protocols.blob import BlobStore
from dolium.units import parse_size


class CacheStore(Wrapper):
    name = "cache"

    def __init__(self, inner: BlobStore, root: Path, max_bytes: int) -> None:
        super().__init__(inner)
        self.root = root
        self.max_bytes = max_bytes
        self._lru: OrderedDict[str, int] = OrderedDict()
        self._bytes = 0
        self._counts = {"cache_hits": 0, "cache_misses": 0, "cache_dropped_damaged": 0}

    @classmethod
    async def open(
        cls, stores: Sequence[BlobStore], root: str, max_bytes: int | str = "1GiB"
    ) -> CacheStore:
        try:
            limit = parse_size(max_bytes)
        except ValueError as exc:
            raise errors.ConfigError(f"module 'cache': max_bytes: {exc}") from exc
        path = Path(root)
        try:
            await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.ConfigError(
                f"module 'cache': root {path}: cannot create it ({exc.strerror}); "
                "choose another directory"
            ) from exc
        store = cls.around(only_store(cls.name, stores), path, limit)
        await asyncio.to_thread(store._load)
        return store

    # -- the directory -----------------------------------------------------------------
    def _path(self, hexname: str) -> Path:
        return self.root / hexname[:2] / hexname

    def _load(self) -> None:
        """Index the copies a previous run left, oldest access first."""
        found: list[tuple[float, str, int]] = []
        for shard in self.root.iterdir():
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard):
                if entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)  # a fill a crash interrupted
                    continue
                st = entry.stat(follow_symlinks=False)
                found.append((st.st_atime, entry.name, st.st_size))
        for _, hexname, size in sorted(found):
            self._lru[hexname] = size
            self._bytes += size
        self._evict()

    def _write(self, hexname: str, framed: bytes) -> None:
        path = self._path(hexname)
        path.parent.mkdir(exist_ok=True)
        tmp = path.parent / f".{hexname}.{secrets.token_hex(4)}"
        tmp.write_bytes(framed)
        os.replace(tmp, path)

    def _remove(self, hexname: str) -> None:
        size = self._lru.pop(hexname, None)
        if size is not None:
            self._bytes -= size
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(hexname))

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._lru:
            self._remove(next(iter(self._lru)))

    async def _fill(self, digest: bytes, data: bytes) -> None:
        framed = await checksum_frame.frame(data)
        if len(framed) > self.max_bytes:
            return
        hexname = digest.hex()
        try:
            await asyncio.to_thread(self._write, hexname, framed)
        except OSError:
            return  # a cache that cannot take a copy is only slower
        self._bytes += len(framed) - self._lru.pop(hexname, 0)
        self._lru[hexname] = len(framed)
        self._evict()

    async def _cached(self, digest: bytes) -> bytes | None:
        hexname = digest.hex()
        if hexname not in self._lru:
            return None
        try:
            framed = await asyncio.to_thread(self._path(hexname).read_bytes)
        except OSError:
            self._remove(hexname)
            return None
        data = await checksum_frame.unframe(framed)
        if data is None:
            self._counts["cache_dropped_damaged"] += 1
            self._remove(hexname)
            return None
        self._lru.move_to_end(hexname)
        return data

    # -- the protocol ------------------------------------------------------------------
    async def get(self, digest: bytes) -> bytes:
        data = await self._cached(digest)
        if data is not None:
            self._counts["cache_hits"] += 1
            return data
        self._counts["cache_misses"] += 1
        data = await self.inner.get(digest)
        await self._fill(digest, data)
        return data

    async def put(self, digest: bytes, data: bytes) -> None:
        await self.inner.put(digest, data)
        await self._fill(digest, data)

    async def delete(self, digest: bytes) -> None:
        await self.inner.delete(digest)
        await asyncio.to_thread(self._remove, digest.hex())

    def own_capabilities(self) -> frozenset[str]:
        return frozenset({"cache=disk"})

    async def own_statistics(self) -> Mapping[str, int | float]:
        return {
            **self._counts,
            "cache_bytes": self._bytes,
            "cache_blocks": len(self._lru),
            "cache_max_bytes": self.max_bytes,
        }
