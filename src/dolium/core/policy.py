"""S3 bucket policies: the JSON access-policy language, parsed and evaluated as AWS does.

`parse_policy` validates a PutBucketPolicy document for one bucket and
compiles it; every fault is a `MalformedPolicy` carrying the message S3
answers (the front end sends it as 400 MalformedPolicy). `evaluate` then
judges one request: an explicit Deny in any matching statement wins, else any
matching Allow, else NONE (the policy says nothing). `parsed` caches the
compiled form by text, since it runs on every request to a bucket with a
policy.

Dolium's tenants play AWS accounts: the account id in a principal ARN is the
tenant name, so `{"AWS": "t1"}` and `arn:aws:iam::t1:root` name every user of
tenant t1, `arn:aws:iam::t1:user/alice` one of them. Anonymous requests match
only the wildcard principal. Service and Federated principals are accepted
and match no one. Whether a named tenant exists is not checked here (that
needs the account store): `named_tenants` lists them for the caller.

Condition keys are case-insensitive: the policy's are lower-cased when
parsed, and the request's facts must arrive lower-cased. Every fact is
single-valued, so ForAnyValue: and ForAllValues: test the one value (with
their rules for a missing key). Patterns use `*` and `?` only; actions match
case-insensitively, resources and StringLike values case-sensitively. The
matcher is linear in the text: a pattern with many stars cannot make a
request slow.

Not supported: policy variables (`${aws:username}` and the like are literal
text) and the check that a condition key applies to the statement's actions
("Conditions do not apply to combination of actions and resources").

No I/O, no HTTP: this module knows JSON text, principals and strings only.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Literal

from dolium import errors
from dolium.core.policy_actions import (
    ACTIONS,
    BUCKET_ACTIONS,
    CONDITION_KEY_PREFIXES,
    CONDITION_KEYS,
    OBJECT_ACTIONS,
)
from dolium.model import Principal

__all__ = [
    "ACTIONS",
    "BUCKET_ACTIONS",
    "OBJECT_ACTIONS",
    "Condition",
    "Decision",
    "MalformedPolicy",
    "Policy",
    "PrincipalSpec",
    "Statement",
    "evaluate",
    "is_public",
    "named_tenants",
    "parse_policy",
    "parsed",
    "principal_matches",
    "resource_arn",
]

MAX_POLICY_BYTES = 20 * 1024  # of the document without insignificant whitespace
VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"  # what AWS assumes when Version is absent
ARN_PREFIX = "arn:aws:s3:::"

# S3's messages, word for word.
FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'"
INVALID_JSON = "This policy contains invalid Json"
TOO_LARGE = "Normalized policy document exceeds the maximum allowed size of 20480 bytes"
NO_STATEMENT = "Missing required field Statement"
EMPTY_STATEMENT = "Could not parse the policy: Statement is empty!"
BAD_VERSION = "The policy must contain a valid version string"
SYNTAX = "Invalid policy syntax."
BAD_RESOURCE = "Policy has invalid resource"
BAD_ACTION = "Policy has invalid action"
BAD_PRINCIPAL = "Invalid principal in policy"
NOT_APPLICABLE = "Action does not apply to any resource(s) in statement"
BAD_CONDITION_KEY = "Policy has an invalid condition key"
BAD_IP = "Invalid IP address in Conditions"


class MalformedPolicy(errors.InvalidRequest):
    """A bucket policy S3 would refuse; the message is S3's."""


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny
    NONE = "none"  # no statement applies


# --------------------------------------------------------------------------- patterns


class _Glob:
    """A pattern where `*` is any run of characters and `?` any one character.

    Compiled into fixed-length chunks between the stars: the first must match
    at the start, the last at the end, and each middle chunk at its leftmost
    place after the previous one (leftmost is never worse), so a match costs
    O(len(text) * len(pattern)) at most, whatever the pattern.
    """

    __slots__ = ("_exact", "_head", "_middle", "_min", "_tail")

    def __init__(self, pattern: str) -> None:
        parts = pattern.split("*")
        self._exact: _Chunk | None = _Chunk(pattern) if len(parts) == 1 else None
        self._head = _Chunk(parts[0])
        self._tail = _Chunk(parts[-1])
        self._middle = tuple(_Chunk(p) for p in parts[1:-1] if p)
        self._min = sum(len(p) for p in parts)

    def match(self, text: str) -> bool:
        n = len(text)
        if self._exact is not None:
            return n == len(self._exact) and self._exact.at(text, 0)
        if n < self._min:
            return False
        end = n - len(self._tail)
        if not (self._head.at(text, 0) and self._tail.at(text, end)):
            return False
        pos = len(self._head)
        for chunk in self._middle:
            found = chunk.find(text, pos, end)
            if found < 0:
                return False
            pos = found + len(chunk)
        return True


