"""Loading the configuration: a TOML file, then `DOLIUM_*` environment
variables, then flags, each overriding the one before it key by key, into a
checked `Config` (dolium.config); a bad value is a `ConfigError` of one line
naming the key and where its value came from.

Environment variables (all optional):

    DOLIUM_CONFIG            path of the TOML file (when no --config is given)
    DOLIUM_DATA              data_dir
    DOLIUM_SECRETS_DIR       secrets_dir (the secrets the servers of one deployment share)
    DOLIUM_LISTEN            listen, HOST:PORT
    DOLIUM_REGION            region ("" = accept any region)
    DOLIUM_DOMAINS           domains, comma-separated
    DOLIUM_WEBSITE_DOMAINS   website_domains, comma-separated
    DOLIUM_META              meta.use (name of a `dolium.meta` entry point)
    DOLIUM_META_OPTIONS      meta.options, a JSON object
    DOLIUM_BLOB              blob.use (name of a `dolium.blob` entry point)
    DOLIUM_BLOB_OPTIONS      blob.options, a JSON object
    DOLIUM_AUDIT             audit.use (name of a `dolium.audit` entry point)
    DOLIUM_AUDIT_OPTIONS     audit.options, a JSON object
    DOLIUM_AUDIT_CHECKPOINT_INTERVAL  audit_checkpoint_interval (seconds; 0 = on demand only)
    DOLIUM_KEYS              keys.use (name of a `dolium.keys` entry point: meta, file, http)
    DOLIUM_KEYS_OPTIONS      keys.options, a JSON object
    DOLIUM_DEFAULT_POLICY    default_policy (the storage policy of new buckets)
    DOLIUM_INLINE_THRESHOLD  inline_threshold (bytes; 16KiB style suffixes allowed)
    DOLIUM_BLOCK_SIZE        block_size (bytes; 4MiB style suffixes allowed)
    DOLIUM_GC_INTERVAL       gc_interval (seconds; 30s, 10m, 1h, 1d allowed; 0 = off)
    DOLIUM_GC_GRACE          gc_grace (seconds, same forms)
    DOLIUM_LIFECYCLE_INTERVAL  lifecycle_interval (seconds, same forms; 0 = off)
    DOLIUM_LIFECYCLE_DAY     lifecycle_day (seconds in a lifecycle day; a testing aid)
    DOLIUM_SCRUB_INTERVAL    scrub_interval (seconds, same forms; 0 = off)
    DOLIUM_BUCKET_LOG_INTERVAL  bucket_log_interval (seconds between deliveries of
                             server access logs, same forms; 0 = never)
    DOLIUM_SCRUB_RATE        scrub_rate (MB a second the background scrub reads; 0 = unpaced)
    DOLIUM_JOBS_LEASE        jobs_lease (seconds a holder of the background jobs keeps them
                             unless it renews; more than 0)
    DOLIUM_HEAD_TIMEOUT      head_timeout (seconds, same forms; more than 0)
    DOLIUM_WORKERS           workers (server processes, 1..64; default: the cores)
    DOLIUM_CLOCK_OFFSET      clock_offset (seconds; a testing aid, see the field)
    DOLIUM_LOG_LEVEL         log_level (debug, info, warning, error, critical)
    DOLIUM_LOG_FORMAT        log_format (text, or json: one JSON object per record)
    DOLIUM_ACCESS_LOG        access_log (true/false: one record per request)
    DOLIUM_SERVER            server (uvicorn; the only HTTP server so far)
    DOLIUM_SSE_C_REQUIRE_TLS  sse_c_require_tls (true/false)
    DOLIUM_SSE_KMS_REQUIRE_TLS  sse_kms_require_tls (true/false)
    DOLIUM_METRICS           metrics (true/false: count requests and serve /metrics)
    DOLIUM_METRICS_TOKEN     metrics_token (a bearer token /metrics asks for; empty = open)
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dolium.config import Config, PluginSpec
from dolium.config_policies import ModuleSpec, PolicySpec
from dolium.errors import ConfigError

# Keys that name a store: `[KEY] use = ..., options = {...}`, or `KEY = "name"`.
STORE_KEYS = ("meta", "blob", "audit", "keys")

_ENV_KEYS = {
    "DOLIUM_DATA": "data_dir",
    "DOLIUM_SECRETS_DIR": "secrets_dir",
    "DOLIUM_LISTEN": "listen",
    "DOLIUM_REGION": "region",
    "DOLIUM_DOMAINS": "domains",
    "DOLIUM_WEBSITE_DOMAINS": "website_domains",
    "DOLIUM_META": "meta.use",
    "DOLIUM_META_OPTIONS": "meta.options",
    "DOLIUM_BLOB": "blob.use",
    "DOLIUM_BLOB_OPTIONS": "blob.options",
    "DOLIUM_AUDIT": "audit.use",
    "DOLIUM_AUDIT_OPTIONS": "audit.options",
    "DOLIUM_AUDIT_CHECKPOINT_INTERVAL": "audit_checkpoint_interval",
    "DOLIUM_KEYS": "keys.use",
    "DOLIUM_KEYS_OPTIONS": "keys.options",
    "DOLIUM_DEFAULT_POLICY": "default_policy",
    "DOLIUM_INLINE_THRESHOLD": "inline_threshold",
    "DOLIUM_BLOCK_SIZE": "block_size",
    "DOLIUM_GC_INTERVAL": "gc_interval",
    "DOLIUM_GC_GRACE": "gc_grace",
    "DOLIUM_LIFECYCLE_INTERVAL": "lifecycle_interval",
    "DOLIUM_LIFECYCLE_DAY": "lifecycle_day",
    "DOLIUM_SCRUB_INTERVAL": "scrub_interval",
    "DOLIUM_BUCKET_LOG_INTERVAL": "bucket_log_interval",
    "DOLIUM_SCRUB_RATE": "scrub_rate",
    "DOLIUM_JOBS_LEASE": "jobs_lease",
    "DOLIUM_HEAD_TIMEOUT": "head_timeout",
    "DOLIUM_WORKERS": "workers",
    "DOLIUM_CLOCK_OFFSET": "clock_offset",
    "DOLIUM_LOG_LEVEL": "log_level",
    "DOLIUM_LOG_FORMAT": "log_format",
    "DOLIUM_ACCESS_LOG": "access_log",
    "DOLIUM_SERVER": "server",
    "DOLIUM_SSE_C_REQUIRE_TLS": "sse_c_require_tls",
    "DOLIUM_SSE_KMS_REQUIRE_TLS": "sse_kms_require_tls",
    "DOLIUM_METRICS": "metrics",
    "DOLIUM_METRICS_TOKEN": "metrics_token",
}
ENV_VARS: tuple[str, ...] = ("DOLIUM_CONFIG", *_ENV_KEYS)


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration: `path` (or $DOLIUM_CONFIG) < `env` < `overrides`.

    `overrides` holds values from the command line under the config's key
    names (`"listen"`, `"data_dir"`, or dotted `"meta.use"`); None means unset.
    """
    env = env or {}
    if path is None and env.get("DOLIUM_CONFIG"):
        path = Path(env["DOLIUM_CONFIG"])
    # Options alone, at any layer, are for the default store.
    raw: dict[str, Any] = {"meta": {"use": "sqlite"}, "blob": {"use": "fs"}}
    sources: dict[str, str] = {}
    if path is not None:
        _merge(raw, sources, _read_toml(path), f"in {path}")
    for var, key in _ENV_KEYS.items():
        # An empty variable is unset, except where empty has a meaning.
        if env.get(var) or (var in env and key in ("region", "domains", "website_domains")):
            value: Any = env[var]
            if key.endswith(".options"):
                value = _json_options(var, key, value)
            _merge(raw, sources, _nest(key, value), f"from {var}")
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key, value in flags.items():
        _merge(raw, sources, _nest(key, value), "from the command line")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path}: not found (check --config or DOLIUM_CONFIG)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read it: {exc.strerror}") from None
    for key in STORE_KEYS:
        if isinstance(data.get(key), str):  # `meta = "sqlite"` means `[meta] use = "sqlite"`
            data[key] = {"use": data[key]}
    return data


