"""The BlobStore contract, run against every installed storage module and stacks of them.

Each module runs over memory stores and over fs stores; the stacks are the
ones a policy is likely to name (first listed = outermost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dolium.protocols.blob import BlobStore
from dolium.testing.blob_contract import *  # noqa: F403
from dolium.testing.module_stacks import MODULE_SETUP, installed_modules, open_stack

MODULE_SETUP_WHERE = "dolium.testing.module_stacks.MODULE_SETUP"

STACKS: list[list[Any]] = [
    ["compress", "encrypt", "replicate"],
    ["cache", "compress", "encrypt", "replicate"],
    ["encrypt", "compress"],
    [("encrypt", {"mode": "random"}), "replicate"],
    ["compress", "cache"],
    ["compress", "encrypt", "erasure"],
]

PARAMS = [
    *[
        pytest.param(([m], base), id=f"{m}-{base}")
        for m in installed_modules()
        for base in ("memory", "fs")
    ],
    *[
        pytest.param((s, "fs"), id="+".join(x if isinstance(x, str) else x[0] for x in s))
        for s in STACKS
    ],
]


@pytest.fixture(params=PARAMS)
async def blob(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    layers, base = request.param
    for layer in layers:
        name = layer if isinstance(layer, str) else layer[0]
        if name not in MODULE_SETUP:
            pytest.skip(f"module {name!r}: no test setup in {MODULE_SETUP_WHERE}")
    store = await open_stack(layers, tmp_path, base=base)
    yield store
    await store.close()
