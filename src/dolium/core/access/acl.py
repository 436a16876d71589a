"""S3 access control lists: grants, canned ACLs, and the permission check.

Pure values and functions: no HTTP, no XML, no storage. The S3 front end
turns request bodies and headers into an `Acl` and back; the meta store
keeps `dumps()` text in `Bucket.configs` / `ObjectVersion.acl`. An ACL only
grants, it never denies; what a bucket policy adds is another module's job.

E-mail grantees are resolved to canonical users when the ACL is written, as
S3 does, so a stored ACL holds canonical users and groups only.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dolium import errors
from dolium.model import Principal


class Permission(enum.StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    READ_ACP = "READ_ACP"
    WRITE_ACP = "WRITE_ACP"
    FULL_CONTROL = "FULL_CONTROL"


# Grantee kinds, as S3 spells them in xsi:type.
CANONICAL_USER = "CanonicalUser"
GROUP = "Group"
BY_EMAIL = "AmazonCustomerByEmail"
GRANTEE_KINDS = frozenset({CANONICAL_USER, GROUP, BY_EMAIL})

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})

# S3 refuses an ACL with more grants (MalformedACLError).
MAX_GRANTS = 100


@dataclass(frozen=True, slots=True)
class Grantee:
    kind: str  # CANONICAL_USER | GROUP | BY_EMAIL
    id: str  # canonical id, group URI, or e-mail address
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: Grantee
    permission: Permission


@dataclass(frozen=True, slots=True)
class Acl:
    owner_id: str
    owner_name: str
    grants: tuple[Grant, ...]


def user(canonical_id: str, display_name: str = "") -> Grantee:
    return Grantee(CANONICAL_USER, canonical_id, display_name)


def group(uri: str) -> Grantee:
    return Grantee(GROUP, uri)


CANNED = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "authenticated-read",
        "aws-exec-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)


def private(owner: Grantee) -> Acl:
    """The default ACL of a new bucket or object: the owner has FULL_CONTROL."""
    return Acl(owner.id, owner.display_name, (Grant(owner, Permission.FULL_CONTROL),))


def canned(name: str, owner: Grantee, bucket_owner: Grantee | None = None) -> Acl:
    """The ACL a canned ACL name stands for, as S3 expands it.

    `bucket_owner` is the owner of the bucket an object is written to; pass
    None for a bucket, where S3 ignores the bucket-owner-* ACLs (the owner
    keeps FULL_CONTROL alone). When the bucket owner is the object owner it
    gets no second grant. aws-exec-read is the owner's FULL_CONTROL only:
    the EC2 account it grants READ to in AWS does not exist here.
    """
    if name not in CANNED:
        raise errors.InvalidArgument(f"unknown canned ACL {name!r}", canned_acl=name)
    grants = [Grant(owner, Permission.FULL_CONTROL)]
    read, write = Permission.READ, Permission.WRITE
    if name == "public-read":
        grants.append(Grant(group(ALL_USERS), read))
    elif name == "public-read-write":
        grants += [Grant(group(ALL_USERS), read), Grant(group(ALL_USERS), write)]
    elif name == "authenticated-read":
        grants.append(Grant(group(AUTHENTICATED_USERS), read))
    elif name == "log-delivery-write":
        grants += [
            Grant(group(LOG_DELIVERY), write),
            Grant(group(LOG_DELIVERY), Permission.READ_ACP),
        ]
    elif name.startswith("bucket-owner-") and bucket_owner and bucket_owner.id != owner.id:
        full = name == "bucket-owner-full-control"
        grants.append(Grant(bucket_owner, Permission.FULL_CONTROL if full else read))
    return Acl(owner.id, owner.display_name, tuple(grants))


# --------------------------------------------------------------------------- checks


def _matches(grantee: Grantee, principal: Principal) -> bool:
    anonymous = principal.tenant == ""
    if grantee.kind == GROUP:
        if grantee.id == ALL_USERS:
            return True
        # LogDelivery is S3's own log writer; no caller here is a member.
        return grantee.id == AUTHENTICATED_USERS and not anonymous
    if grantee.kind == CANONICAL_USER:
        return not anonymous and bool(grantee.id) and grantee.id == principal.canonical_id
    return False  # e-mail grants are resolved when written, never matched


def allows(acl: Acl, principal: Principal, permission: Permission) -> bool:
    """Whether `acl` grants `permission` to `principal`.

    FULL_CONTROL implies every permission. As in S3, the resource owner may
    always read and write the ACL, even when no grant names it, so an owner
    cannot lock itself out.
    """
    anonymous = principal.tenant == ""
    if (
        permission in (Permission.READ_ACP, Permission.WRITE_ACP)
        and not anonymous
        and principal.canonical_id
        and principal.canonical_id == acl.owner_id
    ):
        return True
    return any(
        grant.permission in (permission, Permission.FULL_CONTROL)
        and _matches(grant.grantee, principal)
        for grant in acl.grants
    )


def is_public(acl: Acl) -> bool:
    """Any grant to AllUsers or AuthenticatedUsers (S3's "public" for ACLs)."""
    return any(
        g.grantee.kind == GROUP and g.grantee.id in (ALL_USERS, AUTHENTICATED_USERS)
        for g in acl.grants
    )


# Which ACL permission grants an S3 action, by the AWS table "Mapping of ACL
# permissions and access policy permissions". FULL_CONTROL grants them all.
BUCKET_ACL_ACTIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "s3:ListBucket": Permission.READ,
        "s3:ListBucketVersions": Permission.READ,
        "s3:ListBucketMultipartUploads": Permission.READ,
        "s3:PutObject": Permission.WRITE,
        "s3:DeleteObject": Permission.WRITE,
        "s3:DeleteObjectVersion": Permission.WRITE,
        "s3:GetBucketAcl": Permission.READ_ACP,
        "s3:PutBucketAcl": Permission.WRITE_ACP,
    }
)
OBJECT_ACL_ACTIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "s3:GetObject": Permission.READ,
        "s3:GetObjectVersion": Permission.READ,
        "s3:GetObjectAcl": Permission.READ_ACP,
        "s3:GetObjectVersionAcl": Permission.READ_ACP,
        "s3:PutObjectAcl": Permission.WRITE_ACP,
        "s3:PutObjectVersionAcl": Permission.WRITE_ACP,
    }
)
# Resource kind ("bucket" / "object") -> its table.
PERMISSION_FOR: Mapping[str, Mapping[str, Permission]] = MappingProxyType(
    {"bucket": BUCKET_ACL_ACTIONS, "object": OBJECT_ACL_ACTIONS}
)


# --------------------------------------------------------------------------- storage

# Stored form: {"o": [owner id, owner name], "g": [[kind, id, name, permission], ...]}


def dumps(acl: Acl) -> str:
    """Compact JSON for the meta store."""
    grants = [
        [g.grantee.kind, g.grantee.id, g.grantee.display_name, g.permission.value]
        for g in acl.grants
    ]
    return json.dumps(
        {"o": [acl.owner_id, acl.owner_name], "g": grants},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def loads(text: str) -> Acl:
    """The ACL `dumps()` wrote; StorageError if the stored text is damaged."""
    try:
        doc = json.loads(text)
        owner_id, owner_name = doc["o"]
        grants = []
        for kind, gid, name, permission in doc["g"]:
            if kind not in GRANTEE_KINDS or not all(isinstance(s, str) for s in (gid, name)):
                raise ValueError(f"bad grantee {kind!r} {gid!r}")
            grants.append(Grant(Grantee(kind, gid, name), Permission(permission)))
        if not (isinstance(owner_id, str) and isinstance(owner_name, str)):
            raise ValueError("bad owner")
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.StorageError(f"stored ACL is damaged: {exc}") from exc
    return Acl(owner_id, owner_name, tuple(grants))
