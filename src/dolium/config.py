"""Configuration: a TOML file, then `DOLIUM_*` environment variables, then flags.

Each layer overrides the one before it, key by key. Every value is checked
here, and a bad one becomes a `ConfigError` of one line that names the key,
says where the value came from and how to fix it; unknown keys are errors.

Environment variables (all optional):

    DOLIUM_CONFIG            path of the TOML file (when no --config is given)
    DOLIUM_DATA              data_dir
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
    DOLIUM_DEFAULT_POLICY    default_policy (the storage policy of new buckets)
    DOLIUM_INLINE_THRESHOLD  inline_threshold (bytes; 16KiB style suffixes allowed)
    DOLIUM_BLOCK_SIZE        block_size (bytes; 4MiB style suffixes allowed)
    DOLIUM_GC_INTERVAL       gc_interval (seconds; 30s, 10m, 1h, 1d allowed; 0 = off)
    DOLIUM_GC_GRACE          gc_grace (seconds, same forms)
    DOLIUM_LIFECYCLE_INTERVAL  lifecycle_interval (seconds, same forms; 0 = off)
    DOLIUM_LIFECYCLE_DAY     lifecycle_day (seconds in a lifecycle day; a testing aid)
    DOLIUM_SCRUB_INTERVAL    scrub_interval (seconds, same forms; 0 = off)
    DOLIUM_SCRUB_RATE        scrub_rate (MB a second the background scrub reads; 0 = unpaced)
    DOLIUM_HEAD_TIMEOUT      head_timeout (seconds, same forms; more than 0)
    DOLIUM_WORKERS           workers (server processes, 1..64; default: the cores)
    DOLIUM_CLOCK_OFFSET      clock_offset (seconds; a testing aid, see the field)
    DOLIUM_LOG_LEVEL         log_level (debug, info, warning, error, critical)
    DOLIUM_LOG_FORMAT        log_format (text, or json: one JSON object per record)
    DOLIUM_ACCESS_LOG        access_log (true/false: one record per request)
    DOLIUM_SERVER            server (uvicorn; the only HTTP server so far)
    DOLIUM_SSE_C_REQUIRE_TLS  sse_c_require_tls (true/false)
    DOLIUM_METRICS           metrics (true/false: count requests and serve /metrics)
    DOLIUM_METRICS_TOKEN     metrics_token (a bearer token /metrics asks for; empty = open)

Storage policies: `[blob]` is the block store of the `standard` policy.
Further block stores are declared as `[blob.NAME]` tables (`use`, `options`;
an fs store's root defaults to `data_dir/blocks-NAME`), and each policy as
`[policy.NAME]` with `blob = "NAME"`, naming one of them, and/or `modules =
[...]`, a stack of storage modules (first listed = outermost) over that
store or over the `stores` its innermost module names (see
dolium.config_policies and docs/storage-policies.md). New buckets get
`default_policy` unless their creation names one; `dolium bucket policy`
moves one to another policy. `[storage_classes]` maps S3 storage classes
(x-amz-storage-class on PUT) to policies.

When a higher layer names a different store in `meta.use` / `blob.use`
without giving options, the options of the lower layer are dropped: they
belonged to the other store. Relative paths are taken from the current
directory. The file-backed stores get their paths from `data_dir` unless
their options say otherwise (sqlite: `path`, fs: `root`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dolium.config_policies import (
    DEFAULT_BLOB,
    NAME_RE,
    STANDARD_POLICY,
    ModuleSpec,
    PolicySpec,
    check_not_shared,
    check_policies,
    check_storage_classes,
)
from dolium.errors import ConfigError
from dolium.units import KIB, MIB, human_size, parse_duration, parse_size

DEFAULT_REGION = "us-east-1"
MAX_WORKERS = 64


def default_workers() -> int:
    """One server process per core this process may run on (at most MAX_WORKERS)."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