class _Chunk:
    """A piece of a pattern without `*`: literal text and `?`."""

    __slots__ = ("_regex", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._regex = (
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            if "?" in text
            else None
        )

    def __len__(self) -> int:
        return len(self._text)

    def at(self, text: str, pos: int) -> bool:
        if self._regex is None:
            return text.startswith(self._text, pos)
        return pos + len(self._text) <= len(text) and self._regex.match(text, pos) is not None

    def find(self, text: str, start: int, end: int) -> int:
        if self._regex is None:
            return text.find(self._text, start, end)
        found = self._regex.search(text, start, end)
        return -1 if found is None else found.start()


def _has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


class _Patterns:
    """A set of patterns: exact ones by hashing, the others by `_Glob`."""

    __slots__ = ("_exact", "_globs", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._exact = frozenset(p for p in self.patterns if not _has_wildcard(p))
        self._globs = tuple(_Glob(p) for p in self.patterns if _has_wildcard(p))

    def match(self, text: str) -> bool:
        return text in self._exact or any(g.match(text) for g in self._globs)

    def __repr__(self) -> str:
        return f"_Patterns({self.patterns!r})"


# --------------------------------------------------------------------------- principals


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A Principal / NotPrincipal element."""

    everyone: bool = False
    tenants: frozenset[str] = frozenset()
    users: frozenset[tuple[str, str]] = frozenset()  # (tenant, user)
    canonical_ids: frozenset[str] = frozenset()
    others: tuple[str, ...] = ()  # Service / Federated: accepted, never match


def principal_matches(spec: PrincipalSpec, principal: Principal) -> bool:
    """Whether `spec` names `principal`; anonymous principals match only "*"."""
    if spec.everyone:
        return True
    if not principal.tenant:
        return False
    return (
        principal.tenant in spec.tenants
        or (principal.tenant, principal.user) in spec.users
        or (bool(principal.canonical_id) and principal.canonical_id in spec.canonical_ids)
    )


_TENANT_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USER_RE = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_IAM_ARN_RE = re.compile(r"arn:aws:iam::([^:]*):(.*)", re.DOTALL)
_CANONICAL_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _parse_principal(value: object) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy(BAD_PRINCIPAL)
    everyone = False
    tenants: set[str] = set()
    users: set[tuple[str, str]] = set()
    canonical: set[str] = set()
    others: list[str] = []
    for kind, raw in value.items():
        names = _string_list(raw, BAD_PRINCIPAL)
        if not names:
            raise MalformedPolicy(BAD_PRINCIPAL)
        for name in names:
            # "You cannot use a wildcard to match part of a principal name or ARN."
            if name != "*" and _has_wildcard(name):
                raise MalformedPolicy(BAD_PRINCIPAL)
            if kind == "AWS":
                if name == "*":
                    everyone = True
                elif _TENANT_RE.fullmatch(name):
                    tenants.add(name)
                elif arn := _IAM_ARN_RE.fullmatch(name):
                    tenant, rest = arn.groups()
                    if not _TENANT_RE.fullmatch(tenant):
                        raise MalformedPolicy(BAD_PRINCIPAL)
                    if rest == "root":
                        tenants.add(tenant)
                    elif rest.startswith("user/") and _USER_RE.fullmatch(rest.rsplit("/", 1)[1]):
                        users.add((tenant, rest.rsplit("/", 1)[1]))
                    else:
                        raise MalformedPolicy(BAD_PRINCIPAL)
                else:
                    raise MalformedPolicy(BAD_PRINCIPAL)
            elif kind == "CanonicalUser":
                if not _CANONICAL_RE.fullmatch(name):
                    raise MalformedPolicy(BAD_PRINCIPAL)
                canonical.add(name)
            elif kind in ("Service", "Federated") and name and name != "*":
                others.append(f"{kind}:{name}")
            else:
                raise MalformedPolicy(BAD_PRINCIPAL)
    return PrincipalSpec(
        everyone, frozenset(tenants), frozenset(users), frozenset(canonical), tuple(others)
    )


# --------------------------------------------------------------------------- conditions

_Test = Callable[[str], bool]  # does a request value match any of the policy's values?

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
    return _Patterns(values).match


def _bool(values: tuple[str, ...]) -> _Test:
    lowered = frozenset(v.lower() for v in values)
    return lambda fact: fact.lower() in lowered


def _binary(values: tuple[str, ...]) -> _Test:
    for v in values:
        try:
            base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedPolicy(SYNTAX) from exc
    return frozenset(values).__contains__


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


def _split_arn(text: str) -> list[str]:
    return text.split(":", 5)


def _arn_like(values: tuple[str, ...]) -> _Test:
    # "Each of the six colon-delimited components of the ARN is checked
    # separately": a wildcard does not reach across a colon (but the last
    # component, the resource, may hold colons). ArnEquals is the same.
    compiled = tuple(tuple(_Glob(p) for p in _split_arn(v)) for v in values)
    compiled = tuple(c for c in compiled if len(c) == 6)

    def test(fact: str) -> bool:
        parts = _split_arn(fact)
        return len(parts) == 6 and any(
            all(g.match(p) for g, p in zip(globs, parts, strict=True)) for globs in compiled
        )

    return test


# Operator -> (builder of its positive test, negated?). A negated operator
# holds when the value matches none of the policy's values (NOR).
_OPERATORS: dict[str, tuple[Callable[[tuple[str, ...]], _Test], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_ordered(_number, operator.eq), False),
    "NumericNotEquals": (_ordered(_number, operator.eq), True),
    "NumericLessThan": (_ordered(_number, operator.lt), False),
    "NumericLessThanEquals": (_ordered(_number, operator.le), False),
    "NumericGreaterThan": (_ordered(_number, operator.gt), False),
    "NumericGreaterThanEquals": (_ordered(_number, operator.ge), False),
    "DateEquals": (_ordered(_date, operator.eq), False),
    "DateNotEquals": (_ordered(_date, operator.eq), True),
    "DateLessThan": (_ordered(_date, operator.lt), False),
    "DateLessThanEquals": (_ordered(_date, operator.le), False),
    "DateGreaterThan": (_ordered(_date, operator.gt), False),
    "DateGreaterThanEquals": (_ordered(_date, operator.ge), False),
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
        return self.test(fact) != self.negated


def _parse_operator(name: str) -> tuple[str, str, bool]:
    """(qualifier, base operator, IfExists) or MalformedPolicy."""
    qualifier, rest = "", name
    for prefix in _QUALIFIERS:
        if name.startswith(prefix):
            qualifier, rest = prefix[:-1], name[len(prefix) :]
    if_exists = rest.endswith(_IF_EXISTS) and rest[: -len(_IF_EXISTS)] in _OPERATORS
    base = rest[: -len(_IF_EXISTS)] if if_exists else rest
    if base not in _OPERATORS and base != "Null":
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


def _parse_conditions(raw: object) -> tuple[Condition, ...]:
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
            build, negated = _OPERATORS[base]
            conditions.append(
                Condition(name, base, lowered, values, if_exists, qualifier, negated, build(values))
            )
    return tuple(conditions)


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str
    effect: Literal["Allow", "Deny"]
    principal: PrincipalSpec
    not_principal: bool
    actions: _Patterns  # lower-cased
    not_action: bool
    resources: _Patterns
    not_resource: bool
    conditions: tuple[Condition, ...] = ()

    def applies(
        self, principal: Principal, action: str, resource: str, facts: Mapping[str, str]
    ) -> bool:
        """Whether the statement covers the request; `action` is lower-cased."""
        return (
            principal_matches(self.principal, principal) != self.not_principal
            and self.actions.match(action) != self.not_action
            and self.resources.match(resource) != self.not_resource
            and all(c.holds(facts) for c in self.conditions)
        )


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    id: str
    statements: tuple[Statement, ...]


_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_ACTION_RE = re.compile(r"s3:[A-Za-z0-9*?]+", re.ASCII)
_ACTIONS_LOWER = {a.lower(): a for a in ACTIONS}
_OBJECT_LOWER = frozenset(a.lower() for a in OBJECT_ACTIONS)
_BUCKET_LOWER = frozenset(a.lower() for a in BUCKET_ACTIONS)


def _string_list(raw: object, message: str = SYNTAX) -> list[str]:
    if isinstance(raw, list):
        items = raw
    elif raw is not None:
        items = [raw]
    else:
        raise MalformedPolicy(message)
    if not all(type(i) is str for i in items):
        raise MalformedPolicy(message)
    return [str(i) for i in items]


def _pair(doc: dict[str, object], name: str) -> tuple[object, bool]:
    """The value of `name` or `Not<name>`, and whether it was the Not form."""
    has, has_not = name in doc, "Not" + name in doc
    if has and has_not:
        raise MalformedPolicy(f"Statement/policy already has instance of {name}")
    if not (has or has_not):
        raise MalformedPolicy(f"Missing required field {name}")
    return (doc["Not" + name], True) if has_not else (doc[name], False)


def _element(raw: object, name: str, message: str) -> list[str]:
    values = _string_list(raw)
    if not values:
        raise MalformedPolicy(f"Missing required field {name} cannot be empty!")
    if not all(values):
        raise MalformedPolicy(message)
    return values


def _matched_actions(pattern: str) -> frozenset[str]:
    if not _has_wildcard(pattern):
        return frozenset({pattern}) if pattern in _ACTIONS_LOWER else frozenset()
    glob = _Glob(pattern)
    return frozenset(a for a in _ACTIONS_LOWER if glob.match(a))


def _parse_actions(raw: object) -> tuple[list[str], list[frozenset[str]]]:
    patterns = [a.lower() for a in _element(raw, "Action", BAD_ACTION)]
    matched = []
    for pattern in patterns:
        known = _matched_actions(pattern)
        if pattern != "*" and not (_ACTION_RE.fullmatch(pattern) and known):
            raise MalformedPolicy(BAD_ACTION)
        matched.append(known if pattern != "*" else frozenset(_ACTIONS_LOWER))
    return patterns, matched


def _resource_kinds(resource: str, bucket: str) -> tuple[bool, bool]:
    """(names the bucket, names objects in it), or MalformedPolicy."""
    if not resource.startswith(ARN_PREFIX):
        raise MalformedPolicy(BAD_RESOURCE)
    path = resource[len(ARN_PREFIX) :]
    head, slash, _ = path.partition("/")
    if not _Glob(head).match(bucket):
        raise MalformedPolicy(BAD_RESOURCE)
    # A star can stand for "/key" as well as for part of the bucket name.
    return _Glob(path).match(bucket), bool(slash) or "*" in path


def _parse_statement(raw: object, bucket: str) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy(SYNTAX)
    for name in raw:
        if name not in _STATEMENT_FIELDS:
            raise MalformedPolicy(f"Unknown field {name}")
    sid = raw.get("Sid", "")
    if type(sid) is not str:
        raise MalformedPolicy(SYNTAX)
    if "Effect" not in raw:
        raise MalformedPolicy("Missing required field Effect")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny") or type(effect) is not str:
        shown = effect if type(effect) is str else _dumps(effect)
        raise MalformedPolicy(f"Invalid effect: {shown}")

    principal_raw, not_principal = _pair(raw, "Principal")
    principal = _parse_principal(principal_raw)
    if not_principal and effect == "Allow":
        raise MalformedPolicy(SYNTAX)  # NotPrincipal goes with Deny only

    action_raw, not_action = _pair(raw, "Action")
    actions, matched = _parse_actions(action_raw)

    resource_raw, not_resource = _pair(raw, "Resource")
    resources = _element(resource_raw, "Resource", BAD_RESOURCE)
    kinds = [_resource_kinds(r, bucket) for r in resources]

    conditions = _parse_conditions(raw["Condition"]) if "Condition" in raw else ()

    if not not_action and not not_resource:
        names_bucket = any(k[0] for k in kinds)
        names_objects = any(k[1] for k in kinds)
        for known in matched:
            if not (
                (names_bucket and known & _BUCKET_LOWER)
                or (names_objects and known & _OBJECT_LOWER)
            ):
                raise MalformedPolicy(NOT_APPLICABLE)

    return Statement(
        sid=str(sid),
        effect="Allow" if effect == "Allow" else "Deny",
        principal=principal,
        not_principal=not_principal,
        actions=_Patterns(actions),
        not_action=not_action,
        resources=_Patterns(resources),
        not_resource=not_resource,
        conditions=conditions,
    )


# --------------------------------------------------------------------------- documents


class _Number(str):
    """A JSON number, kept as its text (condition values are strings)."""

    __slots__ = ()


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    doc: dict[str, object] = {}
    for name, value in pairs:
        if name in doc:
            # "Individual elements must not contain multiple instances of the same key."
            raise MalformedPolicy(f"Statement/policy already has instance of {name}")
        doc[name] = value
    return doc


def _load(text: str) -> object:
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constant,
        )
    except MalformedPolicy:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedPolicy(INVALID_JSON) from exc


def _dumps(doc: object) -> str:
    try:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    except RecursionError as exc:  # nested deeper than this stack allows
        raise MalformedPolicy(INVALID_JSON) from exc


def _normalized_size(doc: object) -> int:
    return len(_dumps(doc).encode("utf-8", "surrogatepass"))


def parse_policy(text: str, bucket: str) -> Policy:
    """Validate and compile a bucket policy for `bucket`, or raise MalformedPolicy."""
    if not text.startswith("{"):
        raise MalformedPolicy(FIRST_BYTE)
    doc = _load(text)
    if not isinstance(doc, dict):
        raise MalformedPolicy(INVALID_JSON)
    # Characters are at most 4 bytes: only a long text can be too large.
    if len(text) > MAX_POLICY_BYTES // 4 and _normalized_size(doc) > MAX_POLICY_BYTES:
        raise MalformedPolicy(TOO_LARGE)
    for name in doc:
        if name not in ("Version", "Id", "Statement"):
            raise MalformedPolicy(f"Unknown field {name}")
    version = doc.get("Version", DEFAULT_VERSION)
    if type(version) is not str or version not in VERSIONS:
        raise MalformedPolicy(BAD_VERSION)
    policy_id = doc.get("Id", "")
    if type(policy_id) is not str:
        raise MalformedPolicy(SYNTAX)
    if "Statement" not in doc:
        raise MalformedPolicy(NO_STATEMENT)
    raw = doc["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicy(EMPTY_STATEMENT)
    statements = tuple(_parse_statement(item, bucket) for item in items)
    return Policy(version=str(version), id=str(policy_id), statements=statements)


@lru_cache(maxsize=256)
def parsed(text: str, bucket: str) -> Policy:
    """`parse_policy`, cached: a stored policy is compiled once, not per request."""
    return parse_policy(text, bucket)


# --------------------------------------------------------------------------- decisions


def resource_arn(bucket: str, key: str | None = None) -> str:
    """The ARN a policy names the bucket (key None) or one of its objects by."""
    return ARN_PREFIX + bucket if key is None else f"{ARN_PREFIX}{bucket}/{key}"


def evaluate(
    policy: Policy, principal: Principal, action: str, resource: str, facts: Mapping[str, str]
) -> Decision:
    """DENY if a Deny statement applies, else ALLOW if an Allow does, else NONE."""
    action = action.lower()
    allowed = False
    for statement in policy.statements:
        if statement.applies(principal, action, resource, facts):
            if statement.effect == "Deny":
                return Decision.DENY
            allowed = True
    return Decision.ALLOW if allowed else Decision.NONE


def named_tenants(policy: Policy) -> frozenset[str]:
    """Every tenant a principal of the policy names (for an existence check)."""
    names: set[str] = set()
    for s in policy.statements:
        names.update(s.principal.tenants)
        names.update(tenant for tenant, _ in s.principal.users)
    return frozenset(names)


# --------------------------------------------------------------------------- "public"

# The keys whose fixed values make a grant to everyone non-public ("The
# meaning of public" in the S3 user guide).
_FIXING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:SourceIp",
        "aws:SourceArn",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceOwner",
        "aws:SourceAccount",
        "aws:userid",
        "aws:PrincipalOrgID",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    )
)
# The operators that hold only for a request value among the listed ones.
_LIMITING = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress"}
)


def _fixed_value(key: str, value: str) -> bool:
    if key == "s3:dataaccesspointarn":
        # An access point ARN is fixed once its account is, whatever its name.
        parts = _split_arn(value)
        if len(parts) == 6 and not any(_has_wildcard(p) or not p for p in parts[1:5]):
            return True
    if _has_wildcard(value) or "${" in value:
        return False
    if key == "aws:sourceip":
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            return False
        # S3 counts a block wider than /8 (IPv4) or /32 (IPv6) as everyone.
        return network.prefixlen >= (8 if network.version == 4 else 32)
    return True


def _limited(condition: Condition) -> bool:
    return (
        not condition.if_exists
        and condition.qualifier != "ForAllValues"
        and condition.base in _LIMITING
        and condition.key in _FIXING_KEYS
        and bool(condition.values)
        and all(_fixed_value(condition.key, v) for v in condition.values)
    )


def is_public(policy: Policy) -> bool:
    """Whether the policy grants public access, as GetBucketPolicyStatus and
    BlockPublicPolicy judge it: an Allow to everyone not limited by a
    condition on fixed values of a key that pins the caller down."""
    for s in policy.statements:
        if s.effect != "Allow":
            continue
        everyone = not s.principal.everyone if s.not_principal else s.principal.everyone
        if everyone and not any(_limited(c) for c in s.conditions):
            return True
    return False
