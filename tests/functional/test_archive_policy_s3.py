"""The S3 suites of objects and multipart uploads, run again against a server
whose default storage policy is compressed, encrypted and erasure-coded
(compress + encrypt + erasure 2+1 over three fs stores): the same real
clients and assertions, every block through the whole stack.

Blocks are small (64 KiB, and bodies over 1 KiB leave the metadata) so the
suites' modest bodies go through the stack, several blocks each. The
modules chosen are those that move data: writes, reads, ranges, copies,
checksums, conditional writes, parts, part copies and part reads. Those of
buckets, listing and versioning exercise metadata only (run again against
PostgreSQL by test_scaleout_s3), and none of the chosen ones assumes the
`standard` policy, so nothing is left out of them.

The tests are imported from their modules; the fixtures below replace the
shared server (and the clients made for it) for this module only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import OTHER_KEY, OTHER_SECRET, LiveServer, client, running
from test_s3_multipart import *  # noqa: F403
from test_s3_multipart_exact import *  # noqa: F403
from test_s3_objects import *  # noqa: F403
from test_s3_parts import *  # noqa: F403

from support.blocks import BLOCK, SMALL_BLOCKS, data_of

STORES = ("e1", "e2", "e3")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("archive-s3")


@pytest.fixture(scope="module")
def server(stores: Path) -> Iterator[LiveServer]:
    config = stores / "dolium.toml"
    blobs = "".join(
        f'[blob.{d}]\nuse = "fs"\noptions = {{ root = "{stores / d}" }}\n' for d in STORES
    )
    erasure = f'{{ use = "erasure", k = 2, m = 1, stores = {list(STORES)!r} }}'.replace("'", '"')
    config.write_text(
        f'default_policy = "archive"\n{blobs}\n'
        f'[policy.archive]\nmodules = ["compress", "encrypt", {erasure}]\n'
    )
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config)}
    with running(stores / "data", env) as live:
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


def share_count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_the_data_goes_through_the_stack(server: LiveServer, s3: Any, stores: Path) -> None:
    s3.create_bucket(Bucket="where-is-the-data")
    try:
        before = [share_count(stores / d) for d in STORES]
        body = data_of(3 * BLOCK, "through the stack")
        s3.put_object(Bucket="where-is-the-data", Key="k", Body=body)
        # One share of each of the three blocks in each store, none in the
        # data directory's own block store.
        assert [share_count(stores / d) for d in STORES] == [n + 3 for n in before]
        assert not (server.data / "blocks").exists() or share_count(server.data / "blocks") == 0
        for path in (stores / "e1").rglob("*"):
            if path.is_file():
                assert body[:32] not in path.read_bytes()
        assert s3.get_object(Bucket="where-is-the-data", Key="k")["Body"].read() == body
        s3.delete_object(Bucket="where-is-the-data", Key="k")
    finally:
        s3.delete_bucket(Bucket="where-is-the-data")
