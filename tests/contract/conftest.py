"""Run the contract suites against every installed implementation.

Stores are found by entry point, as the server finds them, so a plugin
installed in this environment is tested too once it has options below.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from dolium.protocols.meta import MetaStore
from support.live import ROOT_KEY, ROOT_SECRET, client, running
from support.postgres import postgres

# How to open each store in a temporary directory (PostgreSQL: a database of its own).
META_OPTIONS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "memory": lambda tmp: {},
    "sqlite": lambda tmp: {"path": str(tmp / "meta.sqlite3")},
    "postgres": lambda tmp: {"dsn": postgres().database(str(tmp))},
}
# Stores that a second instance can open on the same data (as another process would).
META_SHARED = {"sqlite", "postgres"}


async def _open_meta(name: str, tmp: Path) -> MetaStore:
    if name not in META_OPTIONS:
        pytest.skip(f"meta store {name!r}: no test options in tests/contract/conftest.py")
    cls = entry_points(group="dolium.meta")[name].load()
    store: MetaStore = await cls.open(**META_OPTIONS[name](tmp))
    return store


@pytest.fixture(params=sorted(entry_points(group="dolium.meta").names))
def meta_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def meta(meta_name: str, tmp_path: Path) -> AsyncIterator[MetaStore]:
    store = await _open_meta(meta_name, tmp_path)
    yield store
    await store.close()


@pytest.fixture
async def meta_peer(meta: MetaStore, meta_name: str, tmp_path: Path) -> AsyncIterator[MetaStore]:
    if meta_name not in META_SHARED:
        yield meta
        return
    peer = await _open_meta(meta_name, tmp_path)
    yield peer
    await peer.close()


# -- blob stores ---------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A second live Dolium server as the S3 service of the `s3` store: its options
    but the prefix, for a bucket made there with boto3."""
    with running(tmp_path_factory.mktemp("s3-service") / "data") as service:
        client(service).create_bucket(Bucket="blocks")
        yield {
            "endpoint": service.endpoint,
            "bucket": "blocks",
            "access_key": ROOT_KEY,
            "secret_key": ROOT_SECRET,
        }


@pytest.fixture(params=sorted(entry_points(group="dolium.blob").names))
async def blob(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An open, empty BlobStore of each installed "dolium.blob" back end."""
    from dolium.testing.blob_contract import open_blob_store

    if request.param == "s3":
        # Every test its own prefix in the one bucket: an empty store each time;
        # small listing pages, so that listing 120 blocks takes many of them.
        prefix = f"{uuid.uuid4().hex}/"
        options = {**request.getfixturevalue("s3_service"), "prefix": prefix, "list_page": 7}
        store = await entry_points(group="dolium.blob")["s3"].load().open(**options)
    else:
        store = await open_blob_store(request.param, tmp_path)
    yield store
    await store.close()
