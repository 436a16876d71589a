"""Throughput of erasure coding: the codec alone, and the module over memory stores.

    .venv/bin/python bench/erasure.py [--k 4] [--m 2] [--blocks 64] [--size 4194304]

"encode" / "decode" are the codec (erasure_shares) on one core: decode from
the k data shares (joining, no arithmetic) and from shares that need the
Reed-Solomon arithmetic (the first m data shares lost). "put" / "get" /
"degraded get" run through ErasureStore over k + m memory stores (and, with
--dir, fs stores there: durable puts, reads from the page cache), with
hashing of every share; the degraded get also rebuilds the m shares it
found missing, as a read heals. Figures are MB (10^6 bytes) of block data
a second, one stream at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable

from dolium.backends.blob_fs import FsBlobStore
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.modules import erasure_shares as es
from dolium.modules.erasure import ErasureStore, share_name
from dolium.protocols.blob import BlobStore


def rate(size: int, count: int, seconds: float) -> str:
    return f"{size * count / seconds / 1e6:8.1f} MB/s"


def timed(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return time.perf_counter() - start


async def atimed(fn: Callable[[], Awaitable[object]], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        await fn()
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--m", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=64)
    parser.add_argument("--size", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--dir", help="also over fs stores in this directory (durable puts)")
    args = parser.parse_args()
    k, m, n, size = args.k, args.m, args.blocks, args.size
    data = os.urandom(size)
    name = hashlib.sha256(data).digest()
    shares = es.encode(name, data, k, m)
    checked = {i: es.check(name, s, k, m, i) for i, s in enumerate(shares)}
    sound = {i: s for i, s in checked.items() if s is not None}
    parity = {i: sound[i] for i in range(m, k + m)}
    assert es.decode(parity, k, m) == data

    print(f"erasure {k}+{m}, blocks of {size} bytes, {n} each")
    print(f"  encode             {rate(size, n, timed(lambda: es.encode(name, data, k, m), n))}")
    print(f"  decode (data)      {rate(size, n, timed(lambda: es.decode(sound, k, m), n))}")
    print(f"  decode (parity)    {rate(size, n, timed(lambda: es.decode(parity, k, m), n))}")

    children = [MemoryBlobStore() for _ in range(k + m)]
    digests = [hashlib.sha256(data + i.to_bytes(4, "big")).digest() for i in range(n)]
    await through(await ErasureStore.open(stores=children, k=k, m=m), data, digests, "memory")
    if args.dir:
        with tempfile.TemporaryDirectory(dir=args.dir) as root:
            fs: list[BlobStore] = [
                await FsBlobStore.open(os.path.join(root, f"d{i}")) for i in range(k + m)
            ]
            await through(await ErasureStore.open(stores=fs, k=k, m=m), data, digests, "fs")


async def through(store: ErasureStore, data: bytes, digests: list[bytes], label: str) -> None:
    """put, get and degraded get of every block through `store`."""
    size, n, m = len(data), len(digests), store.m
    it = iter(digests)
    seconds = await atimed(lambda: store.put(next(it), data), n)
    print(f"  {label + ' put':<19}{rate(size, n, seconds)}")
    it = iter(digests)
    seconds = await atimed(lambda: store.get(next(it)), n)
    print(f"  {label + ' get':<19}{rate(size, n, seconds)}")
    for digest in digests:
        for index in range(m):
            await store.children[index].delete(share_name(digest, index))
    it = iter(digests)
    seconds = await atimed(lambda: store.get(next(it)), n)
    print(f"  {label + ' degraded get':<19}{rate(size, n, seconds)}  (rebuilding {m} shares each)")


if __name__ == "__main__":
    asyncio.run(main())
