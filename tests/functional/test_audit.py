"""The audit log of a live server: every change sealed, signed, exported and verified offline."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import (
    OTHER_KEY,
    OTHER_SECRET,
    LiveServer,
    client,
    kill_server,
    running,
    start_server,
)

DOLIUM = Path(sys.executable).parent / "dolium"


def dolium(*args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    return subprocess.run(
        [str(DOLIUM), *args], capture_output=True, text=True, env=clean, timeout=120, check=False
    )


def ok(*args: str) -> str:
    result = dolium(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("audit") / "data") as server:
        server.admin("tenant", "create", "other")
        server.admin(
            "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
        )
        yield server


def _search(live: LiveServer, *args: str) -> list[dict[str, object]]:
    return json.loads(ok("audit", "search", *args, "--json", "--data", str(live.data)))


def test_changes_through_s3_are_recorded_with_their_actor_and_verify_offline(
    live: LiveServer, tmp_path: Path
) -> None:
    s3 = client(live, OTHER_KEY, OTHER_SECRET)
    s3.create_bucket(Bucket="audited")
    s3.put_object(Bucket="audited", Key="a.txt", Body=b"hello")
    s3.put_object(Bucket="audited", Key="b.txt", Body=b"world")
    s3.delete_object(Bucket="audited", Key="a.txt")
    found = _search(live, "--resource", "audited")
    actions = [(r["action"], r["resource"]) for r in found]
    assert actions == [
        ("bucket.create", "audited"),
        ("object.put", "audited/a.txt"),
        ("object.put", "audited/b.txt"),
        ("object.delete", "audited/a.txt"),
    ]
    put = found[1]
    assert put["actor"]["tenant"] == "other" and put["actor"]["user"] == "alice"  # type: ignore[index]
    assert put["actor"]["access_key"] == OTHER_KEY  # type: ignore[index]
    assert put["actor"]["request_id"]  # type: ignore[index]
    assert put["size"] == 5 and put["etag"] == "5d41402abc4b2a76b9719d911017c592"
    assert [r["resource"] for r in _search(live, "b.txt")] == ["audited/b.txt"]
    assert (
        _search(live, "--actor", "other:alice", "--resource", "audited", "--limit", "1")[0][
            "action"
        ]
        == "bucket.create"
    )

    # Offline: the public key, a saved head, then an export checked against both.
    key = tmp_path / "audit.pub"
    key.write_text(ok("audit", "public-key", "--data", str(live.data)))
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    saved = tmp_path / "head.note"
    ok("audit", "checkpoint", "--out", str(saved), "--data", str(live.data))
    s3.put_object(Bucket="audited", Key="c.txt", Body=b"!")
    out = tmp_path / "audit.jsonl"
    assert "exported" in ok("audit", "export", "--out", str(out), "--data", str(live.data))
    verified = ok("audit", "verify", str(out), "--public-key", str(key), "--checkpoint", str(saved))
    assert "every record" in verified
    # One record edited in the export: caught, in one line.
    lines = out.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if '"audited/b.txt"' in line)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join([*lines[:at], lines[at].replace("b.txt", "x.txt"), *lines[at + 1 :]]))
    failed = dolium("audit", "verify", str(edited), "--public-key", str(key))
    assert failed.returncode == 1 and "is not the one the log holds" in failed.stderr

    # Offload everything up to now: the segment verifies, and so does what stays.
    segment = tmp_path / "segment.jsonl"
    said = ok("audit", "offload", "--out", str(segment), "--until", str(time.time() + 1),
              "--data", str(live.data))  # fmt: skip
    assert "offloaded records 0 to" in said
    assert "records 0 to" in ok("audit", "verify", str(segment), "--public-key", str(key))
    rest = tmp_path / "rest.jsonl"
    ok("audit", "export", "--out", str(rest), "--since", "0", "--data", str(live.data))
    ok("audit", "verify", str(rest), "--public-key", str(key), "--checkpoint", str(saved))
    again = dolium(
        "audit", "offload", "--out", str(segment), "--until", "1", "--data", str(live.data)
    )
    assert again.returncode == 2 and "never overwritten" in again.stderr

    # Offloaded to a bucket instead: the object is the segment, and it verifies.
    s3.create_bucket(Bucket="audit-archive")
    s3.put_object(Bucket="audited", Key="d.txt", Body=b"!")
    said = ok("audit", "offload", "--bucket", "audit-archive", "--until", str(time.time() + 1),
              "--data", str(live.data))  # fmt: skip
    assert "to bucket audit-archive" in said
    (stored,) = s3.list_objects_v2(Bucket="audit-archive", Prefix="audit/")["Contents"]
    fetched = tmp_path / "fetched.jsonl"
    fetched.write_bytes(s3.get_object(Bucket="audit-archive", Key=stored["Key"])["Body"].read())
    assert "records" in ok("audit", "verify", str(fetched), "--public-key", str(key))
    missing = dolium("audit", "offload", "--bucket", "no-such-archive", "--until",
                     str(time.time() + 1), "--data", str(live.data))  # fmt: skip
    assert missing.returncode != 0 and "no-such-archive" in missing.stderr


def test_a_refused_write_is_recorded_and_a_refused_read_is_not(live: LiveServer) -> None:
    client(live).create_bucket(Bucket="roots")
    alice = client(live, OTHER_KEY, OTHER_SECRET)
    for attempt in (
        lambda: alice.put_object(Bucket="roots", Key="intruder.txt", Body=b"x"),
        lambda: alice.put_bucket_acl(Bucket="roots", ACL="public-read"),
        lambda: alice.list_objects_v2(Bucket="roots"),
    ):
        with pytest.raises(ClientError) as refused:
            attempt()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    denied = _search(live, "request.denied", "--actor", "other:alice")
    assert [(r["resource"], r["name"]) for r in denied] == [
        ("roots/intruder.txt", "PUT"),
        ("roots", "PUT ?acl"),
    ]
    assert denied[0]["actor"]["access_key"] == OTHER_KEY  # type: ignore[index]
    # Through Swift too: a write into another account is refused and recorded.
    login = httpx.get(
        f"{live.endpoint}/auth/v1.0",
        headers={"X-Auth-User": "other:alice", "X-Auth-Key": OTHER_SECRET},
    )
    token = login.headers["x-auth-token"]
    put = httpx.put(
        f"{live.endpoint}/v1/AUTH_root/roots/swift-intruder.txt",
        content=b"x",
        headers={"X-Auth-Token": token},
    )
    assert put.status_code == 403
    denied = _search(live, "swift-intruder", "--actor", "other:alice")
    assert [(r["action"], r["resource"], r["name"]) for r in denied] == [
        ("request.denied", "root:roots/swift-intruder.txt", "PUT")
    ]


def test_the_server_seals_and_signs_on_its_own(tmp_path: Path) -> None:
    env = {"DOLIUM_AUDIT_CHECKPOINT_INTERVAL": "1"}
    with running(tmp_path / "data", env) as server:
        client(server).create_bucket(Bucket="sealed")
        deadline = time.monotonic() + 30
        db = tmp_path / "data" / "audit.sqlite3"
        while time.monotonic() < deadline:
            if db.exists():
                with sqlite3.connect(db) as conn:
                    try:
                        heads = conn.execute("SELECT size, note FROM checkpoints").fetchall()
                    except sqlite3.OperationalError:  # made, its tables not yet
                        heads = []
                    if heads and max(size for size, _ in heads) >= 1:
                        break
            time.sleep(0.2)
        else:
            pytest.fail("the server signed no head of its audit log within 30 s")


def test_a_server_killed_while_writing_leaves_a_log_that_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        s3 = client(server)
        s3.create_bucket(Bucket="crashy")
        for i in range(40):
            s3.put_object(Bucket="crashy", Key=f"k{i}", Body=b"x")
    finally:
        kill_server(server)
    key = tmp_path / "audit.pub"
    key.write_text(ok("audit", "public-key", "--data", str(data)))
    out = tmp_path / "audit.jsonl"
    ok("audit", "export", "--out", str(out), "--data", str(data))
    assert "every record" in ok("audit", "verify", str(out), "--public-key", str(key))
    puts = [r for r in _records(out) if r.get("resource", "").startswith("crashy/")]
    assert len(puts) == 40  # every acknowledged write has its record


def _records(export: Path) -> list[dict[str, str]]:
    items = [json.loads(line) for line in export.read_text().splitlines()]
    return [i["record"] for i in items if i["type"] == "record"]
