"""Several server processes on one socket (`--workers`): one store, one set of jobs."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from conftest import DOLIUM, LiveServer, client, free_port, running

WORKERS = {"DOLIUM_WORKERS": "2"}


def _workers(live: LiveServer) -> list[psutil.Process]:
    return psutil.Process(live.process.pid).children()


def _jobs_lock_free(data: Path) -> bool:
    with (data / "jobs.lock").open("ab") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return True


def _wait(condition: object, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_workers_serve_one_store(tmp_path: Path) -> None:
    with running(tmp_path / "data", WORKERS) as live:
        assert len(_workers(live)) == 2
        s3 = client(live)
        s3.create_bucket(Bucket="shared")

        def put_then_read(i: int) -> bytes:
            # A client of its own: its connections may land on either process.
            own = client(live)
            own.put_object(Bucket="shared", Key=f"k{i}", Body=f"body {i}".encode())
            return bytes(own.get_object(Bucket="shared", Key=f"k{i}")["Body"].read())

        with ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(put_then_read, range(40)))
        assert bodies == [f"body {i}".encode() for i in range(40)]
        listed = s3.list_objects_v2(Bucket="shared")["KeyCount"]
        assert listed == 40
        # A bucket deleted through one process is gone for the other at once.
        s3.create_bucket(Bucket="short-lived")
        for _ in range(4):
            client(live).head_bucket(Bucket="short-lived")
        s3.delete_bucket(Bucket="short-lived")
        for _ in range(4):
            assert client(live).list_objects_v2(Bucket="shared")["KeyCount"] == 40
            try:
                client(live).head_bucket(Bucket="short-lived")
            except s3.exceptions.ClientError as e:
                assert e.response["Error"]["Code"] == "404"
            else:
                raise AssertionError("a deleted bucket answered")


def _lease_holder_pid(data: Path) -> int | None:
    """The process id in the name of the jobs lease's holder, if it is held."""
    with sqlite3.connect(data / "meta.sqlite3") as db:
        row = db.execute(
            "SELECT holder FROM job_leases WHERE name = 'jobs' AND expires > ?", (time.time(),)
        ).fetchone()
    return int(row[0].split(":")[1]) if row else None


def test_one_worker_holds_the_jobs_and_another_takes_them_over(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # A short lease, so that a dead holder is replaced within seconds.
    with running(data, {**WORKERS, "DOLIUM_JOBS_LEASE": "3"}) as live:
        assert _wait(lambda: _lease_holder_pid(data) is not None)
        holder = _lease_holder_pid(data)
        pids = [p.pid for p in _workers(live)]
        assert holder in pids
        # The other worker does not take the jobs from a live holder.
        time.sleep(4)
        assert _lease_holder_pid(data) == holder
        # The data directory's own jobs (the access log spool) are one worker's too.
        assert _wait(lambda: not _jobs_lock_free(data))
        assert len([p for p in _workers(live) if _holds_lock(p, data / "jobs.lock")]) == 1
        psutil.Process(holder).kill()
        # The surviving worker (or the dead one's replacement) takes the lease
        # once it expires.
        assert _wait(lambda: _lease_holder_pid(data) not in (None, holder))
        assert _lease_holder_pid(data) in [p.pid for p in _workers(live)]
        assert _wait(lambda: any(_holds_lock(p, data / "jobs.lock") for p in _workers(live)))
        client(live).list_buckets()


def _holds_lock(process: psutil.Process, lock: Path) -> bool:
    """Whether `process` holds the flock on `lock` (per /proc/locks). Having the file
    open is not enough: a worker that tries for the lock opens it for a moment."""
    try:
        inode = lock.stat().st_ino
        text = Path("/proc/locks").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 27947 fd:01:123456 0 EOF"
        if (
            len(fields) >= 6
            and fields[1] == "FLOCK"
            and fields[4] == str(process.pid)
            and fields[5].rsplit(":", 1)[-1] == str(inode)
        ):
            return True
    return False


def test_killing_the_parent_ends_the_workers(tmp_path: Path) -> None:
    with running(tmp_path / "data", WORKERS) as live:
        workers = _workers(live)
        assert len(workers) == 2
        os.kill(live.process.pid, signal.SIGKILL)
        live.process.wait()
        assert _wait(lambda: not any(w.is_running() and w.status() != "zombie" for w in workers))
        # None of them holds the listening socket any more. (Connecting to the
        # port would not tell: other tests on the machine may take it at once.)
        ours = {live.process.pid, *(w.pid for w in workers)}
        listening = psutil.net_connections("tcp")
        assert not [c for c in listening if c.pid in ours and c.laddr and c.laddr.port == live.port]


def test_a_worker_that_cannot_start_stops_the_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    env.update(WORKERS, DOLIUM_BLOB_OPTIONS='{"root": "/proc/no/such/blocks"}')
    result = subprocess.run(
        [DOLIUM, "serve", "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3  # not started again and again
    assert "cannot create directory" in result.stderr


def test_workers_are_checked_with_the_config(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    for argv, env, message in (
        (["--workers", "0"], {}, "config workers: 0 is out of range (use 1..64"),
        ([], {"DOLIUM_WORKERS": "65"}, "config workers: 65 is out of range"),
        (["--workers", "2"], {"DOLIUM_META": "memory"}, "cannot share a memory store"),
    ):
        result = subprocess.run(
            [DOLIUM, "serve", "--data", data, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
            check=False,
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr
