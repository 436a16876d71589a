"""`dolium audit ...`: the audit log from the command line.

`verify` needs nothing but an export and the public key. The others open
the data directory's stores (`--data` / `--config`), as the server does,
and seal what the change log holds before they sign or export, so what
they show is complete up to the moment they run; a server running on the
same data at the same time is fine (appends check the log's size).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from dolium.backends import audit_key
from dolium.cli_admin import credentials
from dolium.cli_common import config_options, get_config, json_option, print_json
from dolium.client.admin import AdminClient, AdminError
from dolium.config import AUDIT_OFF, Config
from dolium.core.audit.checkpoint import InvalidCheckpoint, Signer, load_public_key, log_signer
from dolium.core.audit.export import Tampered, verify
from dolium.core.audit.log import AuditLog
from dolium.durable import fsync_dir
from dolium.errors import ConfigError
from dolium.plugins import open_audit, open_meta
from dolium.protocols.audit import AuditQuery

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


def _run(config: Config, action: Callable[[AuditLog, Signer], Awaitable[T]]) -> T:
    """Open the stores of `config`, seal what is new, run `action`, close them."""
    if config.audit is None or config.audit.use in ("memory", AUDIT_OFF):
        what = "is off" if config.audit and config.audit.use == AUDIT_OFF else "lives in its server"
        raise ConfigError(f"config audit: this data directory's audit log {what}")
    if not config.data_dir.is_dir():
        raise ConfigError(f"config data_dir: directory {config.data_dir} does not exist")

    async def go() -> T:
        key = await asyncio.to_thread(audit_key.load_or_create, audit_key.path_in(config.data_dir))
        meta = await open_meta(config)
        store = await open_audit(config)
        try:
            log = AuditLog(store)
            await log.seal(meta)
            return await action(log, log_signer(key))
        finally:
            await store.close()
            await meta.close()

    return asyncio.run(go())


def _moment(value: str | None) -> float | None:
    """POSIX seconds of `--since` / `--until`: seconds, or an ISO 8601 time (UTC if no zone)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither seconds nor an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _opt(value: float | None) -> str | None:
    return None if value is None else repr(value)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_key(value: str) -> str:
    # A PEM given on the command line as it is, or the file that holds it.
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text()