_HOST_RE = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$")
_DOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class PluginSpec(BaseModel):
    """A store chosen by entry-point name, with the keyword options for its `open`."""

    model_config = ConfigDict(extra="forbid")

    use: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: object) -> object:
        # `meta = "sqlite"` in the file means `[meta] use = "sqlite"`.
        return {"use": data} if isinstance(data, str) else data

    @field_validator("use")
    @classmethod
    def _check_use(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError(f"{value!r} is not a store name (e.g. sqlite, fs, memory)")
        return value


def _seconds(value: object, rule: str, *, allow_zero: bool = True) -> float:
    """A duration setting in seconds (30s, 10m, 1h, 1d allowed), never negative."""
    seconds = parse_duration(value)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{value!r} {rule}")
    return seconds


class Config(BaseModel):
    """Everything a Dolium process needs to know before it starts."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    data_dir: Path = Path("data")
    listen: str = "127.0.0.1:9000"
    # None: accept a signature scoped to any region.
    region: str | None = None
    # Base domains for virtual-hosted-style requests (bucket.<domain>).
    domains: list[str] = Field(default_factory=list)
    # Base domains of static websites (bucket.<website domain>), served as
    # S3's website endpoint serves them.
    website_domains: list[str] = Field(default_factory=list)
    meta: PluginSpec = Field(default_factory=lambda: PluginSpec(use="sqlite"))
    blob: PluginSpec = Field(default_factory=lambda: PluginSpec(use="fs"))
    # Where the audit log is kept (a `dolium.audit` entry point), or "off".
    # Default: sqlite (DATA/audit.sqlite3), or memory with a memory meta
    # store, whose change log does not outlive the process either.
    audit: PluginSpec | None = None
    # Seconds between signed heads of the audit log (when it grew); 0 = only
    # on demand (`dolium audit checkpoint`).
    audit_checkpoint_interval: float = 300.0
    # Further block stores by name: [blob.NAME] tables in the file.
    blob_stores: dict[str, PluginSpec] = Field(default_factory=dict)
    # Storage policies by name ([policy.NAME]); `standard` is the [blob] store
    # unless declared here.
    policy: dict[str, PolicySpec] = Field(default_factory=dict)
    # S3 storage class (x-amz-storage-class on PUT) -> storage policy. A class
    # not listed stores through the bucket's policy.
    storage_classes: dict[str, str] = Field(default_factory=dict)
    # The storage policy of buckets created from now on.
    default_policy: str = "standard"
    # Objects up to this size are kept in the meta store, not as blocks.
    inline_threshold: int = 16 * KIB
    block_size: int = 4 * MIB
    gc_interval: float = 3600.0
    # A block unreferenced for less than this long is never collected.
    gc_grace: float = 3600.0
    # How often bucket lifecycle rules are applied; 0 = never.
    lifecycle_interval: float = 3600.0
    # Testing aid: seconds in the "day" of lifecycle rules (Days: 1 expires an
    # object this long after it was written, rounded up to a multiple of it),
    # as Ceph's rgw_lc_debug_interval, so lifecycle can be tested end to end
    # in seconds. Leave it 86400 in production.
    lifecycle_day: float = 86400.0
    # Seconds between background scrubs (core.jobs.scrub); 0 = never.
    scrub_interval: float = 0.0
    # MB (10^6 bytes) a second a background scrub reads at most; 0 = unpaced.
    scrub_rate: float = Field(default=20.0, ge=0)
    # A connection gets this long to send a complete request head.
    head_timeout: float = 60.0
    # Server processes accepting requests (dolium.workers); more than one
    # needs stores that processes can share (not `memory`). Default: one
    # per core this process may run on, or 1 with a memory store.
    workers: int | None = None
    # Testing aid: seconds added to the time the lifecycle worker reads, so a
    # test can see objects as days old. Nothing else shifts (block times for
    # the collector stay real). Leave it 0 in production.
    clock_offset: float = 0.0
    log_level: str = "info"
    # "json": every log record one JSON object per line (dolium.logs).
    log_format: Literal["text", "json"] = "text"
    # One record per request on the `dolium.access` logger.
    access_log: bool = False
    server: Literal["uvicorn"] = "uvicorn"
    # Refuse SSE-C keys sent over plain HTTP, as S3 does. Turn off only for
    # tests, or behind a proxy that ends TLS without telling the server.
    sse_c_require_tls: bool = True
    # Event destinations: [notify.<kind>.<name>] holds the options of one
    # reporter (<kind> names a `dolium.reporter` entry point); a bucket's
    # notification configuration names it as arn:dolium:<kind>::<name>.
    notify: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    # Count requests and serve them at /metrics (Prometheus); off saves the
    # few microseconds each request spends on its counters.
    metrics: bool = True
    # When set, /metrics answers only requests bearing this token
    # (Authorization: Bearer ...): the figures name tenants.
    metrics_token: str = Field(default="", repr=False)

    # -- derived values --------------------------------------------------------
    @property
    def host(self) -> str:
        """Host part of `listen`, without IPv6 brackets."""
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def endpoint(self) -> str:
        return f"http://{self.listen}"

    @property
    def effective_region(self) -> str:
        """The region to report (GetBucketLocation, startup banner)."""
        return self.region or DEFAULT_REGION

    @property
    def policies(self) -> dict[str, PolicySpec]:
        """Every storage policy, by name (`standard` is the [blob] store unless declared)."""
        return {STANDARD_POLICY: PolicySpec(blob=DEFAULT_BLOB), **self.policy}

    # -- validation --------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _named_blob_stores(cls, data: object) -> object:
        # [blob.NAME] tables sit beside [blob]'s own keys in the file.
        if isinstance(data, dict) and isinstance(data.get("blob"), dict):
            blob = dict(data["blob"])
            named = {k: blob.pop(k) for k in list(blob) if k not in ("use", "options")}
            if named:
                data = {**data, "blob": blob, "blob_stores": named}
        return data

    @field_validator("data_dir")
    @classmethod
    def _check_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        host, sep, port = value.strip().rpartition(":")
        if not sep or not _HOST_RE.match(host) or not port.isdigit():
            raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:9000)")
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"{value!r}: port must be 1..65535 (e.g. 127.0.0.1:9000)")
        return f"{host}:{int(port)}"

    @field_validator("region", mode="before")
    @classmethod
    def _check_region(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _REGION_RE.match(value):
            raise ValueError(f"{value!r} is not a region name (e.g. us-east-1, or empty for any)")
        return value

    @field_validator("domains", "website_domains", mode="before")
    @classmethod
    def _check_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = [d for d in value.split(",") if d.strip()]
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            raise ValueError(f'{value!r} is not a list of domains (e.g. ["s3.example.com"])')
        out: list[str] = []
        for raw in value:
            domain = raw.strip().strip(".").lower()
            if not _DOMAIN_RE.match(domain):
                raise ValueError(f"{raw!r} is not a domain name (e.g. s3.example.com)")
            out.append(domain)
        return out

    @field_validator("inline_threshold", mode="before")
    @classmethod
    def _check_inline(cls, value: object) -> int:
        n = parse_size(value)
        if not 0 <= n <= 64 * MIB:
            raise ValueError(f"{value!r} is out of range (use 0..64MiB)")
        return n

    @field_validator("block_size", mode="before")
    @classmethod
    def _check_block_size(cls, value: object) -> int:
        n = parse_size(value)
        if not 64 * KIB <= n <= 64 * MIB:
            raise ValueError(f"{value!r} is out of range (use 64KiB..64MiB, e.g. 4MiB)")
        return n

    @field_validator("gc_interval", mode="before")
    @classmethod
    def _check_gc_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (no background collection) or more (e.g. 1h)")

    @field_validator("audit_checkpoint_interval", mode="before")
    @classmethod
    def _check_audit_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (signed heads on demand only) or more (e.g. 5m)")

    @field_validator("lifecycle_day", mode="before")
    @classmethod
    def _check_lifecycle_day(cls, value: object) -> float:
        return _seconds(value, "must be more than 0 (e.g. 1d, or 10s for tests)", allow_zero=False)

    @field_validator("lifecycle_interval", mode="before")
    @classmethod
    def _check_lifecycle_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (no lifecycle runs) or more (e.g. 1h)")

    @field_validator("scrub_interval", mode="before")
    @classmethod
    def _check_scrub_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (no background scrub) or more (e.g. 7d)")

    @field_validator("head_timeout", mode="before")
    @classmethod
    def _check_head_timeout(cls, value: object) -> float:
        return _seconds(value, "must be more than 0 (e.g. 60s)", allow_zero=False)

    @field_validator("workers")
    @classmethod
    def _check_workers(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= MAX_WORKERS:
            raise ValueError(f"{value} is out of range (use 1..{MAX_WORKERS}, e.g. the cores)")
        return value

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _check_clock_offset(cls, value: object) -> float:
        if isinstance(value, str) and value.strip().startswith("-"):
            return -parse_duration(value.strip()[1:])
        return parse_duration(value)

    @field_validator("gc_grace", mode="before")
    @classmethod
    def _check_gc_grace(cls, value: object) -> float:
        return parse_duration(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: object) -> str:
        level = value.strip().lower() if isinstance(value, str) else value
        if level not in _LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level (use one of {', '.join(_LOG_LEVELS)})")
        return str(level)

    @field_validator("notify")
    @classmethod
    def _check_notify(
        cls, value: dict[str, dict[str, dict[str, Any]]]
    ) -> dict[str, dict[str, dict[str, Any]]]:
        for kind, targets in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", kind):
                raise ValueError(f"{kind!r} is not a reporter name (e.g. webhook, log)")
            for name in targets:
                if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
                    raise ValueError(
                        f"{kind}.{name!r} is not a destination name "
                        "(use 1-64 letters, digits, - and _)"
                    )
        return value

    @model_validator(mode="after")
    def _defaults_and_cross_checks(self) -> Config:
        if self.inline_threshold > self.block_size:
            raise ValueError(
                f"inline_threshold: {human_size(self.inline_threshold)} is larger than "
                f"block_size ({human_size(self.block_size)}); lower it or raise block_size"
            )
        both = sorted(set(self.domains) & set(self.website_domains))
        if both:
            raise ValueError(
                f"website_domains: {both[0]} is in domains too; a domain serves either the "
                "S3 API or websites (e.g. s3.example.com and s3-website.example.com)"
            )
        private = [s.use for s in (self.meta, self.blob, *self.blob_stores.values())]
        if self.workers is None:
            self.workers = 1 if "memory" in private else default_workers()
        if self.workers > 1 and "memory" in private:
            raise ValueError(
                f"workers: {self.workers} processes cannot share a memory store; "
                "use workers = 1, or sqlite / postgres and fs stores"
            )
        if self.meta.use == "sqlite":
            self.meta.options.setdefault("path", str(self.data_dir / "meta.sqlite3"))
        if self.blob.use == "fs":
            self.blob.options.setdefault("root", str(self.data_dir / "blocks"))
        if self.audit is None:
            self.audit = PluginSpec(use="memory" if self.meta.use == "memory" else "sqlite")
        if self.audit.use == "sqlite":
            self.audit.options.setdefault("path", str(self.data_dir / "audit.sqlite3"))
        for name, store in self.blob_stores.items():
            if not NAME_RE.fullmatch(name) or name == DEFAULT_BLOB:
                raise ValueError(
                    f"blob.{name}: not a store name (use 1-64 letters, digits, - and _; "
                    f"not {DEFAULT_BLOB!r}, which names the [blob] store)"
                )
            if store.use == "fs":
                store.options.setdefault("root", str(self.data_dir / f"blocks-{name}"))
        check_policies(self.policy, set(self.blob_stores), self.data_dir)
        check_not_shared(self.policies)
        check_storage_classes(self.storage_classes, set(self.policies))
        if self.default_policy not in self.policies:
            raise ValueError(
                f"default_policy: no storage policy {self.default_policy!r} "
                f"(declare [policy.{self.default_policy}], or use one of: "
                f"{', '.join(sorted(self.policies))})"
            )
        for name, options in self.notify.get("webhook", {}).items():
            options.setdefault("outbox", str(self.data_dir / "outbox" / name))
        return self


# -- loading ---------------------------------------------------------------------

AUDIT_OFF = "off"  # `audit = "off"`: no audit log is sealed
# Keys that name a store: `[KEY] use = ..., options = {...}`, or `KEY = "name"`.
STORE_KEYS = ("meta", "blob", "audit")

_ENV_KEYS = {
    "DOLIUM_DATA": "data_dir",
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
    "DOLIUM_DEFAULT_POLICY": "default_policy",
    "DOLIUM_INLINE_THRESHOLD": "inline_threshold",
    "DOLIUM_BLOCK_SIZE": "block_size",
    "DOLIUM_GC_INTERVAL": "gc_interval",
    "DOLIUM_GC_GRACE": "gc_grace",
    "DOLIUM_LIFECYCLE_INTERVAL": "lifecycle_interval",
    "DOLIUM_LIFECYCLE_DAY": "lifecycle_day",
    "DOLIUM_SCRUB_INTERVAL": "scrub_interval",
    "DOLIUM_SCRUB_RATE": "scrub_rate",
    "DOLIUM_HEAD_TIMEOUT": "head_timeout",
    "DOLIUM_WORKERS": "workers",
    "DOLIUM_CLOCK_OFFSET": "clock_offset",
    "DOLIUM_LOG_LEVEL": "log_level",
    "DOLIUM_LOG_FORMAT": "log_format",
    "DOLIUM_ACCESS_LOG": "access_log",
    "DOLIUM_SERVER": "server",
    "DOLIUM_SSE_C_REQUIRE_TLS": "sse_c_require_tls",
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
    try:
        value = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(
            f"config {key}: {text!r} is not a JSON object "
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
