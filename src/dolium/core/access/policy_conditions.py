"""Bucket-policy Condition blocks: the operators, and how they judge a request.

Condition keys are case-insensitive: the policy's are lower-cased when
parsed, and the request's facts must arrive lower-cased. A fact is one
value, except for the keys in MULTI_VALUED, whose values come joined by
MULTI_VALUE_SEPARATOR (`multi_value`): ForAnyValue: holds when one of them
passes, ForAllValues: when all do, a bare operator when any does; a single
value is a set of one (with their rules for a missing key).

Not supported: the check that a condition key applies to the statement's
actions ("Conditions do not apply to combination of actions and resources").
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from dolium.core.access.policy_actions import CONDITION_KEY_PREFIXES, CONDITION_KEYS
from dolium.core.access.policy_json import BAD_CONDITION_KEY, BAD_IP, SYNTAX, MalformedPolicy
from dolium.core.access.policy_patterns import Glob, Patterns

__all__ = [
    "MULTI_VALUED",
    "OPERATORS",
    "Condition",
    "multi_value",
    "parse_conditions",
    "split_arn",
]

_Test = Callable[[str], bool]  # does a request value match any of the policy's values?

# Keys whose fact is a set of values. A tag key holds none of this character.
MULTI_VALUED = frozenset({"s3:requestobjecttagkeys", "aws:tagkeys"})
MULTI_VALUE_SEPARATOR = "\x00"


def multi_value(values: Iterable[str]) -> str:
    """The fact for a multi-valued key holding `values`."""
    return MULTI_VALUE_SEPARATOR.join(values)


_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?", re.ASCII)
_EPOCH_RE = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,9})?", re.ASCII)
_YEAR_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)  # W3C's YYYY-MM


def _number(text: str) -> Decimal | None:
    if len(text) > 64 or not _NUMBER_RE.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _date(text: str) -> Decimal | None:
    """Seconds since the epoch of an ISO 8601 date or of an epoch number."""
    if len(text) > 64:
        return None
    if _EPOCH_RE.fullmatch(text):
        return Decimal(text)
    try:
        if ym := _YEAR_MONTH_RE.fullmatch(text):
            moment = datetime(int(ym[1]), int(ym[2]), 1)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return Decimal(moment.timestamp())
    except (ValueError, OverflowError):
        return None


_Compare = Callable[[Decimal, Decimal], bool]


def _ordered(
    parse: Callable[[str], Decimal | None], compare: _Compare
) -> Callable[[tuple[str, ...]], _Test]:
    def build(values: tuple[str, ...]) -> _Test:
        wanted = tuple(parse(v) for v in values)
        if any(w is None for w in wanted):
            raise MalformedPolicy(SYNTAX)
        limits = tuple(w for w in wanted if w is not None)

        def test(fact: str) -> bool:
            got = parse(fact)
            return got is not None and any(compare(got, limit) for limit in limits)

        return test

    return build


def _string_equals(values: tuple[str, ...]) -> _Test:
    return frozenset(values).__contains__


def _string_equals_ignore_case(values: tuple[str, ...]) -> _Test:
    folded = frozenset(v.casefold() for v in values)
    return lambda fact: fact.casefold() in folded


def _string_like(values: tuple[str, ...]) -> _Test:
    return Patterns(values).match


def _bool(values: tuple[str, ...]) -> _Test:
    lowered = frozenset(v.lower() for v in values)
    return lambda fact: fact.lower() in lowered


def _binary(values: tuple[str, ...]) -> _Test:
    for v in values:
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedPolicy(SYNTAX) from exc
    return _string_equals(values)


def _ip_address(values: tuple[str, ...]) -> _Test:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for v in values:
        try:
            networks.append(ipaddress.ip_network(v.strip(), strict=False))
        except ValueError as exc:
            raise MalformedPolicy(BAD_IP) from exc
    v4 = tuple(n for n in networks if n.version == 4)
    v6 = tuple(n for n in networks if n.version == 6)

    def test(fact: str) -> bool:
        try:
            address = ipaddress.ip_address(fact.strip())
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is None:
                return any(address in n for n in v6)
            address = address.ipv4_mapped  # how a dual-stack socket reports an IPv4 client
        return any(address in n for n in v4)

    return test


def split_arn(text: str) -> list[str]:
    return text.split(":", 5)


def _arn_like(values: tuple[str, ...]) -> _Test:
    # "Each of the six colon-delimited components of the ARN is checked
    # separately": a wildcard does not reach across a colon (but the last
    # component, the resource, may hold colons). ArnEquals is the same.
    compiled = tuple(tuple(Glob(p) for p in split_arn(v)) for v in values)
    compiled = tuple(c for c in compiled if len(c) == 6)

    def test(fact: str) -> bool:
        parts = split_arn(fact)
        return len(parts) == 6 and any(
            all(g.match(p) for g, p in zip(globs, parts, strict=True)) for globs in compiled
        )

    return test


# The comparisons of the Numeric and Date operators: suffix -> (comparison, negated?).
_COMPARISONS: dict[str, tuple[_Compare, bool]] = {
    "Equals": (operator.eq, False),
    "NotEquals": (operator.eq, True),
    "LessThan": (operator.lt, False),
    "LessThanEquals": (operator.le, False),
    "GreaterThan": (operator.gt, False),
    "GreaterThanEquals": (operator.ge, False),
}

# Operator -> (builder of its positive test, negated?). A negated operator
# holds when the value matches none of the policy's values (NOR).
OPERATORS: dict[str, tuple[Callable[[tuple[str, ...]], _Test], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    # NumericEquals ... NumericGreaterThanEquals, DateEquals ... DateGreaterThanEquals
    **{
        family + suffix: (_ordered(parse, compare), negated)
        for family, parse in (("Numeric", _number), ("Date", _date))
        for suffix, (compare, negated) in _COMPARISONS.items()
    },
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip_address, False),
    "NotIpAddress": (_ip_address, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}
_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")
_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class Condition:
    """One key under one operator: `{"StringLike": {"s3:prefix": ["a/*", "b/*"]}}`."""

    operator: str  # as written: "ForAnyValue:StringLikeIfExists"
    base: str  # "StringLike", or "Null"
    key: str  # lower-cased
    values: tuple[str, ...]
    if_exists: bool = False
    qualifier: str = ""  # "", "ForAnyValue" or "ForAllValues"
    negated: bool = False
    test: _Test | None = None  # None for Null

    def holds(self, facts: Mapping[str, str]) -> bool:
        fact = facts.get(self.key)
        if self.test is None:  # Null: "true" asks for an absent key, "false" a present one
            return any((v.lower() == "true") == (fact is None) for v in self.values)
        if fact is None:
            # A missing key fails the test, so a negated operator holds
            # (AWS: "...IfExists and Null" aside; ForAllValues holds on
            # nothing, ForAnyValue fails on nothing).
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            return self.negated and not self.qualifier
        if self.key not in MULTI_VALUED:
            return self.test(fact) != self.negated
        passed = [self.test(v) != self.negated for v in fact.split(MULTI_VALUE_SEPARATOR)]
        return all(passed) if self.qualifier == "ForAllValues" else any(passed)


def _parse_operator(name: str) -> tuple[str, str, bool]:
    """(qualifier, base operator, IfExists) or MalformedPolicy."""
    qualifier, rest = "", name
    for prefix in _QUALIFIERS:
        if name.startswith(prefix):
            qualifier, rest = prefix[:-1], name[len(prefix) :]
    stripped = rest.removesuffix(_IF_EXISTS)
    if_exists = stripped != rest and stripped in OPERATORS
    base = stripped if if_exists else rest
    if base not in OPERATORS and base != "Null":
        raise MalformedPolicy(f"Invalid Condition type : {name}")
    return qualifier, base, if_exists


def _valid_condition_key(key: str) -> bool:
    return key in CONDITION_KEYS or any(
        key.startswith(p) and len(key) > len(p) for p in CONDITION_KEY_PREFIXES
    )


def _condition_values(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str):  # strings and numbers (kept as their JSON text)
            values.append(str(item))
        else:
            raise MalformedPolicy(SYNTAX)
    return tuple(values)


def parse_conditions(raw: object) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise MalformedPolicy(SYNTAX)
    conditions: list[Condition] = []
    for name, keys in raw.items():
        qualifier, base, if_exists = _parse_operator(name)
        if not isinstance(keys, dict):
            raise MalformedPolicy(SYNTAX)
        for key, value in keys.items():
            lowered = key.lower()
            if not _valid_condition_key(lowered):
                raise MalformedPolicy(BAD_CONDITION_KEY)
            values = _condition_values(value)
            if base == "Null":
                conditions.append(Condition(name, base, lowered, values, qualifier=qualifier))
                continue
            build, negated = OPERATORS[base]
            conditions.append(
                Condition(name, base, lowered, values, if_exists, qualifier, negated, build(values))
            )
    return tuple(conditions)
