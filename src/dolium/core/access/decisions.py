"""Who may do what to a bucket and its objects, decided as AWS decides it.

The order (AWS's evaluation logic, for a server where tenants play
accounts and every user of a tenant has its full rights):

1. An explicit Deny in the bucket policy refuses, whoever asks, the owner too.
2. The bucket owner's tenant is allowed (but for a user its identity
   policies govern: see `identity`, and `s3_evaluator` for how they combine).
3. An Allow in the bucket policy allows (unless the public access block
   restricts a public policy to the owner).
4. An ACL grant allows: the bucket's ACL for bucket actions and for writes
   into it, the object's ACL for reads of an object and of its ACL. ACLs
   count only while object ownership is not BucketOwnerEnforced, and grants
   to everyone are skipped under IgnorePublicAcls.
5. Anything else is refused.

The decision on a bucket alone may be "not yet" (`Decision.NONE`) for an
object action: only the object's ACL can then allow it, so the caller reads
the version and asks again with it (`object_allows`). A caller that finds no
version must answer AccessDenied, not NoSuchKey, so that a stranger cannot
probe keys.

These rules work in S3's action names; `s3_evaluator` is the only caller,
and maps the core's actions to those names first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

from dolium.core.access import acl
from dolium.core.access.actions import Decision
from dolium.core.access.policy import evaluate, is_public, parsed, resource_arn
from dolium.model import Bucket, ObjectVersion, Principal

ANONYMOUS = Principal(tenant="", user="")

# Keys of `Bucket.configs` this module reads.
POLICY = "policy"
ACL = "acl"
OWNERSHIP = "ownership"
PUBLIC_ACCESS_BLOCK = "public_access_block"

OWNER_ENFORCED = "BucketOwnerEnforced"
OWNER_PREFERRED = "BucketOwnerPreferred"


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False


NO_BLOCK = PublicAccessBlock()


@lru_cache(maxsize=256)
def _load_block(text: str) -> PublicAccessBlock:
    doc = json.loads(text)
    return PublicAccessBlock(
        block_public_acls=bool(doc.get("BlockPublicAcls")),
        ignore_public_acls=bool(doc.get("IgnorePublicAcls")),
        block_public_policy=bool(doc.get("BlockPublicPolicy")),
        restrict_public_buckets=bool(doc.get("RestrictPublicBuckets")),
    )


def public_access_block(bucket: Bucket) -> PublicAccessBlock:
    text = bucket.configs.get(PUBLIC_ACCESS_BLOCK)
    return _load_block(text) if text else NO_BLOCK


def acls_enabled(bucket: Bucket) -> bool:
    return bucket.configs.get(OWNERSHIP) != OWNER_ENFORCED


@lru_cache(maxsize=1024)
def _load_acl(text: str) -> acl.Acl:
    return acl.loads(text)


def bucket_acl(bucket: Bucket, owner: acl.Grantee) -> acl.Acl:
    text = bucket.configs.get(ACL)
    return _load_acl(text) if text else acl.private(owner)


EXISTING_TAG_KEY = "s3:existingobjecttag/"


def tests_existing_tags(bucket: Bucket) -> bool:
    """Whether the bucket's policy has a condition on an object's own tags
    (s3:ExistingObjectTag/<key>), which only the version at hand can answer."""
    text = bucket.configs.get(POLICY)
    if not text:
        return False
    return any(
        c.key.startswith(EXISTING_TAG_KEY)
        for statement in parsed(text, bucket.name).statements
        for c in statement.conditions
    )


def with_existing_tags(principal: Principal, version: ObjectVersion) -> Principal:
    """`principal` with the facts of the version's tags (s3:ExistingObjectTag/<key>)."""
    tags = {EXISTING_TAG_KEY + key.lower(): value for key, value in version.tags.items()}
    return replace(principal, facts=MappingProxyType({**principal.facts, **tags}))


def decide(principal: Principal, bucket: Bucket, action: str, key: str | None = None) -> Decision:
    """ALLOW, DENY, or NONE when only an object's ACL could still allow."""
    policy_decision = Decision.NONE
    text = bucket.configs.get(POLICY)
    if text:
        policy = parsed(text, bucket.name)
        policy_decision = evaluate(
            policy, principal, action, resource_arn(bucket.name, key), principal.facts
        )
        if policy_decision is Decision.DENY:
            return Decision.DENY
        if (
            policy_decision is Decision.ALLOW
            and principal.tenant != bucket.owner
            and public_access_block(bucket).restrict_public_buckets
            and is_public(policy)
        ):
            policy_decision = Decision.NONE
    if principal.tenant and principal.tenant == bucket.owner and not principal.policies:
        return Decision.ALLOW
    if policy_decision is Decision.ALLOW:
        return Decision.ALLOW
    permission = acl.BUCKET_ACL_ACTIONS.get(action)
    if permission is not None and acls_enabled(bucket) and bucket.configs.get(ACL):
        grants = bucket_acl(bucket, acl.Grantee("CanonicalUser", ""))
        if _granted(grants, bucket, principal, permission):
            return Decision.ALLOW
    return Decision.NONE


def object_allows(
    principal: Principal, bucket: Bucket, version: ObjectVersion, action: str
) -> bool:
    """Whether the version's ACL allows `action` (after `decide` said NONE)."""
    permission = acl.OBJECT_ACL_ACTIONS.get(action)
    if permission is None or not acls_enabled(bucket):
        return False
    if principal.tenant and principal.tenant == version.owner and not principal.policies:
        return True  # the writer owns its object: the default ACL's FULL_CONTROL
    if not version.acl:
        return False
    return _granted(_load_acl(version.acl), bucket, principal, permission)


def _granted(
    grants: acl.Acl, bucket: Bucket, principal: Principal, permission: acl.Permission
) -> bool:
    if public_access_block(bucket).ignore_public_acls and acl.is_public(grants):
        grants = acl.Acl(
            grants.owner_id,
            grants.owner_name,
            tuple(g for g in grants.grants if g.grantee.id not in PUBLIC_GROUPS),
        )
    return acl.allows(grants, principal, permission)


PUBLIC_GROUPS = frozenset({acl.ALL_USERS, acl.AUTHENTICATED_USERS})
