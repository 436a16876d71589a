"""Two gateways (servers sharing one PostgreSQL database and one block
store) under a write storm whose clients are spread over both; one of them,
chosen at random, is killed with SIGKILL. The other keeps serving, and
everything it reads must satisfy the ledger: an acknowledged write is never
lost or altered, an acknowledged delete never comes back. The killed one
is started again for the next cycle.

DOLIUM_GATEWAY_CYCLES sets the number of kill cycles (default 4);
DOLIUM_CRASH_SEED replays a failed run.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path

import pytest
from crashkit import SERVER_ENV, base_seed, kill, log_tail, s3_client, stop
from ledger import Ledger
from storm import Storm
from verify import verify

from support.live import start_server
from support.postgres import postgres

CYCLES = int(os.environ.get("DOLIUM_GATEWAY_CYCLES", "4"))
BUCKET = "gateway-storm"


@pytest.fixture
def database() -> str:
    return postgres().database()


def test_a_gateway_killed_in_a_storm_loses_nothing_the_other_serves(
    tmp_path: Path, database: str
) -> None:
    seed = base_seed()
    rng = random.Random(seed)
    env = {
        **SERVER_ENV,
        "DOLIUM_META": "postgres",
        "DOLIUM_META_OPTIONS": json.dumps({"dsn": database}),
        "DOLIUM_BLOB_OPTIONS": json.dumps({"root": str(tmp_path / "blocks")}),
        "DOLIUM_WORKERS": "1",
    }
    data = [tmp_path / "gw0", tmp_path / "gw1"]
    gateways = [start_server(d, env) for d in data]
    ledger = Ledger()
    # The storm's threads take their clients from each gateway in turn.
    turn = itertools.count()
    try:
        s3_client(gateways[0]).create_bucket(Bucket=BUCKET)
        for cycle in range(CYCLES):
            where = f"[seed {seed}, cycle {cycle}; replay with DOLIUM_CRASH_SEED={seed}]"
            storm = Storm(
                lambda: s3_client(gateways[next(turn) % 2]), ledger, BUCKET, seed=seed + cycle
            )
            victim = rng.randrange(2)
            storm.start()
            try:
                time.sleep(rng.uniform(0.5, 2.5))
            finally:
                storm.killer.mark()
                kill(gateways[victim])
                storm.join()
            assert not ledger.unexpected, f"{where} errors before the kill:\n" + "\n".join(
                ledger.unexpected[:10]
            )
            survivor = gateways[1 - victim]
            result = verify(s3_client(survivor), ledger, BUCKET)
            assert not result.problems, (
                f"{where} read through the surviving gateway after killing gateway {victim}:\n"
                + "\n".join(result.problems[:20])
            )
            print(
                f"cycle {cycle}: killed gateway {victim} after {storm.ops} ops; "
                f"{result.present}/{result.keys} keys present, {result.took_in_flight} took an "
                "in-flight state"
            )
            gateways[victim] = start_server(data[victim], env)
    except BaseException:
        for n, g in enumerate(gateways):
            print(f"gateway {n} log tail:\n{log_tail(g)}")
        raise
    finally:
        for g in gateways:
            stop(g)
