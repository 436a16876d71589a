"""Configuration: defaults, precedence file < environment < flags, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dolium.config import Config
from dolium.config_load import load_config
from dolium.errors import ConfigError
from dolium.units import parse_duration, parse_size


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dolium.toml"
    path.write_text(text)
    return path


def error_of(*args: object, **kwargs: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)  # type: ignore[arg-type]
    message = info.value.message
    assert "\n" not in message
    return message


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {}, {})
    assert config.data_dir == tmp_path / "data"
    assert config.listen == "127.0.0.1:9000"
    assert (config.host, config.port, config.endpoint) == (
        "127.0.0.1",
        9000,
        "http://127.0.0.1:9000",
    )
    assert config.region is None
    assert config.effective_region == "us-east-1"
    assert config.domains == []
    assert config.meta.use == "sqlite"
    assert config.meta.options == {"path": str(tmp_path / "data" / "meta.sqlite3")}
    assert config.blob.use == "fs"
    assert config.blob.options == {"root": str(tmp_path / "data" / "blocks")}
    assert config.inline_threshold == 16384
    assert config.block_size == 4 * 1024 * 1024
    assert config.gc_interval == 3600.0
    assert config.gc_grace == 3600.0
    assert config.log_level == "info"
    assert config.server == "uvicorn"


def test_file_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
data_dir = "{tmp_path}/d"
listen = "0.0.0.0:8080"
region = "eu-west-1"
domains = ["S3.Example.com", ".s3.local"]
inline_threshold = "8KiB"
block_size = "1MiB"
gc_interval = "10m"
gc_grace = 90
log_level = "DEBUG"

[meta]
use = "sqlite"
options = {{ path = "/srv/meta.db" }}

[blob]
use = "memory"
""",
    )
    config = load_config(path, {}, {})
    assert config.data_dir == tmp_path / "d"
    assert config.port == 8080
    assert config.region == "eu-west-1"
    assert config.domains == ["s3.example.com", "s3.local"]
    assert config.inline_threshold == 8192
    assert config.block_size == 1024 * 1024
    assert config.gc_interval == 600.0
    assert config.gc_grace == 90.0
    assert config.log_level == "debug"
    assert config.meta.options == {"path": "/srv/meta.db"}
    assert config.blob.use == "memory"
    assert config.blob.options == {}


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path, 'listen = "127.0.0.1:1000"\nregion = "file-region"\nblock_size = 65536\n'
    )
    env = {"DOLIUM_LISTEN": "127.0.0.1:2000", "DOLIUM_REGION": "env-region"}
    config = load_config(path, env, {"listen": "127.0.0.1:3000", "data_dir": None})
    assert config.listen == "127.0.0.1:3000"  # flag beats env
    assert config.region == "env-region"  # env beats file
    assert config.block_size == 65536  # file beats default
    config = load_config(path, env, {})
    assert config.listen == "127.0.0.1:2000"


def test_config_path_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, 'listen = "127.0.0.1:1234"\n')
    assert load_config(None, {"DOLIUM_CONFIG": str(path)}, {}).port == 1234


def test_env_variables(tmp_path: Path) -> None:
    env = {
        "DOLIUM_DATA": str(tmp_path / "x"),
        "DOLIUM_DOMAINS": "a.example, b.example",
        "DOLIUM_META": "memory",
        "DOLIUM_BLOB_OPTIONS": '{"root": "/srv/blocks"}',
        "DOLIUM_INLINE_THRESHOLD": "0",
        "DOLIUM_BLOCK_SIZE": "64k",
        "DOLIUM_GC_INTERVAL": "1h",
        "DOLIUM_GC_GRACE": "0",
        "DOLIUM_LOG_LEVEL": "warning",
        "DOLIUM_SERVER": "uvicorn",
        "DOLIUM_REGION": "",
    }
    config = load_config(None, env, {})
    assert config.data_dir == tmp_path / "x"
    assert config.domains == ["a.example", "b.example"]
    assert config.meta.use == "memory"
    assert config.meta.options == {}
    assert config.blob.options == {"root": "/srv/blocks"}
    assert (config.inline_threshold, config.block_size) == (0, 65536)
    assert (config.gc_interval, config.gc_grace) == (3600.0, 0.0)
    assert (config.log_level, config.server, config.region) == ("warning", "uvicorn", None)


def test_changing_store_drops_its_options(tmp_path: Path) -> None:
    path = write(tmp_path, '[meta]\nuse = "sqlite"\noptions = { path = "/srv/m.db" }\n')
    assert load_config(path, {"DOLIUM_META": "memory"}, {}).meta.options == {}
    # Same store: options merge, the later layer winning.
    config = load_config(path, {"DOLIUM_META_OPTIONS": '{"timeout": 5}'}, {})
    assert config.meta.options == {"path": "/srv/m.db", "timeout": 5}


def test_store_shorthand(tmp_path: Path) -> None:
    path = write(tmp_path, 'meta = "memory"\nblob = "memory"\n')
    config = load_config(path, {}, {})
    assert (config.meta.use, config.blob.use) == ("memory", "memory")


