"""The ACL a request asks for, turned into the ACL to store, as S3 rules allow.

Tenants play S3's accounts: a grantee named by canonical id or e-mail is a
tenant, looked up in the meta store on every request (nothing is cached, so
a renamed display name or a new e-mail counts at once). A request asks for
an ACL in one of two forms, `Requested`:

- a canned ACL name, expanded here once the owners are known;
- an `Acl` of grants (grant by grant, or a whole ACL document with its
  owner). Its owner id is "" when no owner was given; e-mail grantees in it
  are resolved here.

Before an ACL is stored, the bucket's object ownership and public access
block decide whether it may be: with BucketOwnerEnforced only the bucket
owner's full control is accepted (AccessControlListNotSupported otherwise),
and with BlockPublicAcls an ACL that grants to everyone is AccessDenied.
This module never reads an object version and knows no wire format.
"""

from __future__ import annotations

from dolium.core.access import acl
from dolium.core.access import decisions as access
from dolium.core.access.acl import Acl, Grant, Grantee, Permission
from dolium.errors import AccessDenied, AclNotSupported, InvalidArgument, UnresolvableGrantByEmail
from dolium.model import Bucket, Principal, Tenant
from dolium.protocols.meta import MetaStore

# A canned ACL name, or grants (owner id "" when no owner was given).
Requested = str | Acl

# What S3 says when an ACL is given for a bucket with ACLs disabled.
ACLS_DISABLED = "The bucket does not allow ACLs"
OWNER_FULL_CONTROL = "bucket-owner-full-control"


def tenant_grantee(tenant: Tenant) -> Grantee:
    return acl.user(tenant.canonical_id, tenant.display_name)


def principal_grantee(principal: Principal) -> Grantee:
    return acl.user(principal.canonical_id, principal.display_name)


async def grantee_of_tenant(meta: MetaStore, tenant_name: str) -> Grantee:
    """The canonical user of a tenant; anonymous ("") or a vanished tenant has no id."""
    tenant = await meta.get_tenant(tenant_name) if tenant_name else None
    return tenant_grantee(tenant) if tenant is not None else acl.user("", tenant_name)


async def resolve_email(meta: MetaStore, email: str) -> Grantee | None:
    wanted = email.strip().casefold()
    for tenant in await meta.list_tenants():
        if tenant.email and tenant.email.casefold() == wanted:
            return tenant_grantee(tenant)
    return None


async def resolve_id(meta: MetaStore, canonical_id: str) -> Grantee | None:
    for tenant in await meta.list_tenants():
        if tenant.canonical_id == canonical_id:
            return tenant_grantee(tenant)
    return None


async def resolve(meta: MetaStore, grants: Acl) -> Acl:
    """`grants` with every user grantee checked against the tenants.

    E-mail grantees become the tenant's canonical user (an address nobody
    has is UnresolvableGrantByEmail); canonical ids get the tenant's display
    name (an unknown id is InvalidArgument, as S3 answers it). The tenants
    are listed once, and only when there is a user grantee.
    """
    if all(g.grantee.kind == acl.GROUP for g in grants.grants):
        return grants
    tenants = await meta.list_tenants()
    by_id = {t.canonical_id: t for t in tenants}
    by_email = {t.email.casefold(): t for t in tenants if t.email}
    resolved: list[Grant] = []
    for grant in grants.grants:
        grantee = grant.grantee
        if grantee.kind == acl.BY_EMAIL:
            tenant = by_email.get(grantee.id.strip().casefold())
            if tenant is None:
                raise UnresolvableGrantByEmail(
                    "The email address you provided does not match any account on record.",
                    email=grantee.id,
                )
            grantee = tenant_grantee(tenant)
        elif grantee.kind == acl.CANONICAL_USER:
            tenant = by_id.get(grantee.id)
            if tenant is None:
                raise InvalidArgument("Invalid id", canonical_id=grantee.id)
            grantee = tenant_grantee(tenant)
        resolved.append(Grant(grantee, grant.permission))
    return Acl(grants.owner_id, grants.owner_name, tuple(resolved))


