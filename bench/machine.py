"""The machine the bench runs on: what it is, and what one core and its disk can do.

The figures here are the ceilings some targets are stated against: a
single-stream PUT must hash every byte with MD5 (the ETag) on one core, so
one core's MD5 rate bounds it; a durable small write costs at least one
write+fsync+rename in the data directory's file system; and a large write
costs what the disk takes to make 4 MiB blocks durable, in time and in the
kernel's CPU (on a virtual disk, a large share of a core).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

from dolium.backends.blob_fs import FsBlobStore

MIB = 1024 * 1024
HASH_BUFFER = 64 * MIB


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version_of(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "-"
    return out.stdout.strip() or "-"


def describe() -> dict[str, Any]:
    """CPU, cores, memory, kernel and the versions of the HTTP stack under test."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": platform.release(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "uvicorn": _version_of("uvicorn"),
        "uvloop": _version_of("uvloop"),
        "httptools": _version_of("httptools"),
        "dolium_commit": _git_commit(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def hash_rates(size: int = HASH_BUFFER, reps: int = 3) -> dict[str, float]:
    """MB/s of MD5 and SHA-256 on one core: the best of `reps` passes over `size` bytes.

    hashlib releases the GIL on large buffers, but one call runs on one core:
    this is what a single stream's hashing can reach at most.
    """
    buffer = os.urandom(size)
    out = {}
    for name in ("md5", "sha256"):
        best = 0.0
        for _ in range(reps):
            t0 = time.perf_counter()
            hashlib.new(name, buffer).digest()
            best = max(best, size / MIB / (time.perf_counter() - t0))
        out[f"{name}_mb_per_s"] = round(best, 1)
    return out


def durable_small_writes(directory: Path, count: int = 300, budget: float = 20.0) -> dict[str, Any]:
    """Rate of 4 KiB durable file writes in `directory`'s file system.

    Each is what the file block store does for a block: write a temporary
    file, fsync it, rename it into place, fsync the directory.
    """
    work = directory / "fsync-probe"
    work.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(work, os.O_RDONLY)
    latencies = []
    payload = os.urandom(4096)
    start = time.perf_counter()
    try:
        for i in range(count):
            t0 = time.perf_counter()
            tmp = work / f".{i}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, work / str(i))
            os.fsync(dir_fd)
            latencies.append(time.perf_counter() - t0)
            if time.perf_counter() - start > budget:
                break
    finally:
        os.close(dir_fd)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "ops_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[min(len(latencies) - 1, len(latencies) * 99 // 100)] * 1000, 3),
        "ops": len(latencies),
    }


def durable_block_writes(
    directory: Path, total: int = 1024 * MIB, block: int = 4 * MIB, at_once: int = 2
) -> dict[str, Any]:
    """MB/s and CPU of storing `total` bytes as `block`-sized blocks, `at_once` at a time.

    Through the file block store itself, as a large upload does (several
    blocks in flight): direct writes where the file system takes
    them, fsync, rename, fsync of the directory. The CPU is this process's,
    user and system, per GiB written.
    """
    work = directory / "block-probe"
    payloads = [os.urandom(block) for _ in range(at_once)]
    count = total // block

    async def store_all() -> bool:
        store = await FsBlobStore.open(str(work))
        left = iter(range(count))

        async def worker() -> None:
            for i in left:
                digest = hashlib.sha256(i.to_bytes(8, "big")).digest()
                await store.put(digest, payloads[i % at_once])

        await asyncio.gather(*(worker() for _ in range(at_once)))
        return bool(getattr(store, "direct", False))

    cpu0 = psutil.Process().cpu_times()
    start = time.perf_counter()
    try:
        direct = asyncio.run(store_all())
        elapsed = time.perf_counter() - start
        cpu1 = psutil.Process().cpu_times()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    gib = total / 1024**3
    return {
        "mb_per_s": round(total / MIB / elapsed, 1),
        "user_s_per_gib": round((cpu1.user - cpu0.user) / gib, 2),
        "system_s_per_gib": round((cpu1.system - cpu0.system) / gib, 2),
        "at_once": at_once,
        "block_mib": block // MIB,
        "direct": direct,
    }
