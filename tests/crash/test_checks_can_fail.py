"""The crash suite's own checks, shown to fail when the promise is broken:
the ledger's rules, a read-back that finds a rolled-back or foreign state, a
listing that disagrees, and a block missing or corrupt on disk (through the
core check and through `dolium check`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crashkit import integrity, s3_client, start, stop
from ledger import Ledger, Version
from storm import payload, version_of
from verify import verify

from dolium.core.content.hashing import block_digests

DOLIUM = str(Path(sys.executable).parent / "dolium")
V1, V2, V3 = (Version(c * 64, c * 32, n) for c, n in (("a", 1), ("b", 2), ("c", 3)))


def test_ledger_allows_the_acked_state_or_one_in_flight() -> None:
    ledger = Ledger()
    first = ledger.begin("b", "k", "put", V1)
    ledger.ack(first, V1.etag)
    assert ledger.problem("b", "k", V1) is None
    assert ledger.problem("b", "k", None) is not None  # an acknowledged write lost

    overwrite = ledger.begin("b", "k", "put", V2)
    ledger.fail(overwrite, "connection reset", expected=True)
    assert ledger.problem("b", "k", V1) is None
    assert ledger.problem("b", "k", V2) is None
    assert ledger.problem("b", "k", V3) is not None  # bytes never written to the key

    ledger.settle("b", "k", V2)
    assert ledger.problem("b", "k", V1) is not None  # older than what was found
    gone = ledger.begin("b", "k", "delete", None)
    ledger.ack(gone)
    assert ledger.problem("b", "k", V2) is not None  # an acknowledged delete came back
    assert ledger.problem("b", "k", None) is None
    assert ledger.problem("b", "never", None) is None
    assert ledger.unexpected == []


def test_ledger_flags_a_wrong_etag_and_unexplained_errors() -> None:
    ledger = Ledger()
    ledger.ack(ledger.begin("b", "k", "put", V1), "0" * 32)
    ledger.fail(ledger.begin("b", "j", "put", V2), "500 InternalError", expected=False)
    assert len(ledger.unexpected) == 2


def test_a_read_window_admits_states_begun_during_the_read() -> None:
    ledger = Ledger()
    ledger.ack(ledger.begin("b", "k", "put", V1), V1.etag)
    window = ledger.open_read("b", "k")
    ledger.ack(ledger.begin("b", "k", "put", V2), V2.etag)
    assert ledger.close_read(window) == [V1, V2]
    assert V2 not in ledger.close_read(ledger.open_read("b", "j"))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Any]:
    server = start(tmp_path / "data")
    yield server
    stop(server)


def put(s3: Any, ledger: Ledger, key: str, data: bytes) -> None:
    op = ledger.begin("bkt", key, "put", version_of(data))
    ledger.ack(op, s3.put_object(Bucket="bkt", Key=key, Body=data)["ETag"].strip('"'))


def test_verify_reports_a_rolled_back_key_and_a_stray_one(live: Any) -> None:
    s3 = s3_client(live)
    s3.create_bucket(Bucket="bkt")
    ledger = Ledger()
    put(s3, ledger, "kept", payload(1, 100))
    put(s3, ledger, "rolled-back", payload(2, 5000))
    assert verify(s3, ledger, "bkt").problems == []

    # Behind the ledger's back: a rollback to other bytes, and a stray key.
    s3.put_object(Bucket="bkt", Key="rolled-back", Body=payload(3, 5000))
    s3.put_object(Bucket="bkt", Key="stray", Body=b"x")
    problems = verify(s3, ledger, "bkt").problems
    assert any(p.startswith("bkt/rolled-back: found") for p in problems), problems
    assert any(p.startswith("bkt/stray: listed as") for p in problems), problems
    assert not any("kept" in p for p in problems)


def test_integrity_finds_missing_and_corrupt_blocks(live: Any) -> None:
    s3 = s3_client(live)
    s3.create_bucket(Bucket="bkt")
    data = payload(4, 9 * 1024 * 1024)  # three 4 MiB blocks
    s3.put_object(Bucket="bkt", Key="k", Body=data)
    cli = [DOLIUM, "check", "--data", str(live.data), "--json"]
    assert integrity(live.data).ok
    assert subprocess.run(cli, capture_output=True, check=False).returncode == 0

    first, second, _ = (d.hex() for d in block_digests(data))
    blocks = live.data / "blocks"
    (blocks / first[:2] / first[2:4] / first).unlink()
    path = blocks / second[:2] / second[2:4] / second
    path.write_bytes(b"rot" + path.read_bytes()[3:])

    report = integrity(live.data)
    assert (report.missing, report.corrupt) == ((first,), (second,))
    result = subprocess.run(cli, capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["missing"] == [first]
    human = subprocess.run(cli[:-1], capture_output=True, text=True, check=False)
    assert f"corrupt block {second}" in human.stdout
