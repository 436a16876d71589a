"""The compiled form of a bucket policy, and the parsing of its statements.

A statement is checked against the one bucket the policy is for: its
resources must name that bucket or objects in it, and each of its actions
must apply to one of those resources (bucket actions to the bucket's ARN,
object actions to an object ARN).

An identity policy (of a user or group; `bucket` None) is for no one bucket:
it names no principal (the user it is attached to is its principal), and its
actions and resources may belong to other services (`iam:*`, any ARN), which
then match no request of this server's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from dolium.core.access.policy_actions import ACTIONS, BUCKET_ACTIONS, OBJECT_ACTIONS
from dolium.core.access.policy_conditions import Condition, parse_conditions
from dolium.core.access.policy_json import (
    BAD_ACTION,
    BAD_RESOURCE,
    NOT_APPLICABLE,
    SYNTAX,
    MalformedPolicy,
    dumps,
    duplicate,
    string_list,
)
from dolium.core.access.policy_patterns import Glob, Patterns, has_wildcard
from dolium.core.access.policy_principals import PrincipalSpec, parse_principal, principal_matches
from dolium.model import Principal

__all__ = ["ARN_PREFIX", "Policy", "Statement", "parse_statement"]

ARN_PREFIX = "arn:aws:s3:::"


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str
    effect: Literal["Allow", "Deny"]
    principal: PrincipalSpec
    not_principal: bool
    actions: Patterns  # lower-cased
    not_action: bool
    resources: Patterns
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
_OTHER_SERVICE_RE = re.compile(r"[a-z0-9-]+:[A-Za-z0-9*?]+", re.ASCII)
NO_PRINCIPAL = "Policy document should not specify a principal."
EVERYONE = PrincipalSpec(everyone=True)
_ACTIONS_LOWER = {a.lower(): a for a in ACTIONS}
_OBJECT_LOWER = frozenset(a.lower() for a in OBJECT_ACTIONS)
_BUCKET_LOWER = frozenset(a.lower() for a in BUCKET_ACTIONS)


def _pair(doc: dict[str, object], name: str) -> tuple[object, bool]:
    """The value of `name` or `Not<name>`, and whether it was the Not form."""
    has, has_not = name in doc, "Not" + name in doc
    if has and has_not:
        raise duplicate(name)
    if not (has or has_not):
        raise MalformedPolicy(f"Missing required field {name}")
    return (doc["Not" + name], True) if has_not else (doc[name], False)


def _element(raw: object, name: str, message: str) -> list[str]:
    values = string_list(raw)
    if not values:
        raise MalformedPolicy(f"Missing required field {name} cannot be empty!")
    if not all(values):
        raise MalformedPolicy(message)
    return values


def _matched_actions(pattern: str) -> frozenset[str]:
    if not has_wildcard(pattern):
        return frozenset({pattern}) if pattern in _ACTIONS_LOWER else frozenset()
    glob = Glob(pattern)
    return frozenset(a for a in _ACTIONS_LOWER if glob.match(a))


def _parse_actions(raw: object, identity: bool) -> tuple[list[str], list[frozenset[str]]]:
    patterns = [a.lower() for a in _element(raw, "Action", BAD_ACTION)]
    matched: list[frozenset[str]] = []
    for pattern in patterns:
        if identity and not pattern.startswith("s3:") and _OTHER_SERVICE_RE.fullmatch(pattern):
            matched.append(frozenset())  # another service's action: never matches here
            continue
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
    if not Glob(head).match(bucket):
        raise MalformedPolicy(BAD_RESOURCE)
    # A star can stand for "/key" as well as for part of the bucket name.
    return Glob(path).match(bucket), bool(slash) or "*" in path


def parse_statement(raw: object, bucket: str | None) -> Statement:
    """A statement of `bucket`'s policy, or of an identity policy (bucket None)."""
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
        shown = effect if type(effect) is str else dumps(effect)
        raise MalformedPolicy(f"Invalid effect: {shown}")

    if bucket is None:
        if "Principal" in raw or "NotPrincipal" in raw:
            raise MalformedPolicy(NO_PRINCIPAL)
        principal, not_principal = EVERYONE, False
    else:
        principal_raw, not_principal = _pair(raw, "Principal")
        principal = parse_principal(principal_raw)
        if not_principal and effect == "Allow":
            raise MalformedPolicy(SYNTAX)  # NotPrincipal goes with Deny only

    action_raw, not_action = _pair(raw, "Action")
    actions, matched = _parse_actions(action_raw, identity=bucket is None)

    resource_raw, not_resource = _pair(raw, "Resource")
    resources = _element(resource_raw, "Resource", BAD_RESOURCE)
    if bucket is None:
        if not all(r == "*" or r.startswith("arn:") for r in resources):
            raise MalformedPolicy(BAD_RESOURCE)
        kinds = [(True, True)]
    else:
        kinds = [_resource_kinds(r, bucket) for r in resources]

    conditions = parse_conditions(raw["Condition"]) if "Condition" in raw else ()

    if bucket is not None and not not_action and not not_resource:
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
        actions=Patterns(actions),
        not_action=not_action,
        resources=Patterns(resources),
        not_resource=not_resource,
        conditions=conditions,
    )
