"""Storage policies in the configuration: which stack of modules over which stores.

    [blob.d1]
    use = "fs"
    options = { root = "/srv/dolium/d1" }        # d2, d3 alike

    [policy.archive]                               # first listed = outermost
    modules = ["compress", "encrypt", { use = "replicate", stores = ["d1", "d2", "d3"] }]

    [policy.fast]
    modules = [{ use = "cache", max_bytes = "2GiB" }]
    blob = "d1"                                    # the store under the innermost module

    [policy.plain]
    blob = "d2"                                    # no modules: the store itself

A module entry is its name, or a table with `use`, its options (the other
keys, passed to the module's `open`), and, for the innermost module only,
`stores`: the block stores it spreads blocks over (replicate, erasure). An
innermost module without `stores` wraps the policy's `blob` (default: the
[blob] store, named "default"). Defaults filled in here: `encrypt` keeps
its keyring in DATA/encrypt-keyring.json, `cache` its copies in
DATA/cache-POLICY.

`storage_classes` maps the S3 storage classes a PUT may name
(x-amz-storage-class) to policies; see docs/storage-policies.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The name of the [blob] store itself, for a policy that wants it.
DEFAULT_BLOB = "default"
STANDARD_POLICY = "standard"
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USE_RE = re.compile(r"[A-Za-z0-9_.-]+")
_STORAGE_CLASS_RE = re.compile(r"[A-Z0-9_]{1,64}")


class ModuleSpec(BaseModel):
    """One module of a policy's stack: its name, options, and (innermost) its stores."""

    model_config = ConfigDict(extra="forbid")

    use: str
    stores: list[str] | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_options(cls, data: object) -> object:
        # `"compress"` is `{ use = "compress" }`; keys other than use and stores are options.
        if isinstance(data, str):
            return {"use": data}
        if isinstance(data, dict):
            own = {k: data[k] for k in ("use", "stores") if k in data}
            given = data.get("options", {})
            if not isinstance(given, dict):
                raise ValueError(f"options: {given!r} is not a table (or give options as keys)")
            options = dict(given)
            options.update({k: v for k, v in data.items() if k not in ("use", "stores", "options")})
            return {**own, "options": options}
        return data

    @model_validator(mode="after")
    def _check_use(self) -> ModuleSpec:
        if not _USE_RE.fullmatch(self.use):
            raise ValueError(f"{self.use!r} is not a module name (e.g. compress, encrypt)")
        return self


class PolicySpec(BaseModel):
    """A storage policy: modules (outermost first) over the store(s) they name."""

    model_config = ConfigDict(extra="forbid")

    blob: str | None = None
    modules: list[ModuleSpec] = Field(default_factory=list)

    @property
    def base_stores(self) -> list[str]:
        """The block stores under the stack (resolved by `check_policies`)."""
        if self.modules and self.modules[-1].stores is not None:
            return list(self.modules[-1].stores)
        return [self.blob or DEFAULT_BLOB]


def check_policies(
    policies: dict[str, PolicySpec], stores: set[str], data_dir: Path, secrets: Path
) -> dict[str, PolicySpec]:
    """Resolve defaults and check every name; a ValueError names the key at fault."""
    for name, spec in policies.items():
        key = f"policy.{name}"
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"{key}: not a policy name (use 1-64 letters, digits, - and _)")
        for i, module in enumerate(spec.modules):
            innermost = i == len(spec.modules) - 1
            if module.stores is not None and not innermost:
                raise ValueError(
                    f"{key}.modules: only the last (innermost) module may name stores, "
                    f"not {module.use!r}"
                )
            if module.stores is not None and spec.blob is not None:
                raise ValueError(
                    f"{key}.blob: the innermost module names its stores; drop blob "
                    "or the module's stores"
                )
            if module.use == "encrypt":
                module.options.setdefault("keyring", str(secrets / "encrypt-keyring.json"))
            if module.use == "cache":
                module.options.setdefault("root", str(data_dir / f"cache-{name}"))
        if not spec.modules or spec.modules[-1].stores is None:
            spec.blob = spec.blob or DEFAULT_BLOB
        for store in spec.base_stores:
            if store != DEFAULT_BLOB and store not in stores:
                known = ", ".join([DEFAULT_BLOB, *sorted(stores)])
                where = "blob" if spec.blob else "modules"
                raise ValueError(
                    f"{key}.{where}: no block store {store!r} "
                    f"(declare [blob.{store}], or use one of: {known})"
                )
    return policies


def check_not_shared(policies: dict[str, PolicySpec]) -> None:
    """A store under modules belongs to its policy alone.

    Modules change what is stored under a block's name (compressed, sealed,
    framed) and the collector frees a policy's blocks by name, so a second
    policy over the same store would read blocks it cannot decode, and free
    blocks the other still uses.
    """
    users: dict[str, list[str]] = {}
    for name, spec in policies.items():
        for store in spec.base_stores:
            users.setdefault(store, []).append(name)
    for store, names in users.items():
        stacked = [n for n in names if policies[n].modules]
        if stacked and len(names) > 1:
            raise ValueError(
                f"policy.{stacked[0]}: block store {store!r} is also used by policy "
                f"{next(n for n in names if n != stacked[0])!r}; a store under modules "
                "belongs to one policy (declare another [blob.NAME])"
            )


def check_s3_locations(stores: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Each `s3` block store writes to keys of its own: a bucket or a prefix no other has.

    `stores` maps a config key (`blob`, `blob.NAME`) to the store's use and
    options. A block's object is named by its digest alone, so two stores on
    one bucket and prefix would hold each other's blocks, and the collector of
    one would delete blocks the other still uses.
    """
    seen: dict[tuple[str, str, str], str] = {}
    for key, (use, options) in stores.items():
        if use != "s3":
            continue
        where = (
            str(options.get("endpoint", "")).rstrip("/"),
            str(options.get("bucket", "")),
            str(options.get("prefix", "")),
        )
        if where in seen:
            raise ValueError(
                f"{key}: the same bucket ({where[1]!r}) and prefix ({where[2]!r}) as "
                f"{seen[where]}; give each s3 store a prefix of its own"
            )
        seen[where] = key


def check_storage_classes(classes: dict[str, str], policies: set[str]) -> dict[str, str]:
    for storage_class, policy in classes.items():
        if not _STORAGE_CLASS_RE.fullmatch(storage_class):
            raise ValueError(
                f"storage_classes.{storage_class}: not an S3 storage class name "
                "(e.g. STANDARD_IA, GLACIER)"
            )
        if policy not in policies:
            raise ValueError(
                f"storage_classes.{storage_class}: no storage policy {policy!r} "
                f"(use one of: {', '.join(sorted(policies))})"
            )
    return classes