def _json_options(var: str, key: str, text: str) -> Any:
    # The text is not repeated in the error: options hold secrets (an s3
    # store's secret_key, a DSN's password), and errors reach logs.
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        where = f" ({exc.msg} at character {exc.pos + 1})"
        value = None
    else:
        where = ""
    if not isinstance(value, dict):
        raise ConfigError(
            f"config {key}: the value of {var} is not a JSON object{where} "
            f'(e.g. {var}=\'{{"path": "/srv/meta.sqlite3"}}\')'
        )
    return value


def _nest(key: str, value: Any) -> dict[str, Any]:
    head, _, rest = key.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _merge(
    raw: dict[str, Any], sources: dict[str, str], layer: Mapping[str, Any], src: str
) -> None:
    """Merge one layer into `raw`, key by key, remembering where each value came from."""
    for key, value in layer.items():
        old = raw.get(key)
        if key in STORE_KEYS and isinstance(value, dict) and isinstance(old, dict):
            # The options of a store do not carry over to another store.
            if "use" in value and value["use"] != old.get("use") and "options" not in value:
                old.pop("options", None)
            for sub, subvalue in value.items():
                if sub == "options" and isinstance(subvalue, dict):
                    if isinstance(old.get("options"), dict):
                        old["options"] = {**old["options"], **subvalue}
                    else:
                        old["options"] = dict(subvalue)
                else:
                    old[sub] = subvalue
                sources[f"{key}.{sub}"] = src
        else:
            raw[key] = dict(value) if isinstance(value, dict) else value
            sources[key] = src
            for sub in value if isinstance(value, dict) else ():
                sources[f"{key}.{sub}"] = src


