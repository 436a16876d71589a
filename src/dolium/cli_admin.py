"""`dolium admin ...`: the admin API from the command line, against any server.

Every command sends signed requests to `--endpoint` (env DOLIUM_ENDPOINT,
default http://127.0.0.1:9000) with an administrator's key: `--access-key`
and `--secret-key` (env DOLIUM_ACCESS_KEY / DOLIUM_SECRET_KEY, or the root
pair DOLIUM_ROOT_ACCESS_KEY / DOLIUM_ROOT_SECRET_KEY), or else the root
credentials file of the data directory given by `--data`, for a server on
this machine. Tables by default, `--json` for scripts.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dolium.cli_common import json_option, print_json, show, tenant_user, timestamp
from dolium.client.admin import AdminClient, AdminError, part
from dolium.credentials import CREDENTIALS_FILE, ENV_ACCESS_KEY, ENV_SECRET_KEY, read_credentials
from dolium.errors import ConfigError
from dolium.units import parse_size

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_ENDPOINT = "http://127.0.0.1:9000"


def credentials(access_key: str | None, secret_key: str | None, data: Path) -> tuple[str, str]:
    env = os.environ
    access_key = access_key or env.get("DOLIUM_ACCESS_KEY") or env.get(ENV_ACCESS_KEY)
    secret_key = secret_key or env.get("DOLIUM_SECRET_KEY") or env.get(ENV_SECRET_KEY)
    if access_key and secret_key:
        return access_key, secret_key
    path = data / CREDENTIALS_FILE
    if not access_key and not secret_key and path.exists():
        found = read_credentials(path)
        return found.access_key, found.secret_key
    raise ConfigError(
        "admin: give an administrator's key (--access-key and --secret-key, or "
        f"DOLIUM_ACCESS_KEY and DOLIUM_SECRET_KEY), or --data with {CREDENTIALS_FILE}"
    )


def remote(f: F) -> F:
    """The connection options, turned into an `AdminClient` passed as `client`."""

    @click.option(
        "--endpoint",
        envvar="DOLIUM_ENDPOINT",
        default=DEFAULT_ENDPOINT,
        show_default=True,
        help="The server (env DOLIUM_ENDPOINT).",
    )
    @click.option("--access-key", help="An administrator's access key (env DOLIUM_ACCESS_KEY).")
    @click.option("--secret-key", help="Its secret key (env DOLIUM_SECRET_KEY).")
    @click.option("--region", default="us-east-1", show_default=True, help="Region to sign for.")
    @click.option(
        "--data",
        "data_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("data"),
        help="Where to find the root credentials file.",
    )
    @functools.wraps(f)
    def wrapper(
        *args: Any, endpoint: str, access_key: str | None, secret_key: str | None,
        region: str, data_dir: Path, **kwargs: Any,
    ) -> Any:  # fmt: skip
        key, secret = credentials(access_key, secret_key, data_dir)
        client = AdminClient(endpoint, key, secret, region)
        try:
            return f(*args, client=client, **kwargs)
        except AdminError as exc:
            raise click.ClickException(exc.message if not exc.code else str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _when(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "created": timestamp(r["created"])} for r in records]


@click.group()
def admin() -> None:
    """Administer a server through its admin API (--endpoint)."""


@admin.group("tenant")
def tenant() -> None:
    """Tenants (accounts)."""


@tenant.command("list")
@remote
@json_option
def tenant_list(*, client: AdminClient, as_json: bool) -> None:
    records = client.call("GET", "/tenants")
    show(["name", "display_name", "email", "canonical_id", "created"],
         records if as_json else _when(records), as_json)  # fmt: skip


@tenant.command("create")
@click.argument("name")
@click.option("--display-name")
@click.option("--email", default="")
@remote
@json_option
def tenant_create(
    *, name: str, display_name: str | None, email: str, client: AdminClient, as_json: bool
) -> None:
    body = {"name": name, "display_name": display_name, "email": email}
    made = client.call("POST", "/tenants", body)
    print_json(made) if as_json else click.echo(f"tenant {made['name']} created")


@tenant.command("show")
@click.argument("name")
@remote
def tenant_show(*, name: str, client: AdminClient) -> None:
    print_json(client.call("GET", f"/tenants/{part(name)}"))


@tenant.command("policy")
@click.argument("name")
@click.argument("policy", required=False)
@click.option("--unset", is_flag=True, help="Back to the server's default policy.")
@remote
def tenant_policy(*, name: str, policy: str | None, unset: bool, client: AdminClient) -> None:
    """Set (or show) POLICY, the storage policy of tenant NAME's new buckets that name none."""
    if unset and policy is not None:
        raise click.UsageError("give POLICY or --unset, not both")
    path = f"/tenants/{part(name)}/policy"
    if unset:
        found = client.call("DELETE", path)["policy"]
    elif policy is not None:
        found = client.call("PUT", path, {"policy": policy})["policy"]
    else:
        found = client.call("GET", f"/tenants/{part(name)}")["policy"]
    click.echo(f"tenant {name}: storage policy {found or '(the server default)'}")


