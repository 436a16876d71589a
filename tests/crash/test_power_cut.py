"""A power cut, approximated: the server's data directory lives on an ext4
file system in a loop-mounted image; in the middle of a write storm the
server is frozen (SIGSTOP) and the image is copied as it stands, with
whatever the kernel had not yet written back missing from the copy. The
copy is repaired with fsck.ext4 -y, mounted, and a new server on it must
hold every write and delete acknowledged before the freeze.

Freezing first makes the copy nearly a single moment (only the kernel's own
writeback runs during it), and every ack the clients got was sent before the
freeze, so the whole ledger is what must survive. The repaired copy is the
file system the next cycle runs on. Needs root, losetup, mount and the ext4
tools; skipped with the reason otherwise. DOLIUM_POWERCUT_CYCLES sets the
number of cuts (default 2).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from crashkit import base_seed, integrity, kill, log_tail, run, s3_client, start, stop
from ledger import Ledger
from storm import Storm
from verify import verify

from support.live import signal_server

CYCLES = int(os.environ.get("DOLIUM_POWERCUT_CYCLES", "2"))
IMAGE_SIZE = "1G"  # sparse: only what the storm writes takes space
BUCKET = "power-cut"
TOOLS = ("mkfs.ext4", "fsck.ext4", "losetup", "mount", "umount")


@dataclass
class Mounts:
    """Loop devices and mount points made by the test, undone in reverse."""

    mounted: list[Path] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)

    def mount(self, image: Path, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        loop = run("losetup", "--find", "--show", str(image)).stdout.strip()
        self.loops.append(loop)
        run("mount", "-t", "ext4", loop, str(where))
        self.mounted.append(where)

    def release(self, where: Path) -> None:
        """Unmount one file system and free its loop device."""
        index = self.mounted.index(where)
        self.mounted.pop(index)
        loop = self.loops.pop(index)
        run("umount", str(where))
        run("losetup", "-d", loop)

    def release_all(self) -> None:
        for where in reversed(list(self.mounted)):
            with contextlib.suppress(RuntimeError):
                run("umount", str(where))
            with contextlib.suppress(RuntimeError):  # busy: detach it lazily
                run("umount", "-l", str(where))
        for loop in reversed(self.loops):
            with contextlib.suppress(RuntimeError):
                run("losetup", "-d", loop)
        self.mounted.clear()
        self.loops.clear()


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root to set up a loop device and mount it"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"needs {', '.join(missing)} (e2fsprogs, util-linux, mount)"
    return None


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mounts]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    probe = tmp_path / "probe.img"
    run("truncate", "-s", "16M", str(probe))
    run("mkfs.ext4", "-q", "-F", str(probe))
    made = Mounts()
    try:
        try:
            made.mount(probe, tmp_path / "probe")
        except RuntimeError as exc:
            pytest.skip(f"cannot loop-mount an ext4 image here: {exc}")
        made.release(tmp_path / "probe")
        probe.unlink()
        yield made
    finally:
        made.release_all()
        for image in tmp_path.glob("*.img"):  # up to a few hundred MiB each
            image.unlink()


def freeze_and_copy(server: Any, storm: Storm, image: Path, copy: Path) -> None:
    """SIGSTOP the server (all its processes), copy its image while mounted,
    then SIGKILL it."""
    signal_server(server, signal.SIGSTOP)
    storm.killer.mark()
    try:
        run("cp", "--sparse=always", str(image), str(copy))
    finally:
        kill(server)  # SIGKILL ends a stopped process too
        storm.join()


def test_acknowledged_state_survives_a_power_cut(tmp_path: Path, mounts: Mounts) -> None:
    seed = base_seed()
    ledger = Ledger()
    image = tmp_path / "disk-0.img"
    run("truncate", "-s", IMAGE_SIZE, str(image))
    run("mkfs.ext4", "-q", "-F", str(image))
    where = tmp_path / "mnt-0"
    mounts.mount(image, where)
    server = start(where / "data")
    try:
        s3_client(server).create_bucket(Bucket=BUCKET)
        for cycle in range(CYCLES):
            cycle_seed = seed * 1000 + cycle
            rng = random.Random(cycle_seed)
            here = f"[seed {seed}, cut {cycle}; replay with DOLIUM_CRASH_SEED={seed}]"
            storm = Storm(lambda live=server: s3_client(live), ledger, BUCKET, seed=cycle_seed)
            storm.start()
            copy = tmp_path / f"disk-{cycle + 1}.img"
            try:
                time.sleep(rng.uniform(1.0, 4.0))  # the random moment of the cut
            finally:
                freeze_and_copy(server, storm, image, copy)
            assert not ledger.unexpected, f"{here} errors before the cut:\n" + "\n".join(
                ledger.unexpected[:10]
            )
            acked, in_flight = ledger.acked_writes + ledger.acked_deletes, ledger.in_flight()
            mounts.release(where)
            image.unlink()

            fsck = run("fsck.ext4", "-y", "-f", str(copy), ok=(0, 1, 2))
            image, where = copy, tmp_path / f"mnt-{cycle + 1}"
            mounts.mount(image, where)
            server = start(where / "data")
            result = verify(s3_client(server), ledger, BUCKET)
            assert not result.problems, (
                f"{here} after the cut ({acked} ops acknowledged in all, {in_flight} in "
                f"flight; fsck exit {fsck.returncode}):\n" + "\n".join(result.problems[:20])
            )
            report = integrity(where / "data")
            assert report.ok, f"{here} integrity: {report.summary()}\n{report}"
            print(
                f"cut {cycle}: {storm.ops} ops, {acked} acknowledged so far, {in_flight} in "
                f"flight, fsck exit {fsck.returncode}, {result.present}/{result.keys} keys "
                f"present, {report.referenced} blocks verified"
            )
    except BaseException:
        print(f"failed with DOLIUM_CRASH_SEED={seed}; server log tail:\n{log_tail(server)}")
        raise
    finally:
        stop(server)
