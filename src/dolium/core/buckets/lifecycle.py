"""Bucket lifecycle configuration: the rules of PutBucketLifecycleConfiguration,
checked as S3 checks them and kept in `Bucket.configs["lifecycle"]`.

Actions a rule may name: expiry of current versions (Days or Date), removal
of noncurrent versions (NoncurrentDays, keeping NewerNoncurrentVersions),
removal of expired object delete markers, and aborting incomplete multipart
uploads. Transitions are checked and then refused with NotSupported: Dolium
keeps every object in one storage class.

This module knows no HTTP and no XML, and never touches objects: applying the
rules to a bucket is `dolium.core.jobs.lifecycle`'s.
"""

from __future__ import annotations

import base64
import enum
import itertools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import InvalidArgument, InvalidRequest, MalformedConfiguration, NotSupported
from dolium.model import Bucket, Principal

CONFIG = "lifecycle"
MAX_RULES = 1000
MAX_ID_LENGTH = 255
DAY = 86400
# The largest size a filter may name, as S3 bounds it (1000 TiB).
MAX_FILTER_SIZE = 1_099_511_627_776_000
STORAGE_CLASSES = frozenset(
    {"GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR"}
)


def _malformed(what: str) -> MalformedConfiguration:
    return MalformedConfiguration(f"A lifecycle configuration {what}.")


# --------------------------------------------------------------------------- model


class FilterKind(enum.StrEnum):
    """Which element a <Filter> held; an empty <Filter/> applies to every object."""

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
    """At most one of the three, once checked (none given is refused)."""

    days: int | None = None
    date: float | None = None  # epoch seconds, a midnight UTC
    expired_object_delete_marker: bool | None = None


