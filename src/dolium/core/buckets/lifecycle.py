"""Bucket lifecycle configuration: the rules, kept in `Bucket.configs["lifecycle"]`.

Actions a rule may name: expiry of current versions (after a number of days
or at a date), removal of noncurrent versions (after a number of days,
keeping a number of newer ones), removal of expired object delete markers,
and aborting incomplete multipart uploads. Rules with transitions to another
storage class are refused with NotSupported: Dolium keeps every object in
one storage class.

This module knows no HTTP and no XML, and never touches objects: applying the
rules to a bucket is `dolium.core.jobs.lifecycle`'s. What a configuration must
hold to be accepted is its front end's to say (the `approve` hook of
`Lifecycle.put`; for S3, `frontends/s3/rules/lifecycle.py`): applying rules
needs no check of its own.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import NotSupported
from dolium.model import Bucket, Principal

CONFIG = "lifecycle"
DAY = 86400

# The front end's own checks of a configuration's rules; raises to refuse.
Approve = Callable[[Sequence["Rule"]], None]


# --------------------------------------------------------------------------- model


class FilterKind(enum.StrEnum):
    """What a filter tests; ALL applies to every object. The values are stored
    (they are S3's element names, which the first stored configurations used)."""

    ALL = ""
    PREFIX = "Prefix"
    TAG = "Tag"
    GREATER = "ObjectSizeGreaterThan"
    LESS = "ObjectSizeLessThan"
    AND = "And"


@dataclass(frozen=True, slots=True)
class Filter:
    kind: FilterKind = FilterKind.ALL
    prefix: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    size_greater: int | None = None
    size_less: int | None = None

    @property
    def key_prefix(self) -> str:
        return self.prefix or ""

    @property
    def has_sizes(self) -> bool:
        return self.size_greater is not None or self.size_less is not None

    def matches(self, key: str, tags: Mapping[str, str], size: int) -> bool:
        return (
            key.startswith(self.key_prefix)
            and all(tags.get(k) == v for k, v in self.tags)
            and (self.size_greater is None or size > self.size_greater)
            and (self.size_less is None or size < self.size_less)
        )


@dataclass(frozen=True, slots=True)
class Expiration:
    """At most one of the three once the front end checked it; expiry counts
    `days` first, then `date`."""

    days: int | None = None
    date: float | None = None  # epoch seconds, a midnight UTC
    expired_object_delete_marker: bool | None = None


@dataclass(frozen=True, slots=True)
class NoncurrentExpiration:
    days: int | None = None
    newer_versions: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A move to another storage class (of noncurrent versions when `noncurrent`):
    refused once the front end's checks pass."""

    storage_class: str
    days: int | None = None
    date: float | None = None
    newer_versions: int | None = None
    noncurrent: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    id: str | None
    enabled: bool
    # A key prefix of the rule itself (an older form of rule) or a filter.
    prefix: str | None = None
    filter: Filter | None = None
    expiration: Expiration | None = None
    noncurrent: NoncurrentExpiration | None = None
    abort_days: int | None = None  # days after an upload was started to abort it
    transitions: tuple[Transition, ...] = ()

    @property
    def scope(self) -> Filter:
        if self.filter is not None:
            return self.filter
        return Filter(FilterKind.PREFIX, prefix=self.prefix or "")


# --------------------------------------------------------------------------- refusal


def refuse_unsupported(rules: Sequence[Rule]) -> None:
    """NotSupported for rules with transitions: Dolium keeps every object in one
    storage class, so it could never apply them."""
    if any(rule.transitions for rule in rules):
        raise NotSupported(
            "Transition actions are not implemented: Dolium keeps every object in one storage class"
        )


# --------------------------------------------------------------------------- storage


def to_json(rules: Sequence[Rule]) -> str:
    return json.dumps([_rule_json(r) for r in rules], separators=(",", ":"))


def _rule_json(rule: Rule) -> dict[str, object]:
    out: dict[str, object] = {"id": rule.id, "enabled": rule.enabled}
    if rule.prefix is not None:
        out["prefix"] = rule.prefix
    if rule.filter is not None:
        f = rule.filter
        out["filter"] = {
            "kind": f.kind.value,
            "prefix": f.prefix,
            "tags": [list(t) for t in f.tags],
            "gt": f.size_greater,
            "lt": f.size_less,
        }
    if rule.expiration is not None:
        e = rule.expiration
        out["expiration"] = {
            "days": e.days,
            "date": e.date,
            "marker": e.expired_object_delete_marker,
        }
    if rule.noncurrent is not None:
        out["noncurrent"] = {
            "days": rule.noncurrent.days,
            "newer": rule.noncurrent.newer_versions,
        }
    if rule.abort_days is not None:
        out["abort"] = rule.abort_days
    return out


@lru_cache(maxsize=256)
def from_json(text: str) -> tuple[Rule, ...]:
    return tuple(_rule_from(item) for item in json.loads(text))


def _rule_from(item: dict[str, Any]) -> Rule:
    f, e, n = item.get("filter"), item.get("expiration"), item.get("noncurrent")
    return Rule(
        id=item["id"],
        enabled=item["enabled"],
        prefix=item.get("prefix"),
        filter=None
        if f is None
        else Filter(
            FilterKind(f["kind"]),
            f["prefix"],
            tuple((k, v) for k, v in f["tags"]),
            f["gt"],
            f["lt"],
        ),
        expiration=None if e is None else Expiration(e["days"], e["date"], e["marker"]),
        noncurrent=None if n is None else NoncurrentExpiration(n["days"], n["newer"]),
        abort_days=item.get("abort"),
    )


def bucket_rules(bucket: Bucket) -> tuple[Rule, ...] | None:
    """The bucket's lifecycle rules, None when it has no configuration."""
    text = bucket.configs.get(CONFIG)
    return from_json(text) if text is not None else None


class Lifecycle:
    """GetBucketLifecycleConfiguration, PutBucketLifecycleConfiguration, DeleteBucketLifecycle."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, principal: Principal, bucket: str) -> tuple[Rule, ...] | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.LIFECYCLE
        )
        return bucket_rules(found)

    async def put(
        self,
        principal: Principal,
        bucket: str,
        rules: Sequence[Rule],
        *,
        approve: Approve | None = None,
    ) -> None:
        """Replace the configuration; `approve` is the front end's check of the
        rules, run once the caller is allowed and before transitions are refused."""
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.LIFECYCLE)
        if approve is not None:
            approve(rules)
        refuse_unsupported(rules)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, to_json(rules), actor=principal.actor)

    async def delete(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.LIFECYCLE)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, None, actor=principal.actor)