@tenant.command("delete")
@click.argument("name")
@remote
def tenant_delete(*, name: str, client: AdminClient) -> None:
    client.call("DELETE", f"/tenants/{part(name)}")
    click.echo(f"tenant {name} deleted")


@admin.group("user")
def user() -> None:
    """Users of a tenant."""


@user.command("list")
@click.argument("tenant_name", metavar="TENANT")
@remote
@json_option
def user_list(*, tenant_name: str, client: AdminClient, as_json: bool) -> None:
    records = client.call("GET", f"/tenants/{part(tenant_name)}/users")
    show(["tenant", "name", "admin", "created"], records if as_json else _when(records), as_json)


@user.command("create")
@click.argument("who", metavar="TENANT:USER", callback=tenant_user)
@click.option("--admin", "is_admin", is_flag=True, help="Administers its tenant.")
@remote
@json_option
def user_create(
    *, who: tuple[str, str], is_admin: bool, client: AdminClient, as_json: bool
) -> None:
    made = client.call(
        "POST", f"/tenants/{part(who[0])}/users", {"name": who[1], "admin": is_admin}
    )
    if as_json:
        print_json(made)
        return
    click.echo(f"user {who[0]}:{who[1]} created")
    click.echo(f"access key: {made['key']['access_key']}")
    click.echo(f"secret key: {made['key']['secret_key']}")


@user.command("delete")
@click.argument("who", metavar="TENANT:USER", callback=tenant_user)
@remote
def user_delete(*, who: tuple[str, str], client: AdminClient) -> None:
    """Delete a user that holds no access key and no policy."""
    client.call("DELETE", f"/tenants/{part(who[0])}/users/{part(who[1])}")
    click.echo(f"user {who[0]}:{who[1]} deleted")


@admin.group("key")
def key() -> None:
    """Access keys."""


@key.command("list")
@click.option("--tenant", "tenant_name")
@remote
@json_option
def key_list(*, tenant_name: str | None, client: AdminClient, as_json: bool) -> None:
    records = client.call("GET", "/keys", tenant=tenant_name)
    show(["access_key", "tenant", "user", "active", "created"],
         records if as_json else _when(records), as_json)  # fmt: skip


@key.command("create")
@click.argument("who", metavar="TENANT:USER", callback=tenant_user)
@remote
@json_option
def key_create(*, who: tuple[str, str], client: AdminClient, as_json: bool) -> None:
    made = client.call("POST", f"/tenants/{part(who[0])}/users/{part(who[1])}/keys", {})
    if as_json:
        print_json(made)
        return
    click.echo(f"access key: {made['access_key']}")
    click.echo(f"secret key: {made['secret_key']}")


@key.command("revoke")
@click.argument("access_key_id", metavar="ACCESS_KEY")
@remote
def key_revoke(*, access_key_id: str, client: AdminClient) -> None:
    client.call("DELETE", f"/keys/{part(access_key_id)}")
    click.echo(f"key {access_key_id} revoked")


@admin.group("bucket")
def bucket() -> None:
    """Buckets (containers) of every tenant."""


def _bucket_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "created": timestamp(r["created"]), "bytes": r["usage"]["bytes"],
         "objects": r["usage"]["objects"]}
        for r in records
    ]  # fmt: skip


@bucket.command("list")
@click.option("--owner", help="Only this tenant's buckets.")
@remote
@json_option
def bucket_list(*, owner: str | None, client: AdminClient, as_json: bool) -> None:
    records = client.call("GET", "/buckets", owner=owner)
    if as_json:
        print_json(records)
        return
    show(["name", "owner", "policy", "objects", "bytes", "created"], _bucket_rows(records), False)


@bucket.command("policy")
@click.argument("name")
@click.argument("policy")
@remote
def bucket_policy(*, name: str, policy: str, client: AdminClient) -> None:
    """Write bucket NAME's new data through storage policy POLICY."""
    moved = client.call("PUT", f"/buckets/{part(name)}/policy", {"policy": policy})
    click.echo(f"bucket {name}: storage policy {moved['policy']}")


