"""The `dolium` command, run as the installed console script."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dolium.config_load import load_config
from dolium.credentials import root_credentials, setup_root
from dolium.errors import ConfigError

DOLIUM = Path(sys.executable).parent / "dolium"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    return subprocess.run(
        [str(DOLIUM), *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )


def ok(*args: str) -> str:
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert result.stderr.startswith("dolium: ")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


@pytest.fixture
def data(tmp_path: Path) -> str:
    path = tmp_path / "data"
    path.mkdir()
    return str(path)


def test_version() -> None:
    assert ok("--version").startswith("dolium ")


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dolium", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("dolium ")


def test_accounts_end_to_end(data: str) -> None:
    out = ok("tenant", "create", "acme", "--display-name", "Acme [Corp]", "--data", data)
    assert out.startswith("created tenant acme")
    ok("tenant", "create", "beta", "--id", "c0ffee", "--email", "ops@b.example", "--data", data)
    tenants = json.loads(ok("tenant", "list", "--json", "--data", data))
    assert [t["name"] for t in tenants] == ["acme", "beta"]
    assert tenants[0]["display_name"] == "Acme [Corp]"
    assert tenants[1]["canonical_id"] == "c0ffee"
    table = ok("tenant", "list", "--data", data)
    assert "Acme [Corp]" in table and "c0ffee" in table and "ops@b.example" in table

    out = ok("user", "create", "acme:alice", "--admin", "--data", data)
    lines = dict(line.split(": ", 1) for line in out.splitlines()[1:])
    alice_key, alice_secret = lines["access key"], lines["secret key"]
    assert alice_key.startswith("DK") and len(alice_secret) == 40
    created = json.loads(
        ok(
            "user",
            "create",
            "acme:bob",
            "--access-key",
            "BOBKEY",
            "--secret-key",
            "bobsecret1",
            "--json",
            "--data",
            data,
        )
    )
    assert created == {
        "tenant": "acme",
        "user": "bob",
        "access_key": "BOBKEY",
        "secret_key": "bobsecret1",
    }
    users = json.loads(ok("user", "list", "--json", "--data", data))
    assert [(u["user"], u["admin"]) for u in users] == [("alice", True), ("bob", False)]
    assert "alice" in ok("user", "list", "--tenant", "acme", "--data", data)

    second = json.loads(ok("key", "create", "acme:alice", "--json", "--data", data))
    keys = json.loads(ok("key", "list", "--json", "--data", data))
    assert {k["access_key"] for k in keys} == {alice_key, "BOBKEY", second["access_key"]}
    assert all("secret_key" not in k for k in keys)
    listing = ok("key", "list", "--data", data)
    for secret in (alice_secret, "bobsecret1", second["secret_key"]):
        assert secret not in listing

    assert "revoked access key BOBKEY of acme:bob" in ok("key", "revoke", "BOBKEY", "--data", data)
    keys = json.loads(ok("key", "list", "--tenant", "acme", "--json", "--data", data))
    assert {k["access_key"]: k["active"] for k in keys}["BOBKEY"] is False
    assert "revoked" in ok("key", "list", "--data", data)

    ok("tenant", "delete", "beta", "--data", data)
    tenants = json.loads(ok("tenant", "list", "--json", "--data", data))
    assert [t["name"] for t in tenants] == ["acme"]


def test_domain_errors_are_one_line(data: str) -> None:
    ok("tenant", "create", "acme", "--data", data)
    message = one_line_error(run("tenant", "create", "acme", "--data", data), 1)
    assert "already exists" in message
    message = one_line_error(run("tenant", "create", "Bad Name", "--data", data), 2)
    assert "tenant name" in message
    one_line_error(run("user", "create", "nope:alice", "--data", data), 1)
    one_line_error(run("key", "revoke", "NOSUCHKEY", "--data", data), 1)
    one_line_error(run("tenant", "delete", "nope", "--data", data), 1)


def test_usage_errors_are_one_line(data: str) -> None:
    message = one_line_error(run("user", "create", "no-colon", "--data", data), 2)
    assert "TENANT:USER" in message
    one_line_error(run("tenant", "frobnicate"), 2)


def test_missing_data_dir(tmp_path: Path) -> None:
    message = one_line_error(run("tenant", "list", "--data", str(tmp_path / "nope")), 2)
    assert "does not exist" in message


def test_bad_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dolium.toml"
    path.write_text('listen = "nowhere"\n')
    message = one_line_error(run("tenant", "list", "--config", str(path)), 2)
    assert message.startswith("dolium: config listen: 'nowhere' is not HOST:PORT")
    path.write_text("colour = 'blue'\n")
    message = one_line_error(run("serve", "--config", str(path)), 2)
    assert message.startswith("dolium: config colour: unknown key")
    path.write_text("[meta]\nuse = 'nosuchstore'\n")
    message = one_line_error(run("tenant", "list", "--config", str(path)), 2)
    assert "unknown store 'nosuchstore'; installed: [" in message
    path.write_text("[meta]\nuse = 'sqlite'\noptions = { path = '/tmp/x.db', colour = 1 }\n")
    message = one_line_error(run("tenant", "list", "--config", str(path)), 2)
    assert message.startswith("dolium: config meta.options.colour: unknown option")


def test_bad_listen_flag(data: str) -> None:
    message = one_line_error(run("serve", "--listen", "abc", "--data", data), 2)
    assert message == (
        "dolium: config listen: 'abc' is not HOST:PORT (e.g. 127.0.0.1:9000); from the command line"
    )


def test_bad_env_value(data: str) -> None:
    result = run("serve", "--data", data, env={"DOLIUM_BLOCK_SIZE": "huge"})
    message = one_line_error(result, 2)
    assert message.startswith("dolium: config block_size:") and "DOLIUM_BLOCK_SIZE" in message


def test_credentials_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = root_credentials(tmp_path, {})
    path = tmp_path / "root-credentials.json"
    assert first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "access_key": first.access_key,
        "secret_key": first.secret_key,
    }
    assert first.secret_key not in repr(first)
    again = root_credentials(tmp_path, {})
    assert (again.access_key, again.secret_key) == (first.access_key, first.secret_key)
    assert [p.name for p in tmp_path.iterdir()] == ["root-credentials.json"]  # no temp left


def test_credentials_file_mode_is_tightened(tmp_path: Path) -> None:
    first = root_credentials(tmp_path, {})
    path = tmp_path / "root-credentials.json"
    path.chmod(0o644)
    assert root_credentials(tmp_path, {}).secret_key == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_credentials_from_environment(tmp_path: Path) -> None:
    env = {"DOLIUM_ROOT_ACCESS_KEY": "ENVROOT", "DOLIUM_ROOT_SECRET_KEY": "envsecret"}
    creds = root_credentials(tmp_path, env)
    assert (creds.access_key, creds.secret_key, creds.source) == (
        "ENVROOT",
        "envsecret",
        "environment",
    )
    assert not (tmp_path / "root-credentials.json").exists()
    with pytest.raises(ConfigError, match="set both"):
        root_credentials(tmp_path, {"DOLIUM_ROOT_ACCESS_KEY": "ENVROOT"})


def test_bad_credentials_file(tmp_path: Path) -> None:
    (tmp_path / "root-credentials.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        root_credentials(tmp_path, {})
    (tmp_path / "root-credentials.json").write_text('{"access_key": "X"}')
    with pytest.raises(ConfigError, match="needs access_key and secret_key"):
        root_credentials(tmp_path, {})


async def test_setup_root_creates_the_root_account(tmp_path: Path) -> None:
    config = load_config(None, {"DOLIUM_DATA": str(tmp_path)}, {})
    creds = root_credentials(tmp_path, {})
    key = await setup_root(config, creds)
    assert (key.tenant, key.user, key.access_key) == ("root", "root", creds.access_key)
    await setup_root(config, creds)  # idempotent
    keys = json.loads(ok("key", "list", "--json", "--data", str(tmp_path)))
    assert [(k["tenant"], k["user"], k["access_key"]) for k in keys] == [
        ("root", "root", creds.access_key)
    ]
    users = json.loads(ok("user", "list", "--json", "--data", str(tmp_path)))
    assert users[0]["admin"] is True
    message = one_line_error(run("tenant", "delete", "root", "--data", str(tmp_path)), 2)
    assert "root credentials" in message


async def test_setup_root_refuses_a_changed_secret(tmp_path: Path) -> None:
    config = load_config(None, {"DOLIUM_DATA": str(tmp_path)}, {})
    env = {"DOLIUM_ROOT_ACCESS_KEY": "ENVROOT", "DOLIUM_ROOT_SECRET_KEY": "envsecret"}
    await setup_root(config, root_credentials(tmp_path, env))
    env["DOLIUM_ROOT_SECRET_KEY"] = "changedsecret"
    with pytest.raises(ConfigError, match="different secret"):
        await setup_root(config, root_credentials(tmp_path, env))
    env["DOLIUM_ROOT_SECRET_KEY"] = "short"
    with pytest.raises(ConfigError, match=r"root credentials \(environment\): secret key"):
        await setup_root(config, root_credentials(tmp_path, env))
