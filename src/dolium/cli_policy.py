"""`dolium policy ...`: storage policies, their module stacks and their stores.

`list` opens every block store and every policy's stack, as the server
does, and prints what each reports: capacity, bytes used, blocks, its own
figures (a stack's counters start when it is opened, so a fresh one shows
the stores' figures and the modules' settings), and its capabilities.
`rotate-key` adds a key to the encrypt modules' keyring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from dolium.cli_common import config_options, get_config, json_option, print_json
from dolium.config import Config
from dolium.config_policies import DEFAULT_BLOB, PolicySpec
from dolium.errors import ConfigError
from dolium.modules.encrypt_keyring import add_key
from dolium.plugins import BLOB_GROUP, open_blob, open_policies, open_store
from dolium.protocols.blob import BlobStore

# Figures shown in their own columns; the others go under "other".
_COLUMNS = ("capacity_bytes", "used_bytes", "blocks")


@click.group()
def policy() -> None:
    """Storage policies: module stacks over block stores."""


def describe(spec: PolicySpec) -> str:
    """A policy's stack in one line, outermost first: compress > replicate(d1, d2)."""
    parts = [m.use for m in spec.modules]
    stores = ", ".join(spec.base_stores)
    if parts and spec.modules[-1].stores is not None:
        parts[-1] = f"{parts[-1]}({stores})"
    else:
        parts.append(stores)
    return " > ".join(parts)


async def _report(store: BlobStore) -> dict[str, Any]:
    return {
        "capabilities": sorted(store.capabilities()),
        "statistics": dict(await store.statistics()),
    }


async def gather(config: Config) -> dict[str, Any]:
    """Every policy and every store, with what it reports (the --json shape)."""
    out: dict[str, Any] = {"default_policy": config.default_policy, "policies": {}, "stores": {}}
    policies = await open_policies(config)
    try:
        for name, spec in config.policies.items():
            out["policies"][name] = {"stack": describe(spec), **await _report(policies[name])}
    finally:
        for store in policies.values():
            await store.close()
    stores = {DEFAULT_BLOB: config.blob, **config.blob_stores}
    for name, plugin in stores.items():
        if name == DEFAULT_BLOB:
            store = await open_blob(config)
        else:
            store = await open_store(BLOB_GROUP, f"blob.{name}", plugin)
        try:
            out["stores"][name] = {"use": plugin.use, **await _report(store)}
        finally:
            await store.close()
    return out


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _figure(name: str, value: float) -> str:
    if name.endswith("_bytes") or name.startswith("bytes_"):
        return _size(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _row(stats: Mapping[str, float]) -> list[str]:
    cells = [_figure(k, stats[k]) if k in stats else "-" for k in _COLUMNS]
    # Counters still at zero (this process only opened the store) say nothing.
    other = [f"{k}={_figure(k, v)}" for k, v in sorted(stats.items()) if k not in _COLUMNS and v]
    return [*cells, " ".join(other)]


def _table(title: str, first: str, second: str) -> Table:
    table = Table(title=title)
    for column in (first, second, "capacity", "used", "blocks", "other", "capabilities"):
        table.add_column(column, overflow="fold")
    return table


@policy.command("list")
@config_options
@json_option
def list_cmd(*, config_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Every storage policy and block store: statistics and capabilities."""
    report = asyncio.run(gather(get_config(config_file, data_dir)))
    if as_json:
        print_json(report)
        return
    policies = _table("storage policies", "policy", "stack (outermost first)")
    for name, item in report["policies"].items():
        label = f"{name} (default)" if name == report["default_policy"] else name
        caps = ", ".join(item["capabilities"])
        policies.add_row(label, item["stack"], *_row(item["statistics"]), caps)
    stores = _table("block stores", "store", "use")
    for name, item in report["stores"].items():
        caps = ", ".join(item["capabilities"])
        stores.add_row(name, item["use"], *_row(item["statistics"]), caps)
    console = Console()
    console.print(policies)
    console.print(stores)


@policy.command("rotate-key")
@config_options
def rotate_key(*, config_file: Path | None, data_dir: Path | None) -> None:
    """Add a key to the encrypt keyring; new blocks are sealed with it.

    Servers seal with the newest key they found at start: restart them to
    use the new one. Blocks sealed with older keys stay readable, and every
    key stays needed: keep a copy of the keyring apart from the data.
    """
    config = get_config(config_file, data_dir)
    rings = sorted(
        {
            str(m.options["keyring"])
            for spec in config.policies.values()
            for m in spec.modules
            if m.use == "encrypt"
        }
    )
    if not rings:
        raise ConfigError("config policy: no policy uses the encrypt module; nothing to rotate")
    for ring in rings:
        keys = add_key(Path(ring))
        click.echo(f"encrypt keyring {ring}: key {max(keys)} seals new blocks from the next start")
