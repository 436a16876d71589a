"""Open storage modules, and stacks of them, for tests: by entry point, as the server does.

    store = await open_stack(["compress", "encrypt", "replicate"], tmp_path, base="fs")

opens, innermost first, `replicate` over three fresh fs stores, `encrypt`
over it, `compress` over that. `MODULE_SETUP` says what each module is given
in a test (options, how many stores it wraps); a module missing from it is
opened over one store with no options, and a plugin author adds an entry
for a module that needs more.

This module must not depend on any particular module or back end: it
reaches them only through the "dolium.module" and "dolium.blob" entry points.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from dolium.protocols.blob import BlobStore
from dolium.testing.blob_contract import open_blob_store

# module name -> (options for a work directory, how many stores it wraps)
MODULE_SETUP: dict[str, tuple[Callable[[Path], dict[str, Any]], int]] = {
    "compress": (lambda work: {}, 1),
    "encrypt": (lambda work: {"keyring": str(work / "encrypt-keyring.json")}, 1),
    "replicate": (lambda work: {}, 3),
    "cache": (lambda work: {"root": str(work / "cache"), "max_bytes": 64 * 1024 * 1024}, 1),
    "erasure": (lambda work: {"k": 2, "m": 1}, 3),
}


def installed_modules() -> list[str]:
    """Names of every installed "dolium.module" entry point."""
    return sorted(entry_points(group="dolium.module").names)


async def open_module(
    name: str, stores: Sequence[BlobStore], work: Path, **options: Any
) -> BlobStore:
    """Open module `name` over `stores`, with its test options overridden by `options`."""
    cls: Any = entry_points(group="dolium.module")[name].load()
    make_options, _ = MODULE_SETUP.get(name, (lambda work: {}, 1))
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    store: BlobStore = await cls.open(stores=list(stores), **{**make_options(work), **options})
    return store


async def open_stack(
    layers: Sequence[str | tuple[str, dict[str, Any]]], work: Path, base: str = "memory"
) -> BlobStore:
    """Modules `layers` (outermost first) over fresh `base` stores in directory `work`."""
    specs = [(layer, {}) if isinstance(layer, str) else layer for layer in layers]
    innermost = specs[-1][0]
    count = MODULE_SETUP.get(innermost, (None, 1))[1]
    below = [await open_blob_store(base, work / f"store-{i}") for i in range(count)]
    for depth, (name, options) in reversed(list(enumerate(specs))):
        below = [await open_module(name, below, work / f"{depth}-{name}", **options)]
    return below[0]
