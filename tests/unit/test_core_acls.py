"""ACLs in the core over the in-memory stores: the ACL service, ACLs given on
writes, grantee resolution, and the bucket settings that restrict ACLs."""

from __future__ import annotations

import json

import pytest
from corekit import Core, body, make_core

from dolium.core.access import acl, grants
from dolium.core.access import decisions as access
from dolium.core.access.acl import ALL_USERS, Acl, Grant, Permission
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import (
    AccessDenied,
    AclNotSupported,
    InvalidArgument,
    NoSuchKey,
    UnresolvableGrantByEmail,
)
from dolium.model import Principal, Tenant, Versioning

BUCKET = "shared"
ALICE = Principal("alice", "alice", canonical_id="id-alice", display_name="Alice")
BOB = Principal("bob", "bob", canonical_id="id-bob", display_name="Bob")
ANON = Principal("", "")
ALICE_USER = acl.user("id-alice", "Alice")
BOB_USER = acl.user("id-bob", "Bob")


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.meta.create_tenant(Tenant("alice", "id-alice", "Alice", "alice@example.com"))
    await c.meta.create_tenant(Tenant("bob", "id-bob", "Bob", "Bob@Example.com"))
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def put(
    core: Core, key: str, data: bytes = b"x", who: Principal = ALICE, **opts: str
) -> None:
    await core.store.objects.put(who, BUCKET, key, body(data), WriteOptions(**opts))


def only(*pairs: tuple[acl.Grantee, Permission]) -> Acl:
    """Grants as headers or a body give them: no owner named."""
    return Acl("", "", tuple(Grant(g, p) for g, p in pairs))


async def set_config(core: Core, name: str, document: str) -> None:
    await core.meta.set_bucket_config(BUCKET, name, document)


# --------------------------------------------------------------------------- grantees


async def test_grantees_come_from_tenants(core: Core) -> None:
    meta = core.meta
    assert await grants.grantee_of_tenant(meta, "bob") == BOB_USER
    assert await grants.grantee_of_tenant(meta, "") == acl.user("")
    assert await grants.resolve_email(meta, "bob@example.COM") == BOB_USER
    assert await grants.resolve_email(meta, "nobody@example.com") is None
    assert await grants.resolve_id(meta, "id-alice") == ALICE_USER
    assert await grants.resolve_id(meta, "id-nobody") is None


async def test_resolve_replaces_emails_and_checks_ids(core: Core) -> None:
    asked = only(
        (acl.Grantee(acl.BY_EMAIL, "BOB@example.com"), Permission.READ),
        (acl.user("id-alice"), Permission.WRITE),
        (acl.group(ALL_USERS), Permission.READ),
    )
    resolved = await grants.resolve(core.meta, asked)
    assert [g.grantee for g in resolved.grants] == [BOB_USER, ALICE_USER, acl.group(ALL_USERS)]
    with pytest.raises(UnresolvableGrantByEmail):
        await grants.resolve(
            core.meta, only((acl.Grantee(acl.BY_EMAIL, "x@example.com"), Permission.READ))
        )
    with pytest.raises(InvalidArgument):
        await grants.resolve(core.meta, only((acl.user("id-nobody"), Permission.READ)))


def test_encode_and_decode_requests() -> None:
    assert grants.encode(None) == "" and grants.decode("") is None
    assert grants.decode(grants.encode("public-read")) == "public-read"
    asked = only((BOB_USER, Permission.READ))
    assert grants.decode(grants.encode(asked)) == asked


# --------------------------------------------------------------------------- bucket ACLs


async def test_bucket_acl_defaults_private_and_round_trips(core: Core) -> None:
    assert await core.store.acls.get_bucket(ALICE, BUCKET) == acl.private(ALICE_USER)
    await core.store.acls.put_bucket(ALICE, BUCKET, "public-read")
    found = await core.store.acls.get_bucket(ALICE, BUCKET)
    assert Grant(acl.group(ALL_USERS), Permission.READ) in found.grants
    assert await core.store.listing.list(ANON, BUCKET) is not None
    # Back to private: the stored ACL goes, as the default needs none.
    await core.store.acls.put_bucket(ALICE, BUCKET, "private")
    bucket = await core.meta.get_bucket(BUCKET)
    assert bucket is not None and access.ACL not in bucket.configs
    with pytest.raises(AccessDenied):
        await core.store.listing.list(ANON, BUCKET)


