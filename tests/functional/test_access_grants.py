"""ACLs, bucket policies, ownership controls and the public access block, each
checked for giving exactly what it says to exactly whom it names."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from access_support import NO_BLOCK, TAGS, body, canonical_id, policy, refusal, rule
from botocore.exceptions import ClientError

# --------------------------------------------------------------------------- grants and policies

ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'


@pytest.fixture(scope="module")
def other_id(other_s3: Any) -> str:
    return canonical_id(other_s3)


def allowed(call: Callable[[], Any]) -> bool:
    """Whether the call succeeds; a refusal must be a 403 AccessDenied."""
    try:
        call()
    except ClientError as exc:
        assert refusal(exc) in {(403, "AccessDenied"), (403, "403")}, exc.response
        return False
    return True


def told_missing(c: Any, bucket: str, key: str) -> None:
    """Succeeds when `c` is told `key` is missing: S3 says so to whoever may list."""
    try:
        c.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if refusal(exc) != (404, "NoSuchKey"):
            raise
    else:
        raise AssertionError(f"{key} exists")


def probe(c: Any, bucket: str, key: str = "k") -> dict[str, Callable[[], Any]]:
    """The calls a grant or policy may open to `c`; writes last, in a harmless order."""
    return {
        "list": lambda: c.list_objects_v2(Bucket=bucket),
        "list versions": lambda: c.list_object_versions(Bucket=bucket),
        "list uploads": lambda: c.list_multipart_uploads(Bucket=bucket),
        "head bucket": lambda: c.head_bucket(Bucket=bucket),
        "location": lambda: c.get_bucket_location(Bucket=bucket),
        "bucket acl": lambda: c.get_bucket_acl(Bucket=bucket),
        "policy": lambda: c.get_bucket_policy(Bucket=bucket),
        "get": lambda: c.get_object(Bucket=bucket, Key=key),
        "head": lambda: c.head_object(Bucket=bucket, Key=key),
        "get missing": lambda: told_missing(c, bucket, "absent"),
        "object acl": lambda: c.get_object_acl(Bucket=bucket, Key=key),
        "tags": lambda: c.get_object_tagging(Bucket=bucket, Key=key),
        "put tags": lambda: c.put_object_tagging(Bucket=bucket, Key=key, Tagging=TAGS),
        "put": lambda: c.put_object(Bucket=bucket, Key=f"new-{uuid.uuid4().hex[:6]}", Body=b"n"),
        "overwrite": lambda: c.put_object(Bucket=bucket, Key=key, Body=b"overwritten"),
        "delete": lambda: c.delete_object(Bucket=bucket, Key="doomed"),
        "bucket tags": lambda: c.put_bucket_tagging(Bucket=bucket, Tagging=TAGS),
        "delete bucket": lambda: c.delete_bucket(Bucket=bucket),
    }


def allowances(
    c: Any, bucket: str, key: str = "k", extra: dict[str, Callable[[], Any]] | None = None
) -> set[str]:
    """The names of the probes (and `extra` calls, run last) that `c` may make."""
    calls = {**probe(c, bucket, key), **(extra or {})}
    return {name for name, call in calls.items() if allowed(call)}


@pytest.fixture
def shared(s3: Any, bucket: str) -> str:
    """A private bucket holding k (b"k"), doomed and k2."""
    for key in ("k", "doomed", "k2"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


@pytest.mark.parametrize("who", ["other", "anon"])
def test_public_read_bucket_acl_allows_listing_only(
    who: str, s3: Any, other_s3: Any, anon: Any, shared: str
) -> None:
    s3.put_bucket_acl(Bucket=shared, ACL="public-read")
    caller = other_s3 if who == "other" else anon
    listing = {"list", "list versions", "list uploads", "head bucket", "get missing"}
    assert allowances(caller, shared) == listing


@pytest.mark.parametrize("who", ["other", "anon"])
def test_public_read_object_acl_allows_that_object_only(
    who: str, s3: Any, other_s3: Any, anon: Any, shared: str
) -> None:
    s3.put_object_acl(Bucket=shared, Key="k", ACL="public-read")
    caller = other_s3 if who == "other" else anon
    assert allowances(caller, shared) == {"get", "head"}
    assert not allowances(caller, shared, key="k2") & {"get", "head"}
    assert body(s3, shared, "k") == b"k"


OBJECT_GRANTS = {
    "GrantRead": {"get", "head"},
    "GrantReadACP": {"object acl"},
    "GrantWriteACP": {"put acl"},
    "GrantFullControl": {"get", "head", "object acl", "put acl"},
}


@pytest.mark.parametrize("grant", OBJECT_GRANTS)
def test_object_grant_gives_what_it_names(
    grant: str, s3: Any, other_s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_object_acl(Bucket=shared, Key="k", **{grant: f'id="{other_id}"'})

    def put_acl(c: Any) -> Callable[[], Any]:  # the same grant again: changes nothing
        return lambda: c.put_object_acl(Bucket=shared, Key="k", **{grant: f'id="{other_id}"'})

    assert (
        allowances(other_s3, shared, extra={"put acl": put_acl(other_s3)}) == OBJECT_GRANTS[grant]
    )
    assert not allowances(other_s3, shared, key="k2") & OBJECT_GRANTS[grant]
    assert allowances(anon, shared, extra={"put acl": put_acl(anon)}) == set()
    assert body(s3, shared, "k") == b"k"


BUCKET_GRANTS = {
    "GrantRead": {"list", "list versions", "list uploads", "head bucket", "get missing"},
    "GrantWrite": {"put", "overwrite", "delete"},
    "GrantReadACP": {"bucket acl"},
    "GrantWriteACP": {"put bucket acl"},
    "GrantFullControl": {
        *("list", "list versions", "list uploads", "head bucket", "get missing", "bucket acl"),
        *("put", "overwrite", "delete", "put bucket acl"),
    },
}


@pytest.mark.parametrize("grant", BUCKET_GRANTS)
def test_bucket_grant_gives_what_it_names(
    grant: str, s3: Any, other_s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_bucket_acl(Bucket=shared, **{grant: f'id="{other_id}"'})

    def put_acl(c: Any) -> Callable[[], Any]:
        return lambda: c.put_bucket_acl(Bucket=shared, **{grant: f'id="{other_id}"'})

    got = allowances(other_s3, shared, extra={"put bucket acl": put_acl(other_s3)})
    assert got == BUCKET_GRANTS[grant]
    assert allowances(anon, shared, extra={"put bucket acl": put_acl(anon)}) == set()
    # An object a bucket grant let the other tenant overwrite is its own now.
    expected = b"overwritten" if "overwrite" in got else b"k"
    assert body(s3, shared, "k") == expected


def test_policy_allow_on_a_prefix_gives_that_prefix_only(
    s3: Any, other_s3: Any, anon: Any, shared: str
) -> None:
    for key in ("shared/a", "shared/doomed", "private/b"):
        s3.put_object(Bucket=shared, Key=key, Body=b"x")
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    statement = rule("Allow", shared, actions, {"AWS": "other"}, "/shared/*")
    s3.put_bucket_policy(Bucket=shared, Policy=policy(statement))
    assert allowances(other_s3, shared, "private/b") == set()
    assert allowances(anon, shared, "shared/a") == set()
    calls = {
        "get": partial(other_s3.get_object, Bucket=shared, Key="shared/a"),
        "put": partial(other_s3.put_object, Bucket=shared, Key="shared/new", Body=b"n"),
        "delete": partial(other_s3.delete_object, Bucket=shared, Key="shared/doomed"),
        # No s3:ListBucket: a missing key is refused, not reported missing.
        "get missing": partial(other_s3.get_object, Bucket=shared, Key="shared/absent"),
        "sibling": partial(other_s3.get_object, Bucket=shared, Key="sharedx"),
    }
    assert {name for name, call in calls.items() if allowed(call)} == {"get", "put", "delete"}


def test_explicit_deny_overrides_acl_and_policy_allows(
    s3: Any, other_s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_object_acl(Bucket=shared, Key="k", ACL="public-read")
    s3.put_object_acl(Bucket=shared, Key="k2", ACL="public-read")
    s3.put_bucket_acl(Bucket=shared, GrantRead=f'id="{other_id}"')
    s3.put_object(Bucket=shared, Key="secret/x", Body=b"s")
    other = {"AWS": "other"}
    statements = [
        rule("Allow", shared, "s3:GetObject", other),
        rule("Deny", shared, "s3:GetObject", "*", "/k"),  # over the object's public-read
        rule("Deny", shared, "s3:GetObject", other, "/secret/*"),  # over the Allow above
        rule("Deny", shared, "s3:ListBucket", other, ""),  # over the bucket grant
    ]
    s3.put_bucket_policy(Bucket=shared, Policy=policy(*statements))
    for c in (other_s3, anon):
        assert not allowed(partial(c.get_object, Bucket=shared, Key="k"))
        assert allowed(partial(c.get_object, Bucket=shared, Key="k2"))
    assert not allowed(partial(other_s3.get_object, Bucket=shared, Key="secret/x"))
    assert allowed(partial(other_s3.get_object, Bucket=shared, Key="doomed"))
    assert not allowed(partial(other_s3.list_objects_v2, Bucket=shared))
    # The owner is denied too, and can still take the policy back.
    assert not allowed(partial(s3.get_object, Bucket=shared, Key="k"))
    s3.delete_bucket_policy(Bucket=shared)
    assert body(s3, shared, "k") == b"k"


def refused(call: Callable[..., Any], **params: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    return refusal(exc.value)


ENFORCED = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_bucket_owner_enforced_refused_while_the_bucket_acl_grants(
    s3: Any, shared: str, other_id: str
) -> None:
    s3.put_bucket_acl(Bucket=shared, GrantRead=f'id="{other_id}"')
    enforce = {"Bucket": shared, "OwnershipControls": ENFORCED}
    assert refused(s3.put_bucket_ownership_controls, **enforce) == (
        400,
        "InvalidBucketAclWithObjectOwnership",
    )
    s3.put_bucket_acl(Bucket=shared, ACL="private")
    s3.put_bucket_ownership_controls(**enforce)


def test_bucket_owner_enforced_disables_acl_grants(
    s3: Any, other_s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_object_acl(Bucket=shared, Key="k", ACL="public-read")
    s3.put_object_acl(Bucket=shared, Key="k2", GrantRead=f'id="{other_id}"')
    s3.put_bucket_ownership_controls(Bucket=shared, OwnershipControls=ENFORCED)
    assert allowances(anon, shared) == set()
    assert allowances(other_s3, shared, "k2") == set()
    grant = {"Bucket": shared, "Key": "k", "GrantRead": f'id="{other_id}"'}
    assert refused(s3.put_object_acl, **grant) == (400, "AccessControlListNotSupported")
    # Policies still grant.
    statement = rule("Allow", shared, "s3:GetObject", {"AWS": "other"}, "/k2")
    s3.put_bucket_policy(Bucket=shared, Policy=policy(statement))
    assert allowances(other_s3, shared, "k2") == {"get", "head"}


def block(s3: Any, bucket: str, *names: str) -> None:
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration={**NO_BLOCK, **dict.fromkeys(names, True)}
    )


def test_block_public_acls_refuses_public_acls_only(
    s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_object_acl(Bucket=shared, Key="k2", ACL="public-read")
    block(s3, shared, "BlockPublicAcls")
    public = {
        "bucket canned": lambda: s3.put_bucket_acl(Bucket=shared, ACL="public-read"),
        "bucket authenticated": lambda: s3.put_bucket_acl(Bucket=shared, ACL="authenticated-read"),
        "bucket grant": lambda: s3.put_bucket_acl(Bucket=shared, GrantRead=ALL_USERS),
        "object acl": lambda: s3.put_object_acl(Bucket=shared, Key="k", ACL="public-read"),
        "object grant": lambda: s3.put_object_acl(Bucket=shared, Key="k", GrantRead=ALL_USERS),
        "put": lambda: s3.put_object(Bucket=shared, Key="p", Body=b"p", ACL="public-read"),
        "copy": lambda: s3.copy_object(
            Bucket=shared, Key="p", CopySource={"Bucket": shared, "Key": "k"}, ACL="public-read"
        ),
        "upload": lambda: s3.create_multipart_upload(Bucket=shared, Key="p", ACL="public-read"),
    }
    assert {name: refused(call) for name, call in public.items()} == dict.fromkeys(
        public, (403, "AccessDenied")
    )
    assert refused(s3.head_object, Bucket=shared, Key="p") == (404, "404")
    assert not s3.list_multipart_uploads(Bucket=shared).get("Uploads")
    s3.put_object_acl(Bucket=shared, Key="k", GrantRead=f'id="{other_id}"')
    s3.put_bucket_acl(Bucket=shared, ACL="private")
    # What was public before stays public: the setting refuses new public ACLs.
    assert body(anon, shared, "k2") == b"k2"


def test_ignore_public_acls_ignores_public_grants_only(
    s3: Any, other_s3: Any, anon: Any, shared: str, other_id: str
) -> None:
    s3.put_bucket_acl(Bucket=shared, ACL="public-read")
    s3.put_object_acl(Bucket=shared, Key="k", ACL="public-read")
    s3.put_object_acl(Bucket=shared, Key="k2", GrantRead=f'id="{other_id}"')
    block(s3, shared, "IgnorePublicAcls")
    assert allowances(anon, shared) == set()
    assert allowances(other_s3, shared) == set()
    assert allowances(other_s3, shared, "k2") == {"get", "head"}
    s3.put_object_acl(Bucket=shared, Key="doomed", ACL="public-read")  # accepted, not applied
    assert not allowed(partial(anon.get_object, Bucket=shared, Key="doomed"))
    s3.delete_public_access_block(Bucket=shared)
    assert body(anon, shared, "k") == b"k"


def test_restrict_public_buckets_ignores_public_policies(
    s3: Any, other_s3: Any, anon: Any, shared: str
) -> None:
    to_all = rule("Allow", shared, "s3:GetObject", "*", "/k")
    to_other = rule("Allow", shared, "s3:GetObject", {"AWS": "other"}, "/k2")
    s3.put_bucket_policy(Bucket=shared, Policy=policy(to_all, to_other))
    assert body(anon, shared, "k") == b"k"
    assert body(other_s3, shared, "k2") == b"k2"
    block(s3, shared, "RestrictPublicBuckets")
    # A public policy now grants no one outside the owner's tenant, not even
    # through its statements that name a tenant.
    assert not allowed(partial(anon.get_object, Bucket=shared, Key="k"))
    assert not allowed(partial(other_s3.get_object, Bucket=shared, Key="k"))
    assert not allowed(partial(other_s3.get_object, Bucket=shared, Key="k2"))
    assert body(s3, shared, "k") == b"k"
    s3.put_bucket_policy(Bucket=shared, Policy=policy(to_other))
    assert body(other_s3, shared, "k2") == b"k2"


def test_block_public_policy_refuses_public_policies(s3: Any, shared: str) -> None:
    to_other = rule("Allow", shared, "s3:GetObject", {"AWS": "other"})
    s3.put_bucket_policy(Bucket=shared, Policy=policy(to_other))
    block(s3, shared, "BlockPublicPolicy")
    to_all = rule("Allow", shared, "s3:GetObject")
    assert refused(s3.put_bucket_policy, Bucket=shared, Policy=policy(to_all)) == (
        403,
        "AccessDenied",
    )
    assert s3.get_bucket_policy(Bucket=shared)["Policy"] == policy(to_other)
    assert s3.get_bucket_policy_status(Bucket=shared)["PolicyStatus"]["IsPublic"] is False