def test_key_store_by_name(tmp_path: Path) -> None:
    assert load_config(None, {}, {}).keys.use == "meta"
    path = write(tmp_path, 'keys = "file"\n')
    assert load_config(path, {}, {}).keys.use == "file"
    env = {"DOLIUM_KEYS": "http", "DOLIUM_KEYS_OPTIONS": '{"url": "http://k/keys"}'}
    config = load_config(path, env, {})
    assert (config.keys.use, config.keys.options) == ("http", {"url": "http://k/keys"})
    # Another store named later drops the options of the earlier one.
    path = write(tmp_path, '[keys]\nuse = "file"\noptions = { path = "/etc/keys.json" }\n')
    assert load_config(path, {"DOLIUM_KEYS": "http"}, {}).keys.options == {}
    with pytest.raises(ConfigError, match=r"config keys\.options: .* is not a JSON object"):
        load_config(None, {"DOLIUM_KEYS_OPTIONS": "[]"}, {})


def test_ipv6_listen() -> None:
    config = load_config(None, {}, {"listen": "[::1]:9000"})
    assert (config.host, config.port, config.endpoint) == ("::1", 9000, "http://[::1]:9000")


@pytest.mark.parametrize(
    ("env", "key", "fragment"),
    [
        ({"DOLIUM_LISTEN": "abc"}, "listen", "'abc' is not HOST:PORT (e.g. 127.0.0.1:9000)"),
        ({"DOLIUM_LISTEN": "host:99999"}, "listen", "port must be 1..65535"),
        ({"DOLIUM_LISTEN": "bad host:80"}, "listen", "is not HOST:PORT"),
        ({"DOLIUM_REGION": "Not A Region"}, "region", "is not a region name"),
        ({"DOLIUM_DOMAINS": "ok.example,bad_domain!"}, "domains", "is not a domain name"),
        ({"DOLIUM_META": "bad name"}, "meta.use", "is not a store name"),
        ({"DOLIUM_META_OPTIONS": "[1]"}, "meta.options", "is not a JSON object"),
        ({"DOLIUM_BLOB_OPTIONS": "{"}, "blob.options", "is not a JSON object"),
        ({"DOLIUM_INLINE_THRESHOLD": "lots"}, "inline_threshold", "is not a size in bytes"),
        ({"DOLIUM_INLINE_THRESHOLD": "128MiB"}, "inline_threshold", "out of range"),
        ({"DOLIUM_BLOCK_SIZE": "1k"}, "block_size", "use 64KiB..64MiB"),
        ({"DOLIUM_BLOCK_SIZE": "65MiB"}, "block_size", "use 64KiB..64MiB"),
        ({"DOLIUM_BLOCK_SIZE": "-5"}, "block_size", "is not a size in bytes"),
        ({"DOLIUM_GC_INTERVAL": "soon"}, "gc_interval", "is not a duration"),
        ({"DOLIUM_GC_GRACE": "soon"}, "gc_grace", "is not a duration"),
        ({"DOLIUM_LOG_LEVEL": "loud"}, "log_level", "is not a log level"),
        ({"DOLIUM_SERVER": "gunicorn"}, "server", "'gunicorn' is not allowed"),
        (
            {"DOLIUM_BLOCK_SIZE": "64KiB", "DOLIUM_INLINE_THRESHOLD": "1MiB"},
            "inline_threshold",
            "larger than block_size",
        ),
    ],
)
def test_bad_env_value_is_one_line_naming_the_key(
    env: dict[str, str], key: str, fragment: str
) -> None:
    message = error_of(None, env, {})
    assert message.startswith(f"config {key}: ")
    assert fragment in message


def test_error_says_where_the_value_came_from(tmp_path: Path) -> None:
    message = error_of(None, {"DOLIUM_LISTEN": "abc"}, {})
    assert message == (
        "config listen: 'abc' is not HOST:PORT (e.g. 127.0.0.1:9000); from DOLIUM_LISTEN"
    )
    message = error_of(None, {}, {"listen": "abc"})
    assert message.endswith("; from the command line")
    path = write(tmp_path, 'listen = "abc"\n')
    assert error_of(path, {}, {}).endswith(f"; in {path}")


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('colour = "blue"\n', "colour", "unknown key (known keys: data_dir, secrets_dir, listen"),
        (
            '[meta]\nuse = "sqlite"\npth = "x"\n',
            "meta.pth",
            "unknown key (known keys: use, options)",
        ),
        ("[meta]\nuse = 3\n", "meta.use", "is not a string"),
        ('meta = { use = "sqlite", options = "x" }\n', "meta.options", "is not a table"),
        ("block_size = 1.5\n", "block_size", "is not a size in bytes"),
        ("block_size = true\n", "block_size", "is not a size in bytes"),
        ("listen = 9000\n", "listen", "is not a string"),
        ("domains = 3\n", "domains", "is not a list of domains"),
        ("gc_grace = [1]\n", "gc_grace", "is not a duration"),
        ("data_dir = 7\n", "data_dir", "is not a string"),
    ],
)
def test_bad_file_value_is_one_line_naming_the_key(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    message = error_of(write(tmp_path, text), {}, {})
    assert message.startswith(f"config {key}: ")
    assert fragment in message


def test_bad_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "missing.toml", {}, {})
    assert message.startswith("config file ") and "not found" in message
    message = error_of(write(tmp_path, "listen = \n"), {}, {})
    assert message.startswith("config file ") and "invalid TOML" in message