def live_options(f: F) -> F:
    """--endpoint (a live server's admin API) with an administrator's key, passed as
    `client`: None when no --endpoint is given (the data directory is read)."""

    @click.option(
        "--endpoint",
        help="A live server: ask its admin API (env DOLIUM_ENDPOINT "
        "is not read here, so that --data stays the default).",
    )
    @click.option("--access-key", help="An administrator's access key (env DOLIUM_ACCESS_KEY).")
    @click.option("--secret-key", help="Its secret key (env DOLIUM_SECRET_KEY).")
    @functools.wraps(f)
    def wrapper(
        *args: Any, endpoint: str | None, access_key: str | None, secret_key: str | None,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        client = None
        if endpoint:
            data = kwargs.get("data_dir") or Path("data")
            key, secret = credentials(access_key, secret_key, data)
            client = AdminClient(endpoint, key, secret)
        try:
            return f(*args, client=client, **kwargs)
        except AdminError as exc:
            raise click.ClickException(exc.message if not exc.code else str(exc)) from None

    return wrapper  # type: ignore[return-value]


@audit.command("public-key")
@live_options
@config_options
def public_key_cmd(
    *, client: AdminClient | None, config_file: Path | None, data_dir: Path | None
) -> None:
    """Print the log's Ed25519 public key (PEM); verifiers need nothing else."""
    if client is not None:
        click.echo(client.call_text("GET", "/audit/public-key"), nl=False)
        return
    config = get_config(config_file, data_dir)
    if not config.data_dir.is_dir():
        raise ConfigError(f"config data_dir: directory {config.data_dir} does not exist")
    signer = log_signer(audit_key.load_or_create(audit_key.path_in(config.data_dir)))
    click.echo(signer.public_key_pem(), nl=False)


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save it here.")
@live_options
@config_options
def checkpoint_cmd(
    *, out: Path | None, client: AdminClient | None, config_file: Path | None,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """Sign the current tree head, and print it (or save it with --out)."""
    if client is not None:
        note = client.call_text("GET", "/audit/checkpoint")
    else:
        config = get_config(config_file, data_dir)
        note = _run(config, lambda log, signer: log.checkpoint(signer, int(time.time())))
    if out is None:
        click.echo(note, nl=False)
    else:
        out.write_text(note)


@audit.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", help="First record's time: seconds or ISO 8601 (default: the first).")
@click.option("--until", help="Records before this time: seconds or ISO 8601 (default: all).")
@live_options
@config_options
def export_cmd(
    *, out: Path, since: str | None, until: str | None, client: AdminClient | None,
    config_file: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """Write records, their proofs and a signed head to FILE (JSON Lines; see docs/audit.md)."""
    start, stop = _moment(since), _moment(until)
    if client is not None:
        text = client.call_text("GET", "/audit/export", since=_opt(start), until=_opt(stop))
        lines = text.splitlines(keepends=True)
        _write_durably(out, lines)
        click.echo(f"exported {max(0, len(lines) - 2)} lines of records and proofs to {out}")
        return
    config = get_config(config_file, data_dir)

    async def go(log: AuditLog, signer: Signer) -> tuple[int, list[str]]:
        size = await log.store.size()
        first = await log.first_at(start, 0)
        end = await log.first_at(stop, size)
        return end - first, list(await log.export(signer, first, end, int(time.time())))

    count, lines = _run(config, go)
    _write_durably(out, lines)
    click.echo(f"exported {count} records to {out}")


def _write_durably(out: Path, lines: list[str]) -> None:
    """`lines` to `out`, whole or not at all, on disk before this returns."""
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(lines)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(out)
    fsync_dir(out.parent)


@audit.command("offload")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="To this file.")
@click.option("--bucket", help="To this bucket of the data directory (as its owner).")
@click.option("--key", "object_key", help="The object's key (default: audit/<first>-<end>.jsonl).")
@click.option("--until", required=True, help="Records before this time: seconds or ISO 8601.")
@config_options
def offload_cmd(
    *, out: Path | None, bucket: str | None, object_key: str | None, until: str,
    config_file: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    """Export the records before --until to FILE (--out) or to an object (--bucket), check
    it, then drop them from the store.

    The tree keeps its nodes, so later exports and proofs still verify; the
    records themselves are then only in the segment (keep it). The newest
    record always stays.
    """
    if (out is None) == (bucket is None):
        raise click.UsageError("give one of --out FILE and --bucket NAME")
    if out is not None and out.exists():
        raise click.UsageError(f"--out: {out} exists; an offloaded segment is never overwritten")
    config = get_config(config_file, data_dir)
    stop = _moment(until)

    async def keep(lines: list[str]) -> None:
        if out is not None:
            await asyncio.to_thread(_write_durably, out, lines)
        else:
            assert bucket is not None
            # Here, not at the top: it opens the whole object store, whose
            # imports every other command would pay for.
            from dolium.cli_audit_bucket import put_segment

            await put_segment(config, bucket, object_key, lines)

    async def go(log: AuditLog, signer: Signer) -> tuple[int, int]:
        end = await log.first_at(stop, await log.store.size())
        return await log.offload(signer, end, int(time.time()), keep)

    first, end = _run(config, go)
    where = out if out is not None else f"bucket {bucket}"
    if end == first:
        click.echo("nothing to offload before that time")
    else:
        click.echo(f"offloaded records {first} to {end - 1} to {where}; dropped from the store")


@audit.command("search")
@click.argument("term", required=False, default="")
@click.option("--since", help="Seconds or ISO 8601.")
@click.option("--until", help="Seconds or ISO 8601 (exclusive).")
@click.option("--actor", default="", help="TENANT:USER, or 'server'.")
@click.option("--resource", default="", help="A bucket, or bucket/key prefix of path segments.")
@click.option("--after", type=int, default=-1, help="Index of the last record of the last page.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100)
@json_option
@live_options
@config_options
def search_cmd(
    *, term: str, since: str | None, until: str | None, actor: str, resource: str, after: int,
    limit: int, as_json: bool, client: AdminClient | None, config_file: Path | None,
    data_dir: Path | None,
) -> None:  # fmt: skip
    """Records holding TERM, in a time interval, of an actor, under a resource; by index."""
    query = AuditQuery(term, _moment(since), _moment(until), actor, resource, after, limit)
    if client is not None:
        remote = client.call(
            "GET", "/audit/records", term=term or None, since=_opt(query.since),
            until=_opt(query.until), actor=actor or None, resource=resource or None,
            after=str(after), limit=str(limit),
        )  # fmt: skip
        found = [{"index": r["index"], "time": _iso(r["time"]), **r["record"]} for r in remote]
    else:
        config = get_config(config_file, data_dir)

        async def go(log: AuditLog, _: Signer) -> list[dict[str, Any]]:
            return [
                {"index": e.index, "time": _iso(e.time), **json.loads(e.record)}
                for e in await log.store.search(query)
            ]

        found = _run(config, go)
    if as_json:
        print_json(found)
        return
    for r in found:
        who = r.get("actor") or {}
        name = f"{who.get('tenant', '')}:{who.get('user', '')}" if who else "server"
        click.echo(f"{r['index']}\t{r['time']}\t{name}\t{r['action']}\t{r['resource']}")


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