async def test_bucket_acl_needs_acp_permissions(core: Core) -> None:
    with pytest.raises(AccessDenied):
        await core.store.acls.get_bucket(BOB, BUCKET)
    with pytest.raises(AccessDenied):
        await core.store.acls.put_bucket(BOB, BUCKET, "public-read")
    asked = only((ALICE_USER, Permission.FULL_CONTROL), (BOB_USER, Permission.READ_ACP))
    await core.store.acls.put_bucket(ALICE, BUCKET, asked)
    assert (await core.store.acls.get_bucket(BOB, BUCKET)).owner_id == "id-alice"
    with pytest.raises(AccessDenied):
        await core.store.acls.put_bucket(BOB, BUCKET, "public-read")


async def test_bucket_acl_never_changes_the_owner(core: Core) -> None:
    asked = Acl("id-bob", "", (Grant(BOB_USER, Permission.FULL_CONTROL),))
    with pytest.raises(AccessDenied):
        await core.store.acls.put_bucket(ALICE, BUCKET, asked)
    same_owner = Acl("id-alice", "", (Grant(ALICE_USER, Permission.FULL_CONTROL),))
    assert (await core.store.acls.put_bucket(ALICE, BUCKET, same_owner)).owner_id == "id-alice"


async def test_bucket_created_with_an_acl(core: Core) -> None:
    await core.store.buckets.create(ALICE, "open", acl="public-read")
    assert await core.store.listing.list(ANON, "open") is not None
    with pytest.raises(UnresolvableGrantByEmail):
        await core.store.buckets.create(
            ALICE,
            "never",
            acl=grants.encode(only((acl.Grantee(acl.BY_EMAIL, "n@x.y"), Permission.READ))),
        )
    assert await core.meta.get_bucket("never") is None


# --------------------------------------------------------------------------- object ACLs


async def test_object_acl_grants_reads(core: Core) -> None:
    await put(core, "k")
    with pytest.raises(AccessDenied):
        await core.store.objects.open(BOB, BUCKET, "k")
    await core.store.acls.put_object(ALICE, BUCKET, "k", only((BOB_USER, Permission.READ)))
    assert (await core.store.objects.head(BOB, BUCKET, "k")).size == 1
    # READ is not READ_ACP.
    with pytest.raises(AccessDenied):
        await core.store.acls.get_object(BOB, BUCKET, "k")
    found = await core.store.acls.get_object(ALICE, BUCKET, "k")
    assert found.acl.owner_id == "id-alice" and found.version_id is None
    assert found.acl.grants == (Grant(BOB_USER, Permission.READ),)


async def test_object_acl_of_a_missing_key(core: Core) -> None:
    with pytest.raises(NoSuchKey):
        await core.store.acls.get_object(ALICE, BUCKET, "absent")
    # A stranger learns nothing about which keys exist.
    with pytest.raises(AccessDenied):
        await core.store.acls.get_object(BOB, BUCKET, "absent")
    with pytest.raises(AccessDenied):
        await core.store.acls.put_object(BOB, BUCKET, "absent", "public-read")


async def test_write_acp_on_the_object_lets_another_tenant_set_it(core: Core) -> None:
    await put(core, "k", acl=grants.encode(only((BOB_USER, Permission.WRITE_ACP))))
    await core.store.acls.put_object(BOB, BUCKET, "k", "public-read")
    assert (await core.store.objects.head(ANON, BUCKET, "k")).size == 1
    # The owner stays Alice, whoever set the ACL.
    found = await core.store.acls.get_object(ALICE, BUCKET, "k")
    assert found.acl.owner_id == "id-alice"