def test_config_built_directly_gets_store_defaults(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, meta="memory")  # type: ignore[arg-type]
    assert config.meta.options == {}
    assert config.blob.options == {"root": str(tmp_path / "blocks")}


def test_workers_default_to_the_cores_unless_a_store_is_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2})
    assert Config(data_dir=tmp_path).workers == 3
    assert Config(data_dir=tmp_path, workers=2).workers == 2
    assert Config(data_dir=tmp_path, meta="memory").workers == 1  # type: ignore[arg-type]
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(200)))
    assert Config(data_dir=tmp_path).workers == 64


def test_parsers() -> None:
    assert parse_size("4MiB") == parse_size("4m") == parse_size("4 MB") == 4 * 1024 * 1024
    assert parse_size("512") == parse_size("512b") == 512
    assert parse_duration("1.5h") == 5400.0
    assert parse_duration(2) == 2.0


# -- storage policies ---------------------------------------------------------------


def test_policies_name_block_stores(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
default_policy = "cold"
[blob]
use = "fs"
[blob.archive]
use = "fs"
[blob.scratch]
use = "memory"
[policy.cold]
blob = "archive"
[policy.fast]
blob = "default"
""",
    )
    config = load_config(path, {"DOLIUM_DATA": str(tmp_path / "d")}, {})
    assert {n: p.blob for n, p in config.policies.items()} == {
        "standard": "default",
        "cold": "archive",
        "fast": "default",
    }
    assert config.default_policy == "cold"
    assert config.blob_stores["archive"].options == {"root": str(tmp_path / "d" / "blocks-archive")}
    assert config.blob_stores["scratch"].options == {}
    # The [blob] store keeps its own keys, and the environment still chooses it.
    assert config.blob.options == {"root": str(tmp_path / "d" / "blocks")}
    assert load_config(path, {"DOLIUM_BLOB": "memory"}, {}).blob.use == "memory"
    env = {"DOLIUM_DEFAULT_POLICY": "standard"}
    assert load_config(path, env, {}).default_policy == "standard"


def test_policy_errors_are_one_line(tmp_path: Path) -> None:
    unknown_store = write(tmp_path, '[policy.cold]\nblob = "archive"\n')
    assert "policy.cold.blob: no block store 'archive'" in error_of(unknown_store, {}, {})
    assert "default_policy: no storage policy 'cold'" in error_of(
        None, {"DOLIUM_DEFAULT_POLICY": "cold"}, {}
    )
    reserved = write(tmp_path, '[blob.default]\nuse = "fs"\n')
    assert "blob.default: not a store name" in error_of(reserved, {}, {})


def test_shared_secrets_are_kept_in_the_data_directory_unless_told(tmp_path: Path) -> None:
    config = load_config(None, {"DOLIUM_DATA": str(tmp_path / "d")}, {})
    assert config.secrets == tmp_path / "d"
    env = {
        "DOLIUM_DATA": str(tmp_path / "d"),
        "DOLIUM_SECRETS_DIR": str(tmp_path / "shared"),
        "DOLIUM_CONFIG": "",
    }
    path = tmp_path / "dolium.toml"
    path.write_text(
        '[blob.own]\nuse = "memory"\n[policy.sealed]\nmodules = ["encrypt"]\nblob = "own"\n'
    )
    config = load_config(path, env, {})
    assert config.secrets == tmp_path / "shared"
    [encrypt] = config.policies["sealed"].modules  # type: ignore[attr-defined]
    assert encrypt.options["keyring"] == str(tmp_path / "shared" / "encrypt-keyring.json")


def test_the_audit_log_goes_where_a_postgres_meta_store_is(tmp_path: Path) -> None:
    dsn = "postgresql://dolium@127.0.0.1/dolium"
    env = {"DOLIUM_META": "postgres", "DOLIUM_META_OPTIONS": f'{{"dsn": "{dsn}"}}'}
    config = load_config(None, env, {"data_dir": tmp_path})
    assert config.audit is not None
    assert (config.audit.use, config.audit.options) == ("postgres", {"dsn": dsn})
    assert load_config(None, {}, {"data_dir": tmp_path}).audit.use == "sqlite"  # type: ignore[union-attr]


def test_malformed_json_options_are_not_repeated_in_the_error() -> None:
    text = '{"endpoint": "http://s3", "secret_key": "do-not-show-this",}'
    message = error_of(None, {"DOLIUM_BLOB": "s3", "DOLIUM_BLOB_OPTIONS": text}, {})
    assert message.startswith("config blob.options: the value of DOLIUM_BLOB_OPTIONS")
    assert "at character" in message
    assert "do-not-show-this" not in message
