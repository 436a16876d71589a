"""The Principal / NotPrincipal element of a bucket-policy statement.

Dolium's tenants play AWS accounts: the account id in a principal ARN is the
tenant name, so `{"AWS": "t1"}` and `arn:aws:iam::t1:root` name every user of
tenant t1, `arn:aws:iam::t1:user/alice` one of them. Anonymous requests match
only the wildcard principal. Service and Federated principals are accepted
and match no one. Whether a named tenant exists is not checked here (that
needs the account store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dolium.core.access.policy_json import BAD_PRINCIPAL, MalformedPolicy, string_list
from dolium.core.access.policy_patterns import has_wildcard
from dolium.model import Principal

__all__ = ["PrincipalSpec", "parse_principal", "principal_matches"]


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


def parse_principal(value: object) -> PrincipalSpec:
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
        names = string_list(raw, BAD_PRINCIPAL)
        if not names:
            raise MalformedPolicy(BAD_PRINCIPAL)
        for name in names:
            # "You cannot use a wildcard to match part of a principal name or ARN."
            if name != "*" and has_wildcard(name):
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
