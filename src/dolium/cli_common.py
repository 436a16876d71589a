"""What every `dolium` command takes: --config and --data, --json, and the config they give."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dolium.config import Config, load_config

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
