"""`dolium scrub`: read back every stored block and check it, from the command line.

It opens the data directory's stores as the server does, and may run beside
a live server on the same data (see docs/reliability.md). The report goes to
stdout (a summary, or JSON with --json) and to the data directory (see
dolium.job_reports); the progress bar to stderr, on a terminal only. Exit
status 1 when a block is lost, degraded and not repaired, or unreadable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from dolium import job_reports
from dolium.cli_common import config_options, get_config, json_option, print_json
from dolium.config import Config
from dolium.core.context import Context
from dolium.core.jobs.scrub import Scrubber, ScrubReport
from dolium.errors import ConfigError, DoliumError
from dolium.model import DEFAULT_POLICY
from dolium.plugins import open_meta, open_policies
from dolium.protocols.blob import BlobStore

MB = 1_000_000


@click.command()
@click.option("--bucket", help="Only the blocks of this bucket (no orphans are looked for).")
@click.option("--repair", is_flag=True, help="Rebuild the missing copies or shares it finds.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Read at most this many MB (10^6 bytes) a second (default: as fast as it goes).",
)
@config_options
@json_option
def scrub(
    *,
    bucket: str | None,
    repair: bool,
    rate: float | None,
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Read back every block the metadata references and check it against its hash."""
    config = get_config(config_file, data_dir)
    if not config.data_dir.is_dir():
        raise ConfigError(f"config data_dir: directory {config.data_dir} does not exist")
    report = asyncio.run(_scrub(config, bucket, repair, rate * MB if rate else None))
    job_reports.save(config.data_dir, job_reports.SCRUB, report.to_json())
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(report.summary())
        for d in report.unrecoverable:
            where = f"version {d.version_id}" if not d.upload_id else f"upload {d.upload_id}"
            click.echo(f"cannot be recovered: {d.bucket}/{d.key} ({where}; block {d.block})")
    if not report.clean:
        sys.exit(1)


async def _scrub(
    config: Config, bucket: str | None, repair: bool, rate: float | None
) -> ScrubReport:
    from dolium.app import core_settings

    meta = await open_meta(config)
    stores: dict[str, BlobStore] = {}
    try:
        stores = await open_policies(config)
        ctx = Context(
            meta=meta,
            blobs=stores[DEFAULT_POLICY],
            policies=stores,
            clock=time.time,
            settings=core_settings(config),
        )
        console = Console(stderr=True)
        estimate = await _estimate(ctx, bucket)
        columns = (
            TextColumn("scrub {task.fields[blocks]} blocks"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
            task = bar.add_task("scrub", total=estimate or None, blocks=0)

            def progress(blocks: int, size: int) -> None:
                bar.update(task, completed=size, blocks=blocks)

            scrubber = Scrubber(ctx, bucket=bucket, repair=repair, rate=rate, progress=progress)
            return await scrubber.run()
    finally:
        for store in {id(s): s for s in stores.values()}.values():
            await store.close()
        await meta.close()


async def _estimate(ctx: Context, bucket: str | None) -> int:
    """The bytes the buckets hold: what the bar measures against (dedup makes it less)."""
    names = [bucket] if bucket else [b.name for b in await ctx.meta.list_buckets()]
    total = 0
    for name in names:
        try:
            total += (await ctx.meta.get_usage(name)).bytes
        except DoliumError:  # an estimate only; the scrub says what is wrong
            continue
    return total
