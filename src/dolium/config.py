"""Configuration: a TOML file, then `DOLIUM_*` environment variables, then flags.

Each layer overrides the one before it, key by key. Every value is checked
here, and a bad one becomes a `ConfigError` of one line that names the key,
says where the value came from and how to fix it; unknown keys are errors.

The environment variables and the loading of the layers are in
dolium.config_load.

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

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dolium.config_policies import (
    DEFAULT_BLOB,
    NAME_RE,
    STANDARD_POLICY,
    PolicySpec,
    check_not_shared,
    check_policies,
    check_s3_locations,
    check_storage_classes,
)
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
    # Where the secrets that every server of one deployment must share are
    # kept: SSE-S3 and SSE-KMS keyrings, the encrypt module's keys, the Swift
    # token secret, the audit log's signing key, the root credentials.
    # Default: the data directory. Servers on several machines sharing one
    # meta store point it at one shared directory (docs/deploy.md).
    secrets_dir: Path | None = None
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
    # Where access keys are looked up: a `dolium.keys` entry point (meta, the
    # default: keys kept in the meta store; file; http) and its options.
    keys: PluginSpec = Field(default_factory=lambda: PluginSpec(use="meta"))
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
    # How often buckets' server access logs are written to their target
    # buckets (S3 server access logging); 0 = never.
    bucket_log_interval: float = 300.0
    # Testing aid: seconds in the "day" of lifecycle rules (Days: 1 expires an
    # object this long after it was written, rounded up to a multiple of it),
    # as Ceph's rgw_lc_debug_interval, so lifecycle can be tested end to end
    # in seconds. Leave it 86400 in production.
    lifecycle_day: float = 86400.0
    # How long the jobs lease lasts unless its holder renews it (it renews
    # every third of it); a holder that died is replaced within 4/3 of it.
    jobs_lease: float = 15.0
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
    # Refuse SSE-KMS writes over plain HTTP, as S3 does; same caveats.
    sse_kms_require_tls: bool = True
    # The SSE-KMS key service: a `dolium.kms` entry point and its options.
    kms: PluginSpec = Field(default_factory=lambda: PluginSpec(use="local"))
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

    @field_validator("secrets_dir")
    @classmethod
    def _check_secrets_dir(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().absolute()

    @property
    def secrets(self) -> Path:
        """The directory of the shared secrets (`secrets_dir`, or the data directory)."""
        return self.secrets_dir or self.data_dir

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

    @field_validator("bucket_log_interval", mode="before")
    @classmethod
    def _check_bucket_log_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (access logs never delivered) or more (e.g. 5m)")

    @field_validator("scrub_interval", mode="before")
    @classmethod
    def _check_scrub_interval(cls, value: object) -> float:
        return _seconds(value, "must be 0 (no background scrub) or more (e.g. 7d)")

    @field_validator("jobs_lease", mode="before")
    @classmethod
    def _check_jobs_lease(cls, value: object) -> float:
        return _seconds(value, "must be more than 0 (e.g. 15s)", allow_zero=False)

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
            self.audit = _default_audit(self.meta)
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
        check_s3_locations(
            {
                "blob": (self.blob.use, self.blob.options),
                **{f"blob.{n}": (b.use, b.options) for n, b in self.blob_stores.items()},
            }
        )
        check_policies(self.policy, set(self.blob_stores), self.data_dir, self.secrets)
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


def _default_audit(meta: PluginSpec) -> PluginSpec:
    """The audit store when none is chosen: beside the metadata. A PostgreSQL
    meta store's servers may run on several machines and take turns sealing
    (the jobs lease), so the log must be in the database they share."""
    if meta.use == "postgres" and "dsn" in meta.options:
        return PluginSpec(use="postgres", options={"dsn": meta.options["dsn"]})
    return PluginSpec(use="memory" if meta.use == "memory" else "sqlite")


AUDIT_OFF = "off"  # `audit = "off"`: no audit log is sealed
