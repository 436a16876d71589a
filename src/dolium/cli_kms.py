"""`dolium kms key ...`: the keys of the SSE-KMS key service.

The key service is the one `[kms] use` names (the local keyring in the data
directory by default); these commands open it as the server does, and a
running server sees their changes at its next use of the key. Key material
is never printed, only ids, aliases and states.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

import click

from dolium.cli_common import config_options, get_config, json_option, print_json, show, timestamp
from dolium.plugins import open_key_service
from dolium.protocols.kms import KeyService, KmsKey

T = TypeVar("T")
COLUMNS = ("id", "alias", "enabled", "rotations", "default", "created")


def _run(
    config_file: Path | None, data_dir: Path | None, go: Callable[[KeyService], Awaitable[T]]
) -> T:
    async def main() -> T:
        keys = await open_key_service(get_config(config_file, data_dir))
        try:
            return await go(keys)
        finally:
            await keys.close()

    return asyncio.run(main())


def _record(key: KmsKey) -> dict[str, object]:
    record = asdict(key)
    record["alias"] = key.alias or ""
    record["created"] = timestamp(key.created)
    return record


def _show_one(key: KmsKey, as_json: bool) -> None:
    if as_json:
        print_json(_record(key))
    else:
        click.echo(key.id)


@click.group("key")
def key() -> None:
    """Keys of the SSE-KMS key service (ids, aliases, state; never material)."""


@key.command("create")
@click.option("--alias", default=None, help="A name for the key (alias/NAME), unique.")
@config_options
@json_option
def key_create(
    *, alias: str | None, config_file: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Make a new enabled key; prints its id."""
    _show_one(_run(config_file, data_dir, lambda k: k.create(alias)), as_json)


@key.command("list")
@config_options
@json_option
def key_list(*, config_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Every key, oldest first."""
    keys = _run(config_file, data_dir, lambda k: k.keys())
    show(COLUMNS, [_record(k) for k in keys], as_json)


@key.command("rotate")
@click.argument("ref")
@config_options
@json_option
def key_rotate(*, ref: str, config_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """New material for key REF (id or alias); objects it encrypted still read."""
    _show_one(_run(config_file, data_dir, lambda k: k.rotate(ref)), as_json)


@key.command("disable")
@click.argument("ref")
@config_options
@json_option
def key_disable(
    *, ref: str, config_file: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Refuse key REF for writes and reads (KMS.DisabledException) until enabled."""
    _show_one(_run(config_file, data_dir, lambda k: k.set_enabled(ref, False)), as_json)


@key.command("enable")
@click.argument("ref")
@config_options
@json_option
def key_enable(*, ref: str, config_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """Allow key REF again."""
    _show_one(_run(config_file, data_dir, lambda k: k.set_enabled(ref, True)), as_json)
