"""Two `dolium serve` processes on one PostgreSQL database and one block
directory, written to at the same time through both: the database, not a
lock inside one process, keeps one latest version per key and one winner
per conditional write. Also: how a server reports a database it cannot use."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import DOLIUM, client, delete_everything, fresh_bucket
from postgres_servers import PostgresServer, servers

from support.postgres import postgres

WRITERS = 12


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[PostgresServer]]:
    with servers(tmp_path_factory.mktemp("pg-pair"), postgres().database(), 2) as started:
        yield started


@pytest.fixture(scope="module")
def clients(pair: list[PostgresServer]) -> list[Any]:
    # A pool per client as large as the writers, so that all of them are in flight together.
    return [client(live, max_pool_connections=WRITERS) for live in pair]


def together(count: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run attempt(0..count-1) in threads released at once; each result or ClientError."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = attempt(n)
        except ClientError as e:
            results[n] = e

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def error_code(result: Any) -> str:
    return result.response["Error"]["Code"] if isinstance(result, ClientError) else "ok"


@pytest.fixture
def versioned_pair(clients: list[Any]) -> Iterator[str]:
    s3 = clients[0]
    name = f"race-{os.urandom(6).hex()}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    delete_everything(s3, name)


def test_concurrent_puts_of_one_key_leave_one_latest(
    clients: list[Any], versioned_pair: str
) -> None:
    bodies = [f"body of writer {n}".encode() for n in range(WRITERS)]
    results = together(
        WRITERS,
        lambda n: clients[n % 2].put_object(Bucket=versioned_pair, Key="k", Body=bodies[n]),
    )
    assert [error_code(r) for r in results] == ["ok"] * WRITERS  # last writer wins, none fails
    for s3 in clients:  # each server sees the same, consistent state
        listed = s3.list_object_versions(Bucket=versioned_pair)["Versions"]
        assert len(listed) == WRITERS
        assert sorted(v["VersionId"] for v in listed) == sorted(r["VersionId"] for r in results)
        latest = [v for v in listed if v["IsLatest"]]
        assert len(latest) == 1
        objects = s3.list_objects_v2(Bucket=versioned_pair)["Contents"]
        assert [(o["Key"], o["ETag"]) for o in objects] == [("k", latest[0]["ETag"])]
        got = s3.get_object(Bucket=versioned_pair, Key="k")
        assert got["VersionId"] == latest[0]["VersionId"]
        assert got["Body"].read() in bodies


def test_concurrent_puts_in_an_unversioned_bucket_leave_one_object(clients: list[Any]) -> None:
    with fresh_bucket(clients[0], "race") as name:
        bodies = [os.urandom(64) for _ in range(WRITERS)]
        results = together(
            WRITERS, lambda n: clients[n % 2].put_object(Bucket=name, Key="k", Body=bodies[n])
        )
        assert [error_code(r) for r in results] == ["ok"] * WRITERS
        for s3 in clients:
            listed = s3.list_object_versions(Bucket=name)["Versions"]
            assert [(v["Key"], v["IsLatest"]) for v in listed] == [("k", True)]
            body = s3.get_object(Bucket=name, Key="k")["Body"].read()
            assert body in bodies
            assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["k"]


def test_if_none_match_writers_one_wins(clients: list[Any], versioned_pair: str) -> None:
    for round_ in range(3):
        key = f"created-once-{round_}"
        results = together(
            WRITERS,
            lambda n, key=key: clients[n % 2].put_object(
                Bucket=versioned_pair, Key=key, Body=f"writer {n}".encode(), IfNoneMatch="*"
            ),
        )
        codes = sorted(error_code(r) for r in results)
        assert codes == ["PreconditionFailed"] * (WRITERS - 1) + ["ok"], codes
        assert all(
            r.response["ResponseMetadata"]["HTTPStatusCode"] == 412
            for r in results
            if isinstance(r, ClientError)
        )
        winner = next(r for r in results if not isinstance(r, ClientError))
        listed = clients[1].list_object_versions(Bucket=versioned_pair, Prefix=key)["Versions"]
        assert [v["VersionId"] for v in listed] == [winner["VersionId"]]


@pytest.mark.parametrize("versioned", [False, True])
def test_if_match_writers_and_deleters_one_wins(clients: list[Any], versioned: bool) -> None:
    """Through two servers, writers and deleters all matching one ETag: exactly one
    commits; the database, not a process, decides which."""
    with fresh_bucket(clients[0], "race") as name:
        if versioned:
            clients[0].put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
        for round_ in range(3):
            etag = clients[0].put_object(Bucket=name, Key="k", Body=b"base")["ETag"]

            def attempt(n: int, etag: str = etag, round_: int = round_) -> Any:
                s3 = clients[n % 2]
                if n % 3 == 0:
                    return s3.delete_object(Bucket=name, Key="k", IfMatch=etag)
                return s3.put_object(
                    Bucket=name, Key="k", Body=f"{round_} {n}".encode(), IfMatch=etag
                )

            codes = [error_code(r) for r in together(WRITERS, attempt)]
            assert codes.count("ok") == 1, codes
            assert set(codes) <= {"ok", "PreconditionFailed", "NoSuchKey"}, codes


def test_concurrent_completes_of_one_upload_complete_once(
    clients: list[Any], versioned_pair: str
) -> None:
    s3 = clients[0]
    upload = s3.create_multipart_upload(Bucket=versioned_pair, Key="mp")["UploadId"]
    parts = []
    for number in (1, 2):
        body = os.urandom(5 * 1024 * 1024 if number == 1 else 1024)
        etag = s3.upload_part(
            Bucket=versioned_pair, Key="mp", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    results = together(
        WRITERS,
        lambda n: clients[n % 2].complete_multipart_upload(
            Bucket=versioned_pair, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
        ),
    )
    done = [r for r in results if not isinstance(r, ClientError)]
    listed = s3.list_object_versions(Bucket=versioned_pair)["Versions"]
    assert len(listed) == 1  # completed once: one version, whatever each caller was told
    assert done and {r["VersionId"] for r in done} == {listed[0]["VersionId"]}
    # A loser finds the upload gone, or, had it read the parts list after the
    # winner removed them, the parts it names missing.
    assert {error_code(r) for r in results} <= {"ok", "NoSuchUpload", "InvalidPart"}
    assert s3.list_multipart_uploads(Bucket=versioned_pair).get("Uploads", []) == []
    assert (
        s3.head_object(Bucket=versioned_pair, Key="mp")["ContentLength"] == 5 * 1024 * 1024 + 1024
    )


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://nobody:secret-word@127.0.0.1:1/dolium", "postgresql:///"],
)
def test_a_database_it_cannot_use_stops_the_server_in_one_line(tmp_path: Path, dsn: str) -> None:
    env = {
        **os.environ,
        "DOLIUM_META": "postgres",
        "DOLIUM_META_OPTIONS": json.dumps({"dsn": dsn}),
    }
    result = subprocess.run(
        [DOLIUM, "serve", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dolium: ") and "meta.options.dsn" in lines[0]
    assert "secret-word" not in result.stderr
