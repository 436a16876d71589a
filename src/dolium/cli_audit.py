"""`dolium audit ...`: the audit log's commands that need no server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dolium.core.audit.checkpoint import InvalidCheckpoint, load_public_key
from dolium.core.audit.export import Tampered, verify


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


def _read_key(value: str) -> str:
    # A PEM given on the command line as it is, or the file that holds it.
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


@audit.command("verify")
@click.argument("export_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key", "public_key", required=True, help="The log's public key: a PEM file or text."
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A signed checkpoint saved before: the export's log must extend it.",
)
def verify_cmd(export_file: str, public_key: str, checkpoint_file: str | None) -> None:
    """Check an export offline: exit 0 when it verifies, 1 with the reason when not."""
    try:
        key = load_public_key(_read_key(public_key))
    except InvalidCheckpoint as exc:
        raise click.UsageError(f"--public-key: {exc}") from None
    saved = Path(checkpoint_file).read_text() if checkpoint_file else None
    try:
        with open(export_file, encoding="utf-8") as lines:
            result = verify(lines, key, saved)
    except (Tampered, UnicodeDecodeError) as exc:
        click.echo(f"dolium: {export_file}: does not verify: {exc}", err=True)
        sys.exit(1)
    head = result.head
    coverage = (
        "every record"
        if result.whole
        else f"records {result.first} to {result.end - 1} (an interval: the rest is not in it)"
    )
    click.echo(f"verified: {head.origin}, {head.size} records, {coverage}")
