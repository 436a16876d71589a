"""The BlobStore contract, run against the erasure module over memory and fs stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dolium.backends.blob_fs import FsBlobStore
from dolium.backends.blob_memory import MemoryBlobStore
from dolium.modules.erasure import ErasureStore
from dolium.protocols.blob import BlobStore
from dolium.testing.blob_contract import *  # noqa: F403


@pytest.fixture(params=["memory", "fs"])
async def blob(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    children: list[BlobStore]
    if request.param == "memory":
        children = [MemoryBlobStore() for _ in range(6)]
    else:
        children = [await FsBlobStore.open(str(tmp_path / f"d{i}")) for i in range(6)]
    store = await ErasureStore.open(stores=children, k=4, m=2)
    yield store
    await store.close()
