"""Identity policies: what a user's own policies and its groups' say.

A user of a tenant has its tenant's full rights by default, as it always
had. Attaching a policy to the user, or to an account group it belongs to,
makes it a *governed* user, judged as AWS judges an IAM user (`s3_evaluator`
combines the answers):

- an explicit Deny in any of its policies refuses, whatever else allows;
- within its own tenant, an Allow of its policies or of the bucket's
  resource rules (bucket policy, ACLs) suffices;
- in another tenant's bucket, both must allow.

Admin users (the tenant's administrators, and root) are the account itself,
as AWS's root user is: identity policies never restrict them, so none are
loaded for them (`with_policies`).

Groups are the account's groups (`MetaStore.get_groups`), the same ones that
Pithos sharing names; a member `tenant:user` is that user, a member `tenant`
every user of the tenant. Only the tenant's own groups count.

Policies arrive on the `Principal` (`policies`), loaded once per access key
into the key cache: a request reads none of them from the store, and a
principal without any pays one empty-tuple test.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from dolium.core.access.actions import Decision
from dolium.core.access.policy import MalformedPolicy, Policy, evaluate, parse_policy
from dolium.model import Principal
from dolium.protocols.meta import MetaStore


def parse_identity_policy(text: str) -> Policy:
    """Validate and compile a user or group policy, or raise MalformedPolicy."""
    return parse_policy(text, None)


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Policy | None:
    try:
        return parse_identity_policy(text)
    except MalformedPolicy:
        return None


def decide(principal: Principal, action: str, resource: str) -> Decision:
    """DENY if any of the principal's policies denies, else ALLOW if one allows."""
    allowed = False
    for text in principal.policies:
        policy = _compiled(text)
        if policy is None:
            # Stored documents are checked when put; one that no longer
            # parses (an older, laxer server wrote it) must not widen access.
            return Decision.DENY
        decision = evaluate(policy, principal, action, resource, principal.facts)
        if decision is Decision.DENY:
            return Decision.DENY
        allowed = allowed or decision is Decision.ALLOW
    return Decision.ALLOW if allowed else Decision.NONE


def permits(principal: Principal, action: str, resource: str) -> bool:
    """Whether an action no bucket's rules judge (s3:CreateBucket,
    s3:ListAllMyBuckets) is the principal's: always for an ungoverned one,
    else if its policies allow it."""
    return not principal.policies or decide(principal, action, resource) is Decision.ALLOW


def member_of(tenant: str, user: str, members: tuple[str, ...]) -> bool:
    return tenant in members or f"{tenant}:{user}" in members


async def policies_of(meta: MetaStore, tenant: str, user: str) -> tuple[str, ...]:
    """The documents of the user's policies and of its groups', in a fixed order."""
    found = list((await meta.get_user_policies(tenant, user)).values())
    by_group = await meta.get_group_policies(tenant)
    if by_group:  # the groups' members are read only when some group has a policy
        groups = await meta.get_groups(tenant)
        for group, policies in by_group.items():
            if member_of(tenant, user, groups.get(group, ())):
                found.extend(policies.values())
    return tuple(found)


async def with_policies(meta: MetaStore, principal: Principal) -> Principal:
    """The principal carrying its identity policies (none for admins)."""
    if principal.anonymous or principal.admin:
        return principal
    policies = await policies_of(meta, principal.tenant, principal.user)
    return dataclasses.replace(principal, policies=policies) if policies else principal
