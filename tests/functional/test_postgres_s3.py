"""The S3 suites of buckets, objects, listing, multipart uploads and
versioning, run again against a server whose metadata is in PostgreSQL:
the same real clients, the same assertions, another meta store.

The tests are imported from their modules; the fixtures below replace the
shared server (and the clients made for it) for this module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import OTHER_KEY, OTHER_SECRET, LiveServer, client
from postgres_servers import servers
from test_s3_buckets import *  # noqa: F403
from test_s3_listing import *  # noqa: F403
from test_s3_multipart import *  # noqa: F403
from test_s3_objects import *  # noqa: F403
from test_s3_versioning import *  # noqa: F403

from support.postgres import postgres


@pytest.fixture(scope="module")
def database() -> str:
    return postgres().database()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("pg-live")
    with servers(root, database, 1) as (live,):
        live.admin("tenant", "create", "other", "--display-name", "Other Tenant")
        live.admin(
            "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
        )
        yield live


@pytest.fixture(scope="module")
def s3(server: LiveServer) -> Any:
    return client(server)


@pytest.fixture(scope="module")
def other_s3(server: LiveServer) -> Any:
    return client(server, OTHER_KEY, OTHER_SECRET)


@pytest.fixture(scope="module")
def anon(server: LiveServer) -> Any:
    from botocore import UNSIGNED

    return client(server, signature_version=UNSIGNED)


def test_the_metadata_is_in_postgresql(server: LiveServer, s3: Any, database: str) -> None:
    s3.create_bucket(Bucket="where-is-the-metadata")
    try:
        assert not (server.data / "meta.sqlite3").exists()
        names = postgres().sql("SELECT name FROM buckets", database).split()
        assert "where-is-the-metadata" in names
    finally:
        s3.delete_bucket(Bucket="where-is-the-metadata")
