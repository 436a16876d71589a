"""What every `dolium` command takes: --config and --data, --json, and the config they give."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dolium.config import Config
from dolium.config_load import load_config

F = TypeVar("F", bound=Callable[..., Any])


def config_options(f: F) -> F:
    """--config FILE and --data DIR, taken by every command."""
    f = click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Data directory (default ./data; env DOLIUM_DATA).",
    )(f)
    f = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="TOML configuration file (env DOLIUM_CONFIG).",
    )(f)
    return f


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def get_config(config_file: Path | None, data_dir: Path | None, **flags: Any) -> Config:
    return load_config(config_file, os.environ, {"data_dir": data_dir, **flags})


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def tenant_user(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, str]:
    tenant, sep, user = value.partition(":")
    if not sep or not tenant or not user:
        raise click.BadParameter(f"{value!r} is not TENANT:USER (e.g. acme:alice)")
    return tenant, user


def timestamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""


def console() -> Console:
    # Piped output gets a wide page so that ids are not wrapped inside cells.
    wide = None if sys.stdout.isatty() else 200
    return Console(width=wide, highlight=False, soft_wrap=False)


def show(columns: Sequence[str], records: Sequence[dict[str, Any]], as_json: bool) -> None:
    """Records as JSON, or as a table with one column per key."""
    if as_json:
        print_json(list(records))
        return
    table = Table(*(c.replace("_", " ").upper() for c in columns), box=None, pad_edge=False)
    for record in records:
        cells = (record[c] for c in columns)
        # Text: no rich markup is read from user data.
        table.add_row(
            *(Text(("yes" if v else "no") if isinstance(v, bool) else str(v)) for v in cells)
        )
    console().print(table)
