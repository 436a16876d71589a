"""Throughput of the filesystem blob store: put and get of 4 KiB and 4 MiB blocks.

    .venv/bin/python bench/blob_fs.py [--dir PATH] [--small N] [--large N]

Every put is durable (temp file, fsync, rename, fsync of the directory), so
the put figures are mostly the disk's fsync latency; "reput" is a put of a
block already stored (a directory fsync only). Reads come from the page cache. The store
lives in a temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence

from dolium.backends.blob_fs import FsBlobStore

KiB = 1024
MiB = 1024 * KiB


async def run(
    op: Callable[[bytes, bytes], Awaitable[object]],
    blocks: Sequence[tuple[bytes, bytes]],
    concurrency: int,
) -> tuple[float, list[float]]:
    """Run `op` over every block with `concurrency` workers; (seconds, latencies)."""
    queue = list(reversed(blocks))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            digest, data = queue.pop()
            t = time.perf_counter()
            await op(digest, data)
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, latencies


def row(name: str, size: int, conc: int, n: int, seconds: float, lat: list[float]) -> str:
    lat = sorted(lat)
    p50 = statistics.median(lat) * 1e3
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3
    label = f"{size // MiB} MiB" if size >= MiB else f"{size // KiB} KiB"
    return (
        f"{name:<6} {label:>6} {conc:>4} {n:>6} {n / seconds:>10.0f} "
        f"{n * size / seconds / 1e6:>9.1f} {p50:>8.2f} {p99:>8.2f}"
    )


async def bench(base: str, small: int, large: int) -> None:
    root = tempfile.mkdtemp(prefix="blob-fs-", dir=base)
    try:
        store = await FsBlobStore.open(root)
        print(f"store: {root}")
        print(
            f"{'op':<6} {'size':>6} {'conc':>4} {'ops':>6} {'ops/s':>10} "
            f"{'MB/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
        )
        for size, count in ((4 * KiB, small), (4 * MiB, large)):
            for conc in (1, 8):
                blocks = []
                for _ in range(count):
                    data = os.urandom(size)
                    blocks.append((hashlib.sha256(data).digest(), data))

                async def get(digest: bytes, data: bytes) -> None:
                    got = await store.get(digest)
                    assert len(got) == len(data)

                for name, op in (("put", store.put), ("reput", store.put), ("get", get)):
                    seconds, lat = await run(op, blocks, conc)
                    print(row(name, size, conc, count, seconds, lat), flush=True)
        await store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--dir", default=os.path.join(here, ".bench-tmp"))
    parser.add_argument("--small", type=int, default=2000, help="number of 4 KiB blocks")
    parser.add_argument("--large", type=int, default=64, help="number of 4 MiB blocks")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    asyncio.run(bench(args.dir, args.small, args.large))


if __name__ == "__main__":
    main()
