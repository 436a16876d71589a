"""Kill the server with SIGKILL in the middle of a write storm, restart it on
the same data directory, and check the promise: an acknowledged write is
never lost or altered, an acknowledged delete never comes back, and a reader
never gets bytes that were not written to that key.

DOLIUM_CRASH_CYCLES sets the number of kill cycles (default 12; `make soak`
runs 200). DOLIUM_CRASH_SEED replays a failed run's operation sequences: the
seed is in every failure message.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

from crashkit import base_seed, integrity, kill, log_tail, s3_client, start, stop
from ledger import Ledger
from storm import Storm
from verify import verify

CYCLES = int(os.environ.get("DOLIUM_CRASH_CYCLES", "12"))
BUCKET = "crash-storm"


def storm_then_kill(server: Any, ledger: Ledger, seed: int, rng: random.Random) -> Storm:
    """Run a storm for a random time, then SIGKILL the server under it."""
    storm = Storm(lambda: s3_client(server), ledger, BUCKET, seed=seed)
    storm.start()
    try:
        time.sleep(rng.uniform(0.5, 3.0))  # the random moment of the kill
    finally:
        storm.killer.mark()
        kill(server)
        storm.join()
    return storm


def keep_log(server: Any, into: Path, cycle: int) -> None:
    """start_server truncates the log on restart: keep each killed run's."""
    log = Path(server.log)
    if log.exists():
        shutil.copy(log, into / f"server-cycle-{cycle:03d}.log")


def test_acknowledged_state_survives_sigkill(tmp_path: Path) -> None:
    seed = base_seed()
    data = tmp_path / "data"
    logs = tmp_path / "logs"
    logs.mkdir()
    ledger = Ledger()
    started = time.monotonic()
    per_cycle: list[int] = []
    server = start(data)
    try:
        s3_client(server).create_bucket(Bucket=BUCKET)
        for cycle in range(CYCLES):
            cycle_seed = seed * 1000 + cycle
            where = f"[seed {seed}, cycle {cycle}; replay with DOLIUM_CRASH_SEED={seed}]"
            acked_before = ledger.acked_writes + ledger.acked_deletes

            storm = storm_then_kill(server, ledger, cycle_seed, random.Random(cycle_seed))
            keep_log(server, logs, cycle)
            assert not ledger.unexpected, f"{where} errors before the kill:\n" + "\n".join(
                ledger.unexpected[:10]
            )
            acked = ledger.acked_writes + ledger.acked_deletes - acked_before
            in_flight = ledger.in_flight()

            server = start(data)
            result = verify(s3_client(server), ledger, BUCKET)
            assert not result.problems, (
                f"{where} after restart ({acked} ops acknowledged, {in_flight} in flight):\n"
                + "\n".join(result.problems[:20])
                + f"\nserver log of the killed run: {logs}"
            )
            report = integrity(data)
            assert report.ok, f"{where} integrity: {report.summary()}\n{report}"
            per_cycle.append(acked)
            print(
                f"cycle {cycle}: {storm.ops} ops, {acked} acknowledged, {in_flight} in flight, "
                f"{result.took_in_flight} took an in-flight state, {result.present}/{result.keys}"
                f" keys present, {report.referenced} blocks verified"
            )
    except BaseException:
        print(f"failed with DOLIUM_CRASH_SEED={seed}; server log tail:\n{log_tail(server)}")
        raise
    finally:
        stop(server)
    took = time.monotonic() - started
    print(
        f"{CYCLES} kill cycles in {took:.1f}s, seed {seed}: acknowledged per cycle "
        f"min {min(per_cycle, default=0)}, mean {sum(per_cycle) / max(1, len(per_cycle)):.0f}, "
        f"max {max(per_cycle, default=0)}; {ledger.acked_writes} writes and "
        f"{ledger.acked_deletes} deletes acknowledged in all"
    )
