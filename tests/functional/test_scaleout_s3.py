"""The S3 suites of buckets, objects, listing, multipart uploads and
versioning, run again against a server scaled out: two gateways (`dolium
serve` processes with data directories of their own) sharing one
PostgreSQL database and one `s3` block store (a bucket of a third Dolium
process, standing for an S3 cluster), with every client sending its
requests to each gateway in turn. Blocks are small (64 KiB, and bodies
over 1 KiB leave the metadata), so the suites' bodies go to the cluster.
A write and the read after it, the parts of one multipart upload, a bucket
setting and the request it governs land on different processes: the same
real clients and assertions hold.

The tests are imported from their modules; the fixtures below replace the
shared server (and the clients made for it) for this module only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import OTHER_KEY, OTHER_SECRET, ROOT_KEY, ROOT_SECRET, LiveServer, client, running
from postgres_servers import PostgresServer, servers
from test_s3_buckets import *  # noqa: F403
from test_s3_listing import *  # noqa: F403
from test_s3_multipart import *  # noqa: F403
from test_s3_objects import *  # noqa: F403
from test_s3_versioning import *  # noqa: F403

from support.blocks import SMALL_BLOCKS
from support.gateways import alternate
from support.postgres import postgres

BLOCKS_BUCKET = "gateway-blocks"


@pytest.fixture(scope="module")
def database() -> str:
    return postgres().database()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The S3 service the gateways keep their blocks in."""
    with running(tmp_path_factory.mktemp("cluster") / "data") as live:
        client(live).create_bucket(Bucket=BLOCKS_BUCKET)
        yield live


@pytest.fixture(scope="module")
def gateways(
    tmp_path_factory: pytest.TempPathFactory, database: str, cluster: LiveServer
) -> Iterator[list[PostgresServer]]:
    root = tmp_path_factory.mktemp("gateways")
    blocks = {
        "endpoint": cluster.endpoint,
        "bucket": BLOCKS_BUCKET,
        "prefix": "blocks/",
        "access_key": ROOT_KEY,
        "secret_key": ROOT_SECRET,
        "region": "us-east-1",
    }
    env = {
        **SMALL_BLOCKS,
        "DOLIUM_BLOB": "s3",
        "DOLIUM_BLOB_OPTIONS": json.dumps(blocks),
        "DOLIUM_ACCESS_LOG": "true",  # where each request went
    }
    with servers(root, database, 2, env) as started:
        started[0].admin("tenant", "create", "other", "--display-name", "Other Tenant")
        started[0].admin(
            "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
        )
        yield started


@pytest.fixture(scope="module")
def server(gateways: list[PostgresServer]) -> LiveServer:
    return gateways[0]


def _spread(s3: Any, gateways: list[PostgresServer]) -> Any:
    return alternate(s3, [g.endpoint for g in gateways])


@pytest.fixture(scope="module")
def s3(server: LiveServer, gateways: list[PostgresServer]) -> Any:
    return _spread(client(server), gateways)


@pytest.fixture(scope="module")
def other_s3(server: LiveServer, gateways: list[PostgresServer]) -> Any:
    return _spread(client(server, OTHER_KEY, OTHER_SECRET), gateways)


@pytest.fixture(scope="module")
def anon(server: LiveServer, gateways: list[PostgresServer]) -> Any:
    from botocore import UNSIGNED

    return _spread(client(server, signature_version=UNSIGNED), gateways)


def test_the_metadata_is_in_postgresql(server: LiveServer, s3: Any, database: str) -> None:
    s3.create_bucket(Bucket="where-is-the-metadata")
    try:
        assert not (server.data / "meta.sqlite3").exists()
        names = postgres().sql("SELECT name FROM buckets", database).split()
        assert "where-is-the-metadata" in names
    finally:
        s3.delete_bucket(Bucket="where-is-the-metadata")


def _served(gateway: PostgresServer, method: str) -> int:
    """Requests of `method` on the test's objects in `gateway`'s access log."""
    return len(re.findall(rf" {method} /spread/k\d ", gateway.log.read_text(errors="replace")))


def test_requests_alternate_between_the_gateways(gateways: list[PostgresServer], s3: Any) -> None:
    """The suite's clients really do spread: requests go to each gateway in
    turn, so each write here is read back through the other gateway."""
    s3.create_bucket(Bucket="spread")
    try:
        for n in range(8):
            s3.put_object(Bucket="spread", Key=f"k{n}", Body=b"x" * n)
            assert s3.get_object(Bucket="spread", Key=f"k{n}")["Body"].read() == b"x" * n
        # A request is logged as its answer ends: wait for the last ones.
        deadline = time.monotonic() + 10
        while True:
            served = sorted((_served(g, "PUT"), _served(g, "GET")) for g in gateways)
            if sum(map(sum, served)) >= 16 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert served == [(0, 8), (8, 0)]
    finally:
        for n in range(8):
            s3.delete_object(Bucket="spread", Key=f"k{n}")
        s3.delete_bucket(Bucket="spread")


def test_the_blocks_are_in_the_cluster(s3: Any, cluster: LiveServer) -> None:
    s3.create_bucket(Bucket="where-are-the-blocks")
    try:
        s3.put_object(Bucket="where-are-the-blocks", Key="k", Body=b"b" * 200_000)
        keys = [o["Key"] for o in client(cluster).list_objects_v2(Bucket=BLOCKS_BUCKET)["Contents"]]
        assert keys and all(k.startswith("blocks/") for k in keys)
    finally:
        s3.delete_object(Bucket="where-are-the-blocks", Key="k")
        s3.delete_bucket(Bucket="where-are-the-blocks")
