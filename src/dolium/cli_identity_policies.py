"""`dolium admin policy ...`: the identity policies of users and account groups.

A target is TENANT:USER, or TENANT:GROUP with `--group`. Documents are the
IAM policy language (see docs/access.md), read from a file or "-" (stdin).
"""

from __future__ import annotations

import json
from typing import Any

import click

from dolium.cli_admin import remote
from dolium.cli_common import json_option, print_json, show, tenant_user
from dolium.client.admin import AdminClient, part

_GROUP = click.option(
    "--group", "is_group", is_flag=True, help="The target is TENANT:GROUP, an account group."
)
_TARGET = click.argument("who", metavar="TENANT:USER", callback=tenant_user)


def _base(who: tuple[str, str], is_group: bool) -> str:
    tenant, name = who
    kind = "groups" if is_group else "users"
    return f"/tenants/{part(tenant)}/{kind}/{part(name)}/policies"


@click.group("policy")
def policy() -> None:
    """Identity policies of users and groups: what they may do beyond, or not at all."""


@policy.command("list")
@_TARGET
@_GROUP
@remote
@json_option
def policy_list(
    *, who: tuple[str, str], is_group: bool, client: AdminClient, as_json: bool
) -> None:
    """The names of the policies attached to a user (or group)."""
    names = client.call("GET", _base(who, is_group))
    show(["policy"], [{"policy": n} for n in names], as_json)


@policy.command("put")
@_TARGET
@click.argument("name")
@click.argument("document", type=click.File("r", encoding="utf-8"))
@_GROUP
@remote
def policy_put(
    *, who: tuple[str, str], name: str, document: Any, is_group: bool, client: AdminClient
) -> None:
    """Attach (or replace) policy NAME, its DOCUMENT read from a file or '-'."""
    text = document.read()
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="DOCUMENT") from None
    client.call("PUT", f"{_base(who, is_group)}/{part(name)}", body)
    click.echo(f"policy {name} attached to {':'.join(who)}")


@policy.command("show")
@_TARGET
@click.argument("name")
@_GROUP
@remote
def policy_show(*, who: tuple[str, str], name: str, is_group: bool, client: AdminClient) -> None:
    """Print policy NAME's document."""
    print_json(client.call("GET", f"{_base(who, is_group)}/{part(name)}"))


@policy.command("delete")
@_TARGET
@click.argument("name")
@_GROUP
@remote
def policy_delete(*, who: tuple[str, str], name: str, is_group: bool, client: AdminClient) -> None:
    """Detach policy NAME."""
    client.call("DELETE", f"{_base(who, is_group)}/{part(name)}")
    click.echo(f"policy {name} removed from {':'.join(who)}")
