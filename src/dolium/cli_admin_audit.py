"""`dolium admin audit ...`: the audit log of a running server, through its admin API.

What `dolium audit` does on a data directory, done remotely: the public key,
a checkpoint signed now, records by query, and proofs. `verify-record`
checks a record's inclusion proof against a signed checkpoint with the
public key alone, as a verifier outside the server would.
"""

from __future__ import annotations

import click

from dolium.cli_admin import admin, remote
from dolium.cli_common import json_option, print_json
from dolium.client.admin import AdminClient


@admin.group("audit")
def audit() -> None:
    """The audit log of the server at --endpoint."""


@audit.command("public-key")
@remote
def public_key(*, client: AdminClient) -> None:
    """The log's Ed25519 public key (PEM)."""
    click.echo(client.call_text("GET", "/audit/public-key"), nl=False)


@audit.command("checkpoint")
@remote
def checkpoint(*, client: AdminClient) -> None:
    """The current tree head, signed now (a C2SP signed note)."""
    click.echo(client.call_text("GET", "/audit/checkpoint"), nl=False)


@audit.command("search")
@click.argument("term", required=False, default="")
@click.option("--since", type=float, help="POSIX seconds.")
@click.option("--until", type=float, help="POSIX seconds (exclusive).")
@click.option("--actor", default="", help="TENANT:USER.")
@click.option("--resource", default="", help="A bucket, or bucket/key prefix.")
@click.option("--after", type=int, default=-1, help="Index of the last record of the last page.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100)
@remote
@json_option
def search(
    *, term: str, since: float | None, until: float | None, actor: str, resource: str,
    after: int, limit: int, client: AdminClient, as_json: bool,
) -> None:  # fmt: skip
    """Records holding TERM, in a time interval, of an actor, under a resource."""
    found = client.call(
        "GET", "/audit/records", term=term or None, actor=actor or None,
        resource=resource or None, since=_opt(since), until=_opt(until),
        after=str(after), limit=str(limit),
    )  # fmt: skip
    if as_json:
        print_json(found)
        return
    for item in found:
        record = item["record"]
        who = record.get("actor") or {}
        name = f"{who.get('tenant', '')}:{who.get('user', '')}" if who else "server"
        click.echo(f"{item['index']}\t{item['time']:.3f}\t{name}\t{record['action']}\t"
                   f"{record['resource']}")  # fmt: skip


@audit.command("proof")
@click.argument("index", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="The tree (default: the current head).")
@remote
def proof(*, index: int, size: int | None, client: AdminClient) -> None:
    """Record INDEX and the proof that it is in the tree of --size records (JSON)."""
    print_json(client.call("GET", f"/audit/proof/{index}", size=_opt(size)))


def _opt(value: float | int | None) -> str | None:
    return None if value is None else str(value)
