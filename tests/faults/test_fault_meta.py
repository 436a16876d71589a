"""A damaged meta database at start-up: refuse to serve, in one line.

Serving from a damaged database would look like data loss to every client
(an empty or older store), so `dolium serve` must exit non-zero with a
one-line message naming the file, and never start listening.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fault_support import serve_once

from support.live import client, running, start_server, stop_server

META = "meta.sqlite3"


def populated(data: Path, *, kill: bool) -> None:
    """A data directory holding one bucket and a few objects.

    kill: stop the server with SIGKILL, which leaves the committed
    transactions in the write-ahead log, not yet checkpointed.
    """
    server = start_server(data)
    try:
        s3 = client(server)
        s3.create_bucket(Bucket="precious")
        for n in range(20):
            s3.put_object(Bucket="precious", Key=f"k{n}", Body=b"v" * n)
    finally:
        if kill:
            server.process.kill()
            server.process.wait()
        else:
            stop_server(server)


def assert_refused(data: Path) -> str:
    result = serve_once(data)
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dolium: ")
    assert "Traceback" not in result.stderr
    assert str(data / META) in lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Populated data directories, made once: stopped cleanly, and killed."""
    made = {}
    for kind in ("clean", "killed"):
        data = tmp_path_factory.mktemp(f"meta-{kind}") / "data"
        populated(data, kill=kind == "killed")
        made[kind] = data
    return made


def copy_of(templates: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(templates[kind], data)
    return data


def test_control_a_killed_server_restarts_with_its_data(
    templates: dict[str, Path], tmp_path: Path
) -> None:
    """Without damage, the write-ahead log left by a kill is recovered."""
    data = copy_of(templates, "killed", tmp_path)
    assert (data / f"{META}-wal").stat().st_size > 0
    with running(data) as server:
        listed = client(server).list_objects_v2(Bucket="precious")
        assert listed["KeyCount"] == 20


@pytest.mark.parametrize("where", ["header", "pages", "truncated"])
def test_corrupt_database_file(templates: dict[str, Path], tmp_path: Path, where: str) -> None:
    data = copy_of(templates, "clean", tmp_path)
    meta = data / META
    size = meta.stat().st_size
    with meta.open("r+b") as f:
        if where == "header":
            f.write(b"this is no SQLite database, sorry" * 3)
        elif where == "pages":
            f.seek(4096)
            f.write(os.urandom(size - 4096))
        else:
            f.truncate(size // 3)
    assert_refused(data)


@pytest.mark.parametrize("damage", ["garbage", "zeroed-header", "flipped-salt"])
def test_corrupt_write_ahead_log(templates: dict[str, Path], tmp_path: Path, damage: str) -> None:
    data = copy_of(templates, "killed", tmp_path)
    wal = data / f"{META}-wal"
    raw = bytearray(wal.read_bytes())
    assert len(raw) > 32
    if damage == "garbage":
        raw[:] = os.urandom(len(raw))
    elif damage == "zeroed-header":
        raw[:32] = bytes(32)
    else:
        raw[16] ^= 0xFF  # salt-1: the header's checksum no longer matches
    wal.write_bytes(bytes(raw))
    message = assert_refused(data)
    assert "write-ahead log" in message
