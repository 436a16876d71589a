"""The `dolium` command: run the server and administer accounts.

Admin commands open the configured meta store directly (SQLite in WAL mode
lets them run beside a live server). Every error a person can fix is one
line on stderr, `dolium: <message>`, with exit status 2 for configuration
and usage errors and 1 for the rest; never a traceback. Secrets are printed
only when created (and the root secret at server start), never in lists.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from dolium import __version__
from dolium.cli_admin import admin
from dolium.cli_audit import audit
from dolium.cli_common import (
    config_options,
    get_config,
    json_option,
    print_json,
    show,
    tenant_user,
    timestamp,
)
from dolium.cli_identity_policies import policy as identity_policy
from dolium.cli_kms import key as kms_key
from dolium.cli_policy import policy
from dolium.cli_scrub import scrub
from dolium.config import Config
from dolium.core.accounts.service import AccountService
from dolium.core.buckets.service import Buckets
from dolium.core.content.integrity import IntegrityReport, check
from dolium.core.context import Context
from dolium.credentials import root_credentials, setup_root
from dolium.errors import ConfigError, DoliumError, InvalidRequest, NoSuchBucket
from dolium.memory import limit_malloc_arenas
from dolium.model import DEFAULT_POLICY, AccessKey, Bucket, Tenant
from dolium.plugins import check_keys, open_meta, open_policies

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


# -- shared plumbing -----------------------------------------------------------------


def run_accounts(config: Config, action: Callable[[AccountService], Awaitable[T]]) -> T:
    """Open the meta store, run one account action on it, close it."""
    if config.meta.use == "sqlite":
        parent = Path(str(config.meta.options.get("path", ""))).parent
        if not parent.is_dir():
            raise ConfigError(
                f"config data_dir: directory {parent} does not exist "
                "(pass --data, or start `dolium serve` once to create it)"
            )

    async def go() -> T:
        meta = await open_meta(config)
        try:
            return await action(AccountService(meta, time.time))
        finally:
            await meta.close()

    return asyncio.run(go())


def tenant_record(t: Tenant) -> dict[str, Any]:
    return {
        "name": t.name,
        "canonical_id": t.canonical_id,
        "display_name": t.display_name,
        "email": t.email,
        "created": timestamp(t.created),
    }


def print_key(key: AccessKey, as_json: bool, what: str) -> None:
    if as_json:
        print_json(
            {
                "tenant": key.tenant,
                "user": key.user,
                "access_key": key.access_key,
                "secret_key": key.secret_key,
            }
        )
        return
    click.echo(what)
    click.echo(f"access key: {key.access_key}")
    click.echo(f"secret key: {key.secret_key}")


# -- commands ---------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dolium", message="%(prog)s %(version)s")
def cli() -> None:
    """Dolium: self-hosted S3-compatible object storage."""


@cli.command()
@config_options
@click.option("--listen", metavar="HOST:PORT", help="Address to listen on (env DOLIUM_LISTEN).")
@click.option(
    "--workers", type=int, help="Server processes (env DOLIUM_WORKERS; default: the cores)."
)
def serve(
    *, config_file: Path | None, data_dir: Path | None, listen: str | None, workers: int | None
) -> None:
    """Run the server (prints the root credentials at start)."""
    # Before anything starts a thread (setting up the root runs the meta
    # store's): arenas made before the limit outlive it.
    limit_malloc_arenas()
    config = get_config(config_file, data_dir, listen=listen, workers=workers)
    for name, directory in (("data_dir", config.data_dir), ("secrets_dir", config.secrets)):
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"config {name}: cannot create {directory}: {exc.strerror}") from None
    creds = root_credentials(config.secrets, os.environ)
    asyncio.run(setup_root(config, creds))
    asyncio.run(check_keys(config))
    # The operator needs the root secret to use the server: it goes to the
    # terminal here, and never through logging. One the operator chose (the
    # environment) is not repeated, as stdout often ends up in a log file.
    click.echo(f"Dolium {__version__}")
    click.echo(f"endpoint: {config.endpoint}")
    click.echo(f"region: {config.effective_region}")
    click.echo(f"data: {config.data_dir}")
    click.echo(f"access key: {creds.access_key}")
    if creds.source == "environment":
        click.echo("secret key: (DOLIUM_ROOT_SECRET_KEY)")
    else:
        click.echo(f"secret key: {creds.secret_key}")
    from dolium import app

    app.serve(config)


@cli.group()
def tenant() -> None:
    """Tenants (accounts): they own buckets, users and keys."""


@tenant.command("create")
@click.argument("name")
@click.option("--id", "canonical_id", help="Canonical id (default: 64 random hex digits).")
@click.option("--display-name", help="Display name (default: NAME).")
@click.option("--email", default="", help="Contact address.")
@config_options
@json_option
def tenant_create(
    *,
    name: str,
    canonical_id: str | None,
    display_name: str | None,
    email: str,
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create a tenant."""
    config = get_config(config_file, data_dir)
    t = run_accounts(config, lambda acc: acc.create_tenant(name, canonical_id, display_name, email))
    if as_json:
        print_json(tenant_record(t))
    else:
        click.echo(f"created tenant {t.name} (canonical id {t.canonical_id})")