def _describe(exc: ValidationError, sources: Mapping[str, str]) -> str:
    """One line for the first error: key, what is wrong, how to fix, where it came from."""
    err = exc.errors(include_url=False)[0]
    loc = [str(part) for part in err["loc"]]
    # A list's item is named as the modules of a policy are: modules[0].
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])[1:]
    value = err.get("input")
    kind = err["type"]
    if kind == "value_error":
        text = str(err.get("ctx", {}).get("error", err["msg"]))
        if not key:  # a cross-field check names its key itself
            key, _, text = text.partition(": ")
    elif kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        text = f"unknown key (known keys: {', '.join(known)})"
    elif kind == "missing":
        text = "is required"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        text = f"{value!r} is not an integer"
    elif kind in ("float_parsing", "float_type"):
        text = f"{value!r} is not a number"
    elif kind in ("string_type", "path_type"):
        text = f"{value!r} is not a string (quote it)"
    elif kind in ("dict_type", "model_type", "model_attributes_type"):
        text = f"{value!r} is not a table (e.g. [{key}] in the file)"
    elif kind == "literal_error":
        text = f"{value!r} is not allowed ({err['msg'].replace('Input should be', 'use')})"
    else:
        text = f"{value!r}: {err['msg']}"
    where = ""
    for i in range(len(loc), 0, -1):
        where = sources.get(".".join(loc[:i]), "")
        if where:
            break
    return f"config {key}: {text}" + (f"; {where}" if where else "")


def _known_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Config
    if loc:
        model = PolicySpec if loc[0] == "policy" else PluginSpec
        if loc[0] == "policy" and "modules" in loc:
            model = ModuleSpec
    return list(model.model_fields)
