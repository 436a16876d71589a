"""Load stores by entry-point name, as the configuration chooses them.

A store is a class registered in the `dolium.meta` or `dolium.blob` group
with an async classmethod `open(**options)`; a third-party package adds one
by declaring the entry point. A storage module is registered in the
`dolium.module` group, and its `open(stores, **options)` also gets the
block stores it wraps (see dolium.modules). Options are checked against the signature of
`open` before the call, so a misspelt option is a one-line `ConfigError`
rather than a `TypeError` from inside the store.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from dolium.config import Config, PluginSpec
from dolium.config_policies import DEFAULT_BLOB, ModuleSpec
from dolium.errors import ConfigError
from dolium.protocols import BlobStore, MetaStore
from dolium.protocols.audit import AuditStore
from dolium.protocols.events import Reporter
from dolium.protocols.keys import KeyStore
from dolium.protocols.kms import KeyService

META_GROUP = "dolium.meta"
BLOB_GROUP = "dolium.blob"
MODULE_GROUP = "dolium.module"
REPORTER_GROUP = "dolium.reporter"
AUDIT_GROUP = "dolium.audit"
KMS_GROUP = "dolium.kms"
KEYS_GROUP = "dolium.keys"


def installed(group: str) -> list[str]:
    """Names of the stores installed in an entry-point group, sorted."""
    return sorted(entry_points(group=group).names)


def load_class(group: str, key: str, name: str, what: str = "store") -> Any:
    """The class registered as `name` in `group`; `key` names the config key in errors."""
    eps = entry_points(group=group)
    if name not in eps.names:
        raise ConfigError(f"config {key}: unknown {what} {name!r}; installed: {sorted(eps.names)}")
    try:
        return eps[name].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"config {key}: {what} {name!r} cannot be loaded ({exc}); reinstall its package"
        ) from exc


async def open_store(group: str, key: str, spec: PluginSpec) -> Any:
    cls = load_class(group, f"{key}.use", spec.use)
    opener = getattr(cls, "open", None)
    if opener is None:
        raise ConfigError(f"config {key}.use: store {spec.use!r} has no open() classmethod")
    _check_options(opener, key, spec)
    return await opener(**spec.options)


def _check_options(
    opener: Any,
    key: str,
    spec: PluginSpec,
    options_key: str | None = None,
    given: Mapping[str, Any] | None = None,
    what: str = "store",
) -> None:
    """Refuse options `opener` does not take; `options_key` names them in errors.

    `given` are keyword arguments the caller adds, not options (a module's stores).
    """
    given = given or {}
    where = options_key or f"{key}.options"
    try:
        sig = inspect.signature(opener)
    except (TypeError, ValueError):  # no introspectable signature: let open() decide
        return
    params = [p for p in sig.parameters.values() if p.name not in given]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    for option in spec.options:
        if option not in accepted:
            hint = f"accepted: {', '.join(accepted)}" if accepted else "it takes no options"
            raise ConfigError(
                f"config {where}.{option}: unknown option for {what} {spec.use!r} ({hint})"
            )
    try:
        sig.bind(**given, **spec.options)
    except TypeError as exc:
        missing = [
            p.name
            for p in params
            if p.default is inspect.Parameter.empty
            and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            and p.name not in spec.options
        ]
        problem = f"option {missing[0]!r} is required" if missing else str(exc)
        raise ConfigError(f"config {where}: {problem} by {what} {spec.use!r}") from exc


async def open_meta(config: Config) -> MetaStore:
    """Open the meta store named by `config.meta`."""
    return cast(MetaStore, await open_store(META_GROUP, "meta", config.meta))


async def open_audit(config: Config) -> AuditStore:
    """Open the audit store named by `config.audit`."""
    assert config.audit is not None, "resolved by the config's validation"
    return cast(AuditStore, await open_store(AUDIT_GROUP, "audit", config.audit))


async def open_blob(config: Config) -> BlobStore:
    """Open the blob store named by `config.blob`."""
    return cast(BlobStore, await open_store(BLOB_GROUP, "blob", config.blob))


async def open_module(key: str, spec: ModuleSpec, stores: list[BlobStore]) -> BlobStore:
    """Open module `spec` over `stores`; `key` names its place in the config in errors."""
    cls = load_class(MODULE_GROUP, f"{key}.use", spec.use, what="module")
    opener = getattr(cls, "open", None)
    if opener is None:
        raise ConfigError(f"config {key}.use: module {spec.use!r} has no open() classmethod")
    plugin = PluginSpec(use=spec.use, options=spec.options)
    given = {"stores": stores}
    _check_options(opener, key, plugin, options_key=key, given=given, what="module")
    try:
        return cast(BlobStore, await opener(**given, **spec.options))
    except ConfigError as exc:
        raise ConfigError(f"config {key}: {exc.message}") from exc


async def open_policies(config: Config) -> dict[str, BlobStore]:
    """Open the block store (or module stack) of every storage policy, by policy name.

    Each declared store is opened once, however many policies name it; a
    policy's modules are opened innermost first, each over what is below it,
    and a module closes what it wraps. If anything fails to open, what is
    already open is closed again (closing twice does nothing).
    """
    policies = config.policies
    needed = {s for spec in policies.values() for s in spec.base_stores}
    opened: list[BlobStore] = []
    stores: dict[str, BlobStore] = {}
    tops: dict[str, BlobStore] = {}
    try:
        for name in (DEFAULT_BLOB, *config.blob_stores):
            if name in needed:
                if name == DEFAULT_BLOB:
                    stores[name] = await open_blob(config)
                else:
                    store_spec = config.blob_stores[name]
                    opened_store = await open_store(BLOB_GROUP, f"blob.{name}", store_spec)
                    stores[name] = cast(BlobStore, opened_store)
                opened.append(stores[name])
        for policy, spec in policies.items():
            below = [stores[name] for name in spec.base_stores]
            for i in reversed(range(len(spec.modules))):
                module = await open_module(f"policy.{policy}.modules[{i}]", spec.modules[i], below)
                opened.append(module)
                below = [module]
            tops[policy] = below[0]
    except BaseException:
        for store in reversed(opened):
            await store.close()
        raise
    return tops


def reporter_arn(kind: str, name: str) -> str:
    """The ARN a bucket's notification configuration names destination `name` with."""
    return f"arn:dolium:{kind}::{name}"


async def open_reporters(config: Config) -> dict[str, Reporter]:
    """Open the event destinations of `config.notify`, by their ARN.

    If one fails to open, those already open are closed again.
    """
    reporters: dict[str, Reporter] = {}
    try:
        for kind, targets in config.notify.items():
            cls = load_class(REPORTER_GROUP, f"notify.{kind}", kind)
            opener = getattr(cls, "open", None)
            if opener is None:
                raise ConfigError(f"config notify.{kind}: reporter {kind!r} has no open()")
            for name, options in targets.items():
                key = f"notify.{kind}.{name}"
                spec = PluginSpec(use=kind, options=options)
                _check_options(opener, key, spec, options_key=key)
                try:
                    reporter = await opener(**options)
                except ConfigError as exc:
                    raise ConfigError(f"config {key}: {exc.message}") from exc
                reporters[reporter_arn(kind, name)] = cast(Reporter, reporter)
    except BaseException:
        for reporter in reporters.values():
            await reporter.close()
        raise
    return reporters


async def open_key_service(config: Config) -> KeyService:
    """The SSE-KMS key service `[kms] use` names; its `open` also gets the data directory."""
    spec = config.kms
    cls = load_class(KMS_GROUP, "kms.use", spec.use, "key service")
    opener = getattr(cls, "open", None)
    if opener is None:
        raise ConfigError(f"config kms.use: key service {spec.use!r} has no open() classmethod")
    given = {"data_dir": config.secrets}
    _check_options(opener, "kms", spec, given=given, what="key service")
    return cast(KeyService, await opener(**given, **spec.options))


async def open_keys(config: Config, meta: MetaStore) -> KeyStore:
    """The key store `[keys] use` names; its `open` also gets the meta store if it
    takes a `meta` argument (the `meta` key store does)."""
    spec = config.keys
    cls = load_class(KEYS_GROUP, "keys.use", spec.use, "key store")
    opener = getattr(cls, "open", None)
    if opener is None:
        raise ConfigError(f"config keys.use: key store {spec.use!r} has no open() classmethod")
    try:
        takes_meta = "meta" in inspect.signature(opener).parameters
    except (TypeError, ValueError):
        takes_meta = False
    given: dict[str, Any] = {"meta": meta} if takes_meta else {}
    _check_options(opener, "keys", spec, given=given, what="key store")
    return cast(KeyStore, await opener(**given, **spec.options))


async def check_keys(config: Config) -> None:
    """Open the key store once and close it: a bad `[keys]` (an unknown store, a
    key file that does not read, a URL that is not one) is then a one-line
    error when the server starts, not in each worker."""
    meta = await open_meta(config)
    try:
        keys = await open_keys(config, meta)
        await keys.close()
    finally:
        await meta.close()