async def test_object_acl_per_version(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await put(core, "k", b"one")
    first = (await core.store.objects.head(ALICE, BUCKET, "k")).version_id
    await put(core, "k", b"two")
    await core.store.acls.put_object(ALICE, BUCKET, "k", "public-read", first)
    assert (await core.store.objects.head(ANON, BUCKET, "k", first)).size == 3
    with pytest.raises(AccessDenied):
        await core.store.objects.head(ANON, BUCKET, "k")
    found = await core.store.acls.get_object(ALICE, BUCKET, "k", first)
    assert found.version_id == first


# --------------------------------------------------------------------------- ACLs on writes


async def test_put_stores_the_requested_acl(core: Core) -> None:
    await put(core, "private", acl="private")
    await put(core, "open", acl="public-read")
    stored = await core.meta.get_version(BUCKET, "private")
    assert stored is not None and stored.acl == ""  # the default needs no record
    assert (await core.store.objects.head(ANON, BUCKET, "open")).size == 1
    await put(
        core,
        "mailed",
        acl=grants.encode(only((acl.Grantee(acl.BY_EMAIL, "bob@example.com"), Permission.READ))),
    )
    mailed = await core.meta.get_version(BUCKET, "mailed")
    assert mailed is not None
    assert acl.loads(mailed.acl).grants == (Grant(BOB_USER, Permission.READ),)


async def test_bucket_owner_canned_acls_name_the_bucket_owner(core: Core) -> None:
    await core.store.acls.put_bucket(ALICE, BUCKET, only((BOB_USER, Permission.WRITE)))
    await put(core, "theirs", who=BOB, acl="bucket-owner-read")
    found = await core.store.acls.get_object(BOB, BUCKET, "theirs")
    assert found.acl.owner_id == "id-bob"
    assert set(found.acl.grants) == {
        Grant(BOB_USER, Permission.FULL_CONTROL),
        Grant(ALICE_USER, Permission.READ),
    }


async def test_copy_takes_its_own_acl(core: Core) -> None:
    await put(core, "src", acl="public-read")
    source = (BUCKET, "src", None)
    await core.store.objects.copy(ALICE, source, BUCKET, "plain", CopyOptions())
    with pytest.raises(AccessDenied):
        await core.store.objects.head(ANON, BUCKET, "plain")
    await core.store.objects.copy(ALICE, source, BUCKET, "open", CopyOptions(acl="public-read"))
    assert (await core.store.objects.head(ANON, BUCKET, "open")).size == 1


async def test_multipart_carries_the_acl_to_the_version(core: Core) -> None:
    from dolium.core.objects.multipart import CompletedPart

    upload = await core.store.multipart.create(ALICE, BUCKET, "mp", WriteOptions(acl="public-read"))
    part = await core.store.multipart.put_part(
        ALICE, BUCKET, "mp", upload.upload_id, 1, body(b"data"), WriteOptions()
    )
    await core.store.multipart.complete(
        ALICE, BUCKET, "mp", upload.upload_id, [CompletedPart(1, part.etag, {})]
    )
    assert (await core.store.objects.head(ANON, BUCKET, "mp")).size == 4


# --------------------------------------------------------------------------- bucket settings


async def test_block_public_acls(core: Core) -> None:
    await set_config(core, access.PUBLIC_ACCESS_BLOCK, json.dumps({"BlockPublicAcls": True}))
    with pytest.raises(AccessDenied):
        await core.store.acls.put_bucket(ALICE, BUCKET, "authenticated-read")
    with pytest.raises(AccessDenied):
        await put(core, "k", acl="public-read")
    assert await core.meta.get_version(BUCKET, "k") is None
    await put(core, "k", acl=grants.encode(only((BOB_USER, Permission.READ))))
    with pytest.raises(AccessDenied):
        await core.store.acls.put_object(
            ALICE, BUCKET, "k", only((acl.group(ALL_USERS), Permission.READ))
        )


async def test_bucket_owner_enforced(core: Core) -> None:
    await put(core, "old", acl="public-read")
    await core.store.acls.put_bucket(ALICE, BUCKET, only((BOB_USER, Permission.WRITE)))
    await put(core, "bobs", who=BOB)
    await set_config(core, access.OWNERSHIP, access.OWNER_ENFORCED)
    for refused in ("private", "public-read", only((BOB_USER, Permission.READ))):
        with pytest.raises(AclNotSupported):
            await core.store.acls.put_bucket(ALICE, BUCKET, refused)
        with pytest.raises(AclNotSupported):
            await core.store.acls.put_object(ALICE, BUCKET, "old", refused)
    # The bucket owner's full control, canned or spelled out, is accepted.
    await core.store.acls.put_bucket(ALICE, BUCKET, only((ALICE_USER, Permission.FULL_CONTROL)))
    await core.store.acls.put_object(ALICE, BUCKET, "old", "bucket-owner-full-control")
    await put(core, "new", acl="bucket-owner-full-control")
    # Reads show the bucket owner's full control, for Bob's object too.
    assert await core.store.acls.get_bucket(ALICE, BUCKET) == acl.private(ALICE_USER)
    assert (await core.store.acls.get_object(ALICE, BUCKET, "bobs")).acl == acl.private(ALICE_USER)
    with pytest.raises(AccessDenied):
        await core.store.objects.head(ANON, BUCKET, "old")
