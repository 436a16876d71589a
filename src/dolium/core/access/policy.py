"""S3 bucket policies: the JSON access-policy language, parsed and evaluated as AWS does.

`parse_policy` validates a PutBucketPolicy document for one bucket and
compiles it; every fault is a `MalformedPolicy` carrying the message S3
answers (the front end sends it as 400 MalformedPolicy). `evaluate` then
judges one request: an explicit Deny in any matching statement wins, else any
matching Allow, else NONE (the policy says nothing). `parsed` caches the
compiled form by text, since it runs on every request to a bucket with a
policy. `named_tenants` lists the tenants the principals name, for the caller
to check they exist; `is_public` is S3's "is this policy public" judgement.

This module is the public face; the parts live beside it:
  policy_json        S3's strict reading of the JSON, MalformedPolicy and its messages
  policy_patterns    `*` / `?` wildcards, linear in the text
  policy_principals  Principal elements: tenants play AWS accounts
  policy_conditions  Condition blocks and their operators
  policy_statements  the compiled Statement and Policy, and statement parsing
  policy_public      the "is public" rules
  policy_actions     the action names and condition keys a policy may use

Not supported: policy variables (`${aws:username}` and the like are literal
text).

No I/O, no HTTP: these modules know JSON text, principals and strings only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from dolium.core.access.actions import Decision
from dolium.core.access.policy_actions import ACTIONS, BUCKET_ACTIONS, OBJECT_ACTIONS
from dolium.core.access.policy_conditions import OPERATORS, Condition
from dolium.core.access.policy_json import (
    BAD_VERSION,
    EMPTY_STATEMENT,
    FIRST_BYTE,
    INVALID_JSON,
    MAX_POLICY_BYTES,
    NO_STATEMENT,
    SYNTAX,
    TOO_LARGE,
    MalformedPolicy,
    load,
    normalized_size,
)
from dolium.core.access.policy_patterns import Glob
from dolium.core.access.policy_principals import PrincipalSpec, principal_matches
from dolium.core.access.policy_public import is_public
from dolium.core.access.policy_statements import ARN_PREFIX, Policy, Statement, parse_statement
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

VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"  # what AWS assumes when Version is absent

# The matcher and the operator table, reached by the unit tests through here.
_Glob = Glob
_OPERATORS = OPERATORS


def parse_policy(text: str, bucket: str | None) -> Policy:
    """Validate and compile a bucket policy for `bucket`, or raise MalformedPolicy.

    With `bucket` None, an identity policy (of a user or group) instead.
    """
    if not text.startswith("{"):
        raise MalformedPolicy(FIRST_BYTE)
    doc = load(text)
    if not isinstance(doc, dict):
        raise MalformedPolicy(INVALID_JSON)
    # Characters are at most 4 bytes: only a long text can be too large.
    if len(text) > MAX_POLICY_BYTES // 4 and normalized_size(doc) > MAX_POLICY_BYTES:
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
    statements = tuple(parse_statement(item, bucket) for item in items)
    return Policy(version=str(version), id=str(policy_id), statements=statements)


@lru_cache(maxsize=256)
def parsed(text: str, bucket: str | None) -> Policy:
    """`parse_policy`, cached: a stored policy is compiled once, not per request."""
    return parse_policy(text, bucket)


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