def owner_only(grants: Acl, owner_id: str) -> bool:
    """Whether the ACL is exactly FULL_CONTROL to `owner_id` (S3's default ACL)."""
    if len(grants.grants) != 1:
        return False
    grant = grants.grants[0]
    return (
        grant.grantee.kind == acl.CANONICAL_USER
        and grant.grantee.id == owner_id
        and grant.permission is Permission.FULL_CONTROL
    )


async def build(
    meta: MetaStore,
    bucket: Bucket,
    owner: Grantee,
    requested: Requested,
    *,
    for_object: bool,
) -> Acl:
    """The ACL `requested` stands for on a resource `owner` owns, if the bucket allows it.

    Checks, in S3's order: ACLs disabled (only the bucket owner's full
    control passes), then BlockPublicAcls (nothing public passes).
    """
    bucket_owner = await grantee_of_tenant(meta, bucket.owner)
    if isinstance(requested, str):
        result = acl.canned(requested, owner, bucket_owner if for_object else None)
    else:
        resolved = await resolve(meta, requested)
        result = Acl(owner.id, owner.display_name, resolved.grants)
    if not access.acls_enabled(bucket):
        if requested == OWNER_FULL_CONTROL:
            pass
        elif isinstance(requested, str) or not owner_only(result, bucket_owner.id):
            raise AclNotSupported(ACLS_DISABLED, bucket=bucket.name)
    if access.public_access_block(bucket).block_public_acls and acl.is_public(result):
        raise AccessDenied("Access Denied")
    return result


def stored(grants: Acl) -> str:
    """The stored form: "" for the default ACL (owner's full control alone)."""
    return "" if owner_only(grants, grants.owner_id) else acl.dumps(grants)


# --------------------------------------------------------------------------- write options


def encode(requested: Requested | None) -> str:
    """`WriteOptions.acl`: "" for none, a canned name, or the grants as `acl.dumps` text."""
    if requested is None:
        return ""
    return requested if isinstance(requested, str) else acl.dumps(requested)


def decode(text: str) -> Requested | None:
    if not text:
        return None
    return acl.loads(text) if text.startswith("{") else text


def object_owner(bucket: Bucket, writer: str, requested: str) -> str:
    """The tenant that owns a version `writer` writes asking for ACL `requested`
    (`WriteOptions.acl`), as the bucket's object ownership decides, as on S3.

    BucketOwnerEnforced: the bucket owner owns every object. BucketOwnerPreferred:
    the bucket owner owns what others write with the canned
    bucket-owner-full-control ACL. Otherwise (ObjectWriter, or no setting) the
    writer does.
    """
    ownership = bucket.configs.get(access.OWNERSHIP)
    if ownership == access.OWNER_ENFORCED:
        return bucket.owner
    if ownership == access.OWNER_PREFERRED and requested == OWNER_FULL_CONTROL:
        return bucket.owner
    return writer


async def acl_for_write(
    meta: MetaStore, principal: Principal, bucket: Bucket, requested: str
) -> str:
    """The stored ACL of a version `principal` writes with `WriteOptions.acl` `requested`.

    No ACL is the writer's full control (""), as S3 does; with ACLs
    disabled an accepted ACL is not stored, since ACLs no longer count.
    When the bucket owner takes the object (`object_owner`), the ACL
    bucket-owner-full-control is its owner's full control alone: "".
    """
    wanted = decode(requested)
    if wanted is None:
        return ""
    taken = object_owner(bucket, principal.tenant, requested) != principal.tenant
    if taken and wanted == OWNER_FULL_CONTROL:
        return ""
    result = await build(meta, bucket, principal_grantee(principal), wanted, for_object=True)
    return stored(result) if access.acls_enabled(bucket) else ""


async def acl_for_new_bucket(
    meta: MetaStore, principal: Principal, bucket: Bucket, requested: str
) -> str:
    """The stored ACL of a bucket `principal` creates asking for `requested`; "" = private."""
    wanted = decode(requested)
    if wanted is None:
        return ""
    return stored(await build(meta, bucket, principal_grantee(principal), wanted, for_object=False))
