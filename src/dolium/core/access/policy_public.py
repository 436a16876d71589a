"""The "is public" rules of bucket policies, for GetBucketPolicyStatus and BlockPublicPolicy."""

from __future__ import annotations

import ipaddress

from dolium.core.access.policy_conditions import Condition, split_arn
from dolium.core.access.policy_patterns import has_wildcard
from dolium.core.access.policy_statements import Policy

__all__ = ["is_public"]

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
        parts = split_arn(value)
        if len(parts) == 6 and not any(has_wildcard(p) or not p for p in parts[1:5]):
            return True
    if has_wildcard(value) or "${" in value:
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
