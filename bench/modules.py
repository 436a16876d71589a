"""Throughput of the storage modules, each against a plain store in the same run.

    .venv/bin/python bench/modules.py [--blocks N] [--dir PATH]

For each base (fs: durable, what a server runs; memory: the modules' own CPU
cost, with no disk) it puts then gets the same 4 MiB blocks, at concurrency
4, through: the plain store, compress, encrypt (convergent), replicate over
3 stores, erasure 4+2 over 6 stores, and the stacks compress + encrypt +
replicate 3 and compress + encrypt + erasure 4+2. Blocks are hex
text (zstd takes them to about half). Each stack gets fresh stores; every
block read is compared with what was put. `run.py --only modules` runs it
as a phase of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from dolium.backends.blob_fs import FsBlobStore
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.protocols.blob import BlobStore

MIB = 1024 * 1024
CONCURRENCY = 4
# label -> modules, outermost first; the innermost may spread blocks over
# several stores (SPREAD: how many, and its options).
STACKS: dict[str, tuple[str, ...]] = {
    "plain": (),
    "compress": ("compress",),
    "encrypt": ("encrypt",),
    "replicate 3": ("replicate",),
    "erasure 4+2": ("erasure",),
    "compress+encrypt+replicate 3": ("compress", "encrypt", "replicate"),
    "compress+encrypt+erasure 4+2": ("compress", "encrypt", "erasure"),
}
SPREAD: dict[str, tuple[int, dict[str, Any]]] = {
    "replicate": (3, {}),
    "erasure": (6, {"k": 4, "m": 2}),
}


def blocks(count: int, size: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(count):
        data = hashlib.shake_256(f"module-bench-{i}".encode()).digest(size // 2).hex().encode()
        out.append((hashlib.sha256(data).digest(), data))
    return out


async def _base(kind: str, root: Path) -> BlobStore:
    if kind == "memory":
        return MemoryBlobStore()
    return await FsBlobStore.open(str(root))


async def open_stack(modules: Sequence[str], base: str, work: Path) -> tuple[BlobStore, list[Any]]:
    """The stack over fresh `base` stores, and those stores (to read their figures)."""
    count, spread = SPREAD.get(modules[-1], (1, {})) if modules else (1, {})
    below = [await _base(base, work / f"store-{i}") for i in range(count)]
    bases = list(below)
    registry = entry_points(group="dolium.module")
    for name in reversed(modules):
        options: dict[str, Any] = dict(spread) if name in SPREAD else {}
        if name == "encrypt":
            options["keyring"] = str(work / "keyring.json")
        below = [await registry[name].load().open(stores=below, **options)]
    return below[0], bases


async def _timed(op: Any, items: list[tuple[bytes, bytes]]) -> float:
    queue = list(reversed(items))

    async def worker() -> None:
        while queue:
            await op(*queue.pop())

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - start


async def measure(
    base: str, modules: Sequence[str], items: list[tuple[bytes, bytes]], work: Path
) -> dict[str, float]:
    store, bases = await open_stack(modules, base, work)
    total = sum(len(data) for _, data in items)

    async def get(digest: bytes, data: bytes) -> None:
        if await store.get(digest) != data:
            raise AssertionError(f"{base} {'+'.join(modules) or 'plain'}: wrong bytes read")

    try:
        put_s = await _timed(store.put, items)
        get_s = await _timed(get, items)
        stored = 0
        for one in bases:
            stored += int((await one.statistics()).get("used_bytes", 0))
    finally:
        await store.close()
    return {
        "put_mb_s": round(total / put_s / 1e6, 1),
        "get_mb_s": round(total / get_s / 1e6, 1),
        "stored_per_given": round(stored / total, 3),
    }


async def _run(workdir: Path, count: int, size: int) -> dict[str, Any]:
    items = blocks(count, size)
    out: dict[str, Any] = {"blocks": count, "block_size": size, "concurrency": CONCURRENCY}
    for base in ("fs", "memory"):
        out[base] = {}
        for label, modules in STACKS.items():
            work = Path(tempfile.mkdtemp(prefix="modules-", dir=workdir))
            try:
                out[base][label] = await measure(base, modules, items, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return out


def relative(results: dict[str, Any], base: str, label: str) -> tuple[str, str]:
    """put and get rates against the plain store of the same base, as text.

    Only over fs: a plain memory store does no work to compare with (its
    rates say how fast a dict is); over memory, a module's rate is its cost.
    """
    if base != "fs":
        return "-", "-"
    f, plain = results[base][label], results[base]["plain"]
    return (
        f"{f['put_mb_s'] / plain['put_mb_s']:.2f}",
        f"{f['get_mb_s'] / plain['get_mb_s']:.2f}",
    )


def run_modules(workdir: Path, count: int, size: int = 4 * MIB) -> dict[str, Any]:
    """Every stack over both bases (see the module docstring); the figures by base and label."""
    return asyncio.run(_run(workdir, count, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--dir", default=os.path.join(here, ".bench-tmp"))
    parser.add_argument("--blocks", type=int, default=32, help="4 MiB blocks per stack (32)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    results = run_modules(Path(args.dir), args.blocks)
    head = ("base", "stack", "put MB/s", "get MB/s", "put/plain", "get/plain", "stored")
    print("{:<7} {:<30} {:>9} {:>9} {:>9} {:>9} {:>7}".format(*head))
    for base in ("fs", "memory"):
        for label, f in results[base].items():
            put, get = relative(results, base, label)
            print(
                f"{base:<7} {label:<30} {f['put_mb_s']:>9.1f} {f['get_mb_s']:>9.1f} "
                f"{put:>9} {get:>9} {f['stored_per_given']:>7.2f}"
            )


if __name__ == "__main__":
    main()