@dataclass(frozen=True, slots=True)
class NoncurrentExpiration:
    days: int | None = None
    newer_versions: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A Transition or NoncurrentVersionTransition: checked, then refused."""

    storage_class: str
    days: int | None = None
    date: float | None = None
    newer_versions: int | None = None
    noncurrent: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    id: str | None
    enabled: bool
    # The rule's own <Prefix>, the form before "Lifecycle V2", or a <Filter>.
    prefix: str | None = None
    filter: Filter | None = None
    expiration: Expiration | None = None
    noncurrent: NoncurrentExpiration | None = None
    abort_days: int | None = None  # AbortIncompleteMultipartUpload/DaysAfterInitiation
    transitions: tuple[Transition, ...] = ()

    @property
    def scope(self) -> Filter:
        if self.filter is not None:
            return self.filter
        return Filter(FilterKind.PREFIX, prefix=self.prefix or "")


# --------------------------------------------------------------------------- validation


def validate(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """The rules as stored, each with an ID; raise the error S3 gives otherwise.

    The first rule decides the form: with a <Filter> the configuration is
    "Lifecycle V2", and no rule may then use the older rule-level <Prefix>
    (nor the reverse). Transitions are refused last, so a configuration S3
    would refuse for another reason gets S3's answer.
    """
    if not rules:
        raise _malformed("needs at least one rule")
    if len(rules) > MAX_RULES:
        raise InvalidRequest(
            f"The number of lifecycle rules must not exceed the allowed limit of {MAX_RULES} rules."
        )
    seen: set[str] = set()
    for rule in rules:
        if rule.id:
            if len(rule.id) > MAX_ID_LENGTH:
                raise InvalidArgument(
                    "ID length should not exceed allowed limit of 255", argument_name="ID"
                )
            if rule.id in seen:
                raise InvalidArgument(
                    "Rule ID must be unique. Found same ID for more than one rule",
                    argument_name="ID",
                    argument_value=rule.id,
                )
            seen.add(rule.id)
    v2 = rules[0].filter is not None
    for rule in rules:
        _check_rule(rule, v2)
    if not v2:
        _check_overlaps(rules)
    if any(rule.transitions for rule in rules):
        raise NotSupported(
            "Transition actions are not implemented: Dolium keeps every object in one storage class"
        )
    return tuple(rule if rule.id else replace(rule, id=_new_id()) for rule in rules)


def _new_id() -> str:
    # S3 names a rule given no ID with a base64 string of this shape.
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def _positive(value: int | None, message: str, name: str) -> None:
    if value is not None and value <= 0:
        raise InvalidArgument(message, argument_name=name, argument_value=str(value))


def _check_rule(rule: Rule, v2: bool) -> None:
    if rule.prefix is None and rule.filter is None:
        raise _malformed("rule needs a prefix or a filter")
    if v2 and rule.prefix is not None:
        raise InvalidRequest(
            "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported "
            "in the Filter."
        )
    if not v2 and rule.filter is not None:
        raise InvalidRequest("Filter element can only be used in Lifecycle V2.")
    scope = rule.scope
    _check_filter(scope)
    if not (rule.expiration or rule.noncurrent or rule.abort_days is not None or rule.transitions):
        raise InvalidRequest("At least one action needs to be specified in a rule")
    exp = rule.expiration
    if exp is not None:
        given = [x for x in (exp.days, exp.date, exp.expired_object_delete_marker) if x is not None]
        if len(given) != 1:
            raise _malformed("expiration needs exactly one of days, date or expired delete markers")
        _positive(exp.days, "'Days' for Expiration action must be a positive integer", "Days")
        if exp.date is not None and exp.date % DAY:
            raise InvalidArgument("'Date' must be at midnight GMT", argument_name="Date")
        if exp.expired_object_delete_marker is not None:
            if scope.tags:
                raise InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
            if scope.has_sizes:
                raise InvalidRequest(
                    "ExpiredObjectDeleteMarker cannot be specified with Object Size."
                )
    nc = rule.noncurrent
    if nc is not None:
        if nc.days is None:
            raise _malformed("noncurrent version expiration needs its days")
        _positive(
            nc.days,
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
            "NoncurrentDays",
        )
        _check_newer(nc.newer_versions, v2)
    if rule.abort_days is not None:
        _positive(
            rule.abort_days,
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a "
            "positive integer",
            "DaysAfterInitiation",
        )
        if scope.tags:
            raise InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        if scope.has_sizes:
            raise InvalidRequest(
                "AbortIncompleteMultipartUpload cannot be specified with Object Size."
            )
    for transition in rule.transitions:
        _check_transition(transition, v2)


def _check_newer(newer: int | None, v2: bool) -> None:
    if newer is None:
        return
    if not v2:
        raise InvalidRequest("NewerNoncurrentVersions element can only be used in Lifecycle V2.")
    _positive(
        newer, "'NewerNoncurrentVersions' must be a positive integer", "NewerNoncurrentVersions"
    )


def _check_filter(scope: Filter) -> None:
    keys = [k for k, _ in scope.tags]
    if any(not k for k in keys):
        raise _malformed("filter's tags need keys")
    if len(set(keys)) != len(keys):
        raise InvalidRequest("Duplicate Tag Keys are not allowed.")
    greater, less = scope.size_greater, scope.size_less
    if greater is not None and not 0 <= greater <= MAX_FILTER_SIZE:
        raise InvalidRequest(f"'ObjectSizeGreaterThan' should be between 0 and {MAX_FILTER_SIZE}.")
    if less is not None and not 1 <= less <= MAX_FILTER_SIZE:
        raise InvalidRequest(f"'ObjectSizeLessThan' should be between 1 and {MAX_FILTER_SIZE}.")
    if greater is not None and less is not None and less <= greater:
        raise InvalidRequest(
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'."
        )


def _check_transition(transition: Transition, v2: bool) -> None:
    if transition.storage_class not in STORAGE_CLASSES:
        raise _malformed("transition names an unknown storage class")
    if transition.noncurrent:
        if transition.days is None or transition.date is not None:
            raise _malformed("noncurrent version transition needs days and no date")
        _check_newer(transition.newer_versions, v2)
    elif (transition.days is None) == (transition.date is None):
        raise _malformed("transition needs exactly one of days or date")
    if transition.days is not None and transition.days < 0:
        raise InvalidArgument(
            "'Days' in Transition action must be nonnegative", argument_name="Days"
        )
    if transition.date is not None and transition.date % DAY:
        raise InvalidArgument("'Date' must be at midnight GMT", argument_name="Date")


def _check_overlaps(rules: Sequence[Rule]) -> None:
    """Before Lifecycle V2, rules whose prefixes overlap may not share an action type."""
    kinds: dict[str, Callable[[Rule], bool]] = {
        "Expiration": lambda r: r.expiration is not None,
        "NoncurrentVersionExpiration": lambda r: r.noncurrent is not None,
        "AbortIncompleteMultipartUpload": lambda r: r.abort_days is not None,
    }
    for kind, takes in kinds.items():
        prefixes = sorted(r.prefix or "" for r in rules if takes(r))
        # Sorted, a prefix that begins any later one begins its neighbour.
        for a, b in itertools.pairwise(prefixes):
            if b.startswith(a):
                raise InvalidRequest(
                    f"Found overlapping prefixes '{a}' and '{b}' for same action type '{kind}'"
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

    async def put(self, principal: Principal, bucket: str, rules: Sequence[Rule]) -> None:
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.LIFECYCLE)
        checked = validate(rules)
        await self.ctx.meta.set_bucket_config(
            bucket, CONFIG, to_json(checked), actor=principal.actor
        )

    async def delete(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.LIFECYCLE)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, None, actor=principal.actor)