@admin.command("usage")
@remote
@json_option
def usage(*, client: AdminClient, as_json: bool) -> None:
    """What each tenant stores."""
    found = client.call("GET", "/usage")
    if as_json:
        print_json(found)
        return
    rows = [{"tenant": t, **u} for t, u in sorted(found.items())]
    show(["tenant", "objects", "bytes"], rows, False)


@admin.command("status")
@remote
def status(*, client: AdminClient) -> None:
    """Whether the server's stores answer, and what it holds."""
    print_json(client.call("GET", "/status"))


@admin.command("policies")
@remote
@json_option
def policies(*, client: AdminClient, as_json: bool) -> None:
    """Storage policies: their stores' capabilities and statistics."""
    found = client.call("GET", "/policies")
    if as_json:
        print_json(found)
        return
    rows = [
        {"policy": p["policy"], "capabilities": ", ".join(p["capabilities"]),
         "statistics": ", ".join(f"{k}={v}" for k, v in sorted(p["statistics"].items()))}
        for p in found
    ]  # fmt: skip
    show(["policy", "capabilities", "statistics"], rows, False)


@admin.group("group")
def group() -> None:
    """Groups of a tenant's users (for sharing)."""


@group.command("list")
@click.argument("tenant_name", metavar="TENANT")
@remote
@json_option
def group_list(*, tenant_name: str, client: AdminClient, as_json: bool) -> None:
    found = client.call("GET", f"/tenants/{part(tenant_name)}/groups")
    if as_json:
        print_json(found)
        return
    show(["group", "members"], [{"group": g, "members": " ".join(m)} for g, m in found.items()],
         False)  # fmt: skip


@group.command("set")
@click.argument("tenant_name", metavar="TENANT")
@click.argument("name")
@click.argument("members", nargs=-1)
@remote
def group_set(
    *, tenant_name: str, name: str, members: tuple[str, ...], client: AdminClient
) -> None:
    """Replace group NAME's MEMBERS (account or account:user); none removes it."""
    path = f"/tenants/{part(tenant_name)}/groups/{part(name)}"
    client.call("PUT", path, {"members": list(members)})
    click.echo(f"group {tenant_name}:{name}: {len(members)} member(s)")


@admin.group("quota")
def quota() -> None:
    """Quotas of buckets and tenants: set them, or show them with no limit given."""


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _quota_options(f: F) -> F:
    f = click.option("--objects", "max_objects", type=click.IntRange(min=0),
                     help="Objects at most.")(f)  # fmt: skip
    f = click.option("--bytes", "max_bytes", callback=_size, metavar="SIZE",
                     help="Bytes at most (10GiB style suffixes allowed).")(f)  # fmt: skip
    return click.option("--unlimited", is_flag=True, help="Remove both limits.")(f)


def _limits(max_bytes: int | None, max_objects: int | None, unlimited: bool) -> dict[str, Any]:
    return {
        "bytes": None if unlimited else max_bytes,
        "objects": None if unlimited else max_objects,
    }


def _show_quota(found: dict[str, Any]) -> str:
    parts = [f"{found[k]} {k}" for k in ("bytes", "objects") if found.get(k) is not None]
    return ", ".join(parts) or "unlimited"


@quota.command("bucket")
@click.argument("name")
@_quota_options
@remote
def quota_bucket(
    *, name: str, max_bytes: int | None, max_objects: int | None, unlimited: bool,
    client: AdminClient,
) -> None:  # fmt: skip
    """Set (or show) the quota of bucket NAME."""
    if max_bytes is None and max_objects is None and not unlimited:
        found = client.call("GET", f"/buckets/{part(name)}")
    else:
        body = _limits(max_bytes, max_objects, unlimited)
        found = client.call("PUT", f"/buckets/{part(name)}/quota", body)
    click.echo(f"bucket {name}: quota {_show_quota(found['quota'])}")


@quota.command("tenant")
@click.argument("name")
@_quota_options
@remote
def quota_tenant(
    *, name: str, max_bytes: int | None, max_objects: int | None, unlimited: bool,
    client: AdminClient,
) -> None:  # fmt: skip
    """Set (or show) the quota of tenant NAME (all its buckets together)."""
    if max_bytes is None and max_objects is None and not unlimited:
        found = client.call("GET", f"/tenants/{part(name)}")["quota"]
    else:
        body = _limits(max_bytes, max_objects, unlimited)
        found = client.call("PUT", f"/tenants/{part(name)}/quota", body)
    click.echo(f"tenant {name}: quota {_show_quota(found)}")