@tenant.command("list")
@config_options
@json_option
def tenant_list(*, config_file: Path | None, data_dir: Path | None, as_json: bool) -> None:
    """List tenants."""
    tenants = run_accounts(get_config(config_file, data_dir), lambda acc: acc.list_tenants())
    show(
        ("name", "canonical_id", "display_name", "email", "created"),
        [tenant_record(t) for t in tenants],
        as_json,
    )


@tenant.command("delete")
@click.argument("name")
@config_options
def tenant_delete(*, name: str, config_file: Path | None, data_dir: Path | None) -> None:
    """Delete a tenant with its users and keys (it must own no bucket)."""
    run_accounts(get_config(config_file, data_dir), lambda acc: acc.delete_tenant(name))
    click.echo(f"deleted tenant {name}")


@cli.group()
def user() -> None:
    """Users of a tenant; each has access keys."""


@user.command("create")
@click.argument("who", metavar="TENANT:USER", callback=tenant_user)
@click.option(
    "--admin", is_flag=True, help="Admin of its tenant: owns its Swift account (see docs/swift.md)."
)
@click.option("--access-key", help="Access key id (default: generated).")
@click.option("--secret-key", help="Secret key (default: generated).")
@config_options
@json_option
def user_create(
    *,
    who: tuple[str, str],
    admin: bool,
    access_key: str | None,
    secret_key: str | None,
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Create a user with its first access key, and print the key pair."""
    tenant_name, user_name = who
    key = run_accounts(
        get_config(config_file, data_dir),
        lambda acc: acc.create_user(
            tenant_name, user_name, admin, access_key=access_key, secret_key=secret_key
        ),
    )
    role = " (admin)" if admin else ""
    print_key(key, as_json, f"created user {tenant_name}:{user_name}{role}")


@user.command("list")
@click.option("--tenant", "tenant_name", help="Only the users of this tenant.")
@config_options
@json_option
def user_list(
    *, tenant_name: str | None, config_file: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """List users."""
    users = run_accounts(get_config(config_file, data_dir), lambda acc: acc.list_users(tenant_name))
    records = [
        {"tenant": u.tenant, "user": u.name, "admin": u.admin, "created": timestamp(u.created)}
        for u in users
    ]
    show(("tenant", "user", "admin", "created"), records, as_json)


@cli.group()
def key() -> None:
    """Access keys."""


@key.command("create")
@click.argument("who", metavar="TENANT:USER", callback=tenant_user)
@click.option("--access-key", help="Access key id (default: generated).")
@click.option("--secret-key", help="Secret key (default: generated).")
@config_options
@json_option
def key_create(
    *,
    who: tuple[str, str],
    access_key: str | None,
    secret_key: str | None,
    config_file: Path | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Add an access key to a user, and print the key pair."""
    tenant_name, user_name = who
    created = run_accounts(
        get_config(config_file, data_dir),
        lambda acc: acc.create_key(tenant_name, user_name, access_key, secret_key),
    )
    print_key(created, as_json, f"created access key for {tenant_name}:{user_name}")


@key.command("list")
@click.option("--tenant", "tenant_name", help="Only the keys of this tenant.")
@config_options
@json_option
def key_list(
    *, tenant_name: str | None, config_file: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """List access keys (never their secrets)."""
    keys = run_accounts(get_config(config_file, data_dir), lambda acc: acc.list_keys(tenant_name))
    records = [
        {
            "access_key": k.access_key,
            "tenant": k.tenant,
            "user": k.user,
            "active": k.active,
            "status": "active" if k.active else "revoked",
            "created": timestamp(k.created),
        }
        for k in keys
    ]
    show(("access_key", "tenant", "user", "status", "created"), records, as_json)


@key.command("revoke")
@click.argument("access_key", metavar="ACCESS_KEY")
@config_options
def key_revoke(*, access_key: str, config_file: Path | None, data_dir: Path | None) -> None:
    """Revoke an access key; requests signed with it are refused from now on."""
    revoked = run_accounts(
        get_config(config_file, data_dir), lambda acc: acc.revoke_key(access_key)
    )
    click.echo(f"revoked access key {access_key} of {revoked.tenant}:{revoked.user}")


@cli.group()
def container() -> None:
    """Containers named per account, as the Swift and Pithos APIs make them."""


@container.command("create")
@click.argument("account")
@click.argument("name")
@config_options
def container_create(
    *, account: str, name: str, config_file: Path | None, data_dir: Path | None
) -> None:
    """Create container NAME of ACCOUNT; print the address S3 reaches it by."""
    from dolium.app import core_settings

    config = get_config(config_file, data_dir)

    async def go(acc: AccountService) -> Bucket:
        policies = await open_policies(config)
        try:
            ctx = Context(
                meta=acc.meta,
                blobs=policies[DEFAULT_POLICY],
                policies=policies,
                clock=time.time,
                settings=core_settings(config),
            )
            return await Buckets(ctx).create_container(account, name)
        finally:
            for blobs in {id(s): s for s in policies.values()}.values():
                await blobs.close()

    made = run_accounts(config, go)
    click.echo(made.name)


@cli.group()
def kms() -> None:
    """SSE-S3 master keys (the keyring in the data directory); `kms key`: SSE-KMS keys."""


kms.add_command(kms_key)


@kms.command("rotate")
@config_options
def kms_rotate(*, config_file: Path | None, data_dir: Path | None) -> None:
    """Make a new master key the active one; older keys stay to open existing objects."""
    from dolium.app import open_kms

    key_id = asyncio.run(open_kms(get_config(config_file, data_dir)).rotate())
    click.echo(f"active master key {key_id}")


@kms.command("list")
@config_options
def kms_list(*, config_file: Path | None, data_dir: Path | None) -> None:
    """Master key ids, oldest first; the last one is active. Keys are never printed."""
    from dolium.app import open_kms

    for key_id in asyncio.run(open_kms(get_config(config_file, data_dir)).key_ids()):
        click.echo(key_id)


@cli.group()
def bucket() -> None:
    """Settings of buckets that no S3 request changes."""


@bucket.command("policy")
@click.argument("name")
@click.argument("policy", required=False)
@config_options
def bucket_policy(
    *, name: str, policy: str | None, config_file: Path | None, data_dir: Path | None
) -> None:
    """Show the storage policy of bucket NAME, or move it to POLICY.

    Data written from then on is stored through POLICY; data already stored
    stays where it is and is read from there.
    """
    config = get_config(config_file, data_dir)
    if policy is not None and policy not in config.policies:
        known = ", ".join(sorted(config.policies))
        raise ConfigError(f"no storage policy {policy!r} in the config (declared: {known})")

    async def go(acc: AccountService) -> str:
        found = await acc.meta.get_bucket(name)
        if found is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
        if policy is not None and policy != found.policy:
            await acc.meta.update_bucket(replace(found, policy=policy))
        return policy or found.policy

    click.echo(f"bucket {name}: storage policy {run_accounts(config, go)}")


@cli.command("check")
@click.option("--no-verify", is_flag=True, help="Only look blocks up; do not hash their bytes.")
@config_options
@json_option
def check_cmd(
    *, no_verify: bool, config_file: Path | None, data_dir: Path | None, as_json: bool
) -> None:
    """Check that every block the metadata references is stored and sound."""
    config = get_config(config_file, data_dir)

    async def go(acc: AccountService) -> IntegrityReport:
        policies = await open_policies(config)
        ctx = Context(
            meta=acc.meta, blobs=policies[DEFAULT_POLICY], policies=policies, clock=time.time
        )
        try:
            return await check(ctx, verify=not no_verify)
        finally:
            for blobs in {id(s): s for s in policies.values()}.values():
                await blobs.close()

    report = run_accounts(config, go)
    if as_json:
        print_json({"ok": report.ok, **asdict(report)})
    else:
        click.echo(report.summary())
        for digest in report.missing:
            click.echo(f"missing block {digest}")
        for digest in report.corrupt:
            click.echo(f"corrupt block {digest}")
    if not report.ok:
        sys.exit(1)


cli.add_command(audit)
admin.add_command(identity_policy)
cli.add_command(admin)
cli.add_command(policy)
cli.add_command(scrub)


# -- entry point ------------------------------------------------------------------------


class _NeverRaised(click.UsageError):
    pass


# click >= 8.2 raises this for a bare group; older versions print the help themselves.
_NO_ARGS: type[click.UsageError] = getattr(click.exceptions, "NoArgsIsHelpError", _NeverRaised)


def fail(message: str, status: int) -> None:
    click.echo(f"dolium: {' '.join(message.splitlines())}", err=True)
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> None:
    """Console script: run the command, turning every known error into one line."""
    try:
        status = cli.main(args=argv, prog_name="dolium", standalone_mode=False)
    except _NO_ARGS as exc:  # bare `dolium` or `dolium tenant`: help, as click does
        exc.show()
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        fail(exc.format_message() + hint, 2)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        fail("interrupted", 130)
    except (ConfigError, InvalidRequest) as exc:
        fail(exc.message, 2)
    except DoliumError as exc:
        fail(exc.message, 1)
    except OSError as exc:
        fail(str(exc), 1)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
