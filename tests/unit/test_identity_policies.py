"""Identity policies: parsing, and how the S3 evaluator combines them with
the bucket's own rules (AWS's evaluation logic for IAM users)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.access import identity
from dolium.core.access.actions import Action, Decision, Resource
from dolium.core.access.authorizer import Authorizer
from dolium.core.access.policy import MalformedPolicy
from dolium.core.access.s3_evaluator import S3Evaluator
from dolium.core.accounts.tenant_users import TenantUsers
from dolium.errors import AccessDenied
from dolium.model import Bucket, ObjectVersion, Principal, Tenant, User

ALICE = Principal(tenant="alice", user="dev", canonical_id="a" * 64)
BOB = Principal(tenant="bob", user="dev", canonical_id="b" * 64)
OWN = Bucket(name="own", owner="alice", created=0.0)
OTHER = Bucket(name="theirs", owner="bob", created=0.0)


def doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str, action: str | list[str], resource: str | list[str]) -> dict[str, object]:
    return {"Effect": effect, "Action": action, "Resource": resource}


READ_OWN = doc(stmt("Allow", "s3:GetObject", "arn:aws:s3:::own/*"))
DENY_DELETE = doc(stmt("Deny", "s3:DeleteObject", "*"))


def governed(principal: Principal, *policies: str) -> Principal:
    return dataclasses.replace(principal, policies=policies)


async def judge(
    principal: Principal, action: Action, bucket: Bucket, key: str | None = "k"
) -> Decision:
    return await S3Evaluator().evaluate(principal, action, Resource(bucket, key))


# -- parsing -----------------------------------------------------------------------


def test_identity_policy_parses_any_bucket_and_other_services() -> None:
    policy = identity.parse_identity_policy(
        doc(
            stmt("Allow", ["s3:*", "iam:GetUser"], ["arn:aws:s3:::*", "arn:aws:iam::t:user/u"]),
            stmt("Deny", "s3:DeleteObject", "*"),
        )
    )
    assert len(policy.statements) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", None),
        ("{}", "Missing required field Statement"),
        (
            doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}),
            "Policy document should not specify a principal.",
        ),
        (doc(stmt("Allow", "s3:NoSuchThing", "*")), "Policy has invalid action"),
        (doc(stmt("Allow", "s3:GetObject", "bucket/key")), "Policy has invalid resource"),
        (doc(stmt("Maybe", "s3:GetObject", "*")), "Invalid effect: Maybe"),
    ],
)
def test_bad_identity_policies_are_refused(text: str, message: str | None) -> None:
    with pytest.raises(MalformedPolicy) as raised:
        identity.parse_identity_policy(text)
    if message is not None:
        assert raised.value.message == message


# -- evaluation --------------------------------------------------------------------


async def test_without_policies_a_user_has_its_tenants_rights() -> None:
    assert await judge(ALICE, Action.DELETE, OWN) is Decision.ALLOW
    assert await judge(ALICE, Action.READ, OTHER) is Decision.NONE


async def test_an_explicit_deny_restricts_a_user_of_the_owner_tenant() -> None:
    user = governed(ALICE, DENY_DELETE)
    assert await judge(user, Action.DELETE, OWN) is Decision.DENY
    assert await judge(user, Action.READ, OWN) is Decision.NONE  # no Allow either


async def test_a_governed_user_gets_what_its_policies_allow_in_its_tenant() -> None:
    user = governed(ALICE, READ_OWN, DENY_DELETE)
    assert await judge(user, Action.READ, OWN) is Decision.ALLOW
    assert await judge(user, Action.WRITE, OWN) is Decision.NONE
    assert await judge(user, Action.LIST, OWN, None) is Decision.NONE
    assert await judge(user, Action.DELETE, OWN) is Decision.DENY
    mine = Bucket(name="mine2", owner="alice", created=0.0)
    assert await judge(user, Action.READ, mine) is Decision.NONE


async def test_its_tenants_objects_are_not_its_own() -> None:
    version = ObjectVersion(bucket="mine2", key="k", version_id="v", owner="alice")
    user = governed(ALICE, READ_OWN)
    mine = Bucket(name="mine2", owner="alice", created=0.0)
    resource = Resource(mine, "k", version=version)
    assert await S3Evaluator().evaluate(user, Action.READ, resource) is Decision.NONE


def _bucket_policy(bucket: Bucket, *statements: dict[str, object]) -> Bucket:
    return dataclasses.replace(bucket, configs={"policy": doc(*statements)})


async def test_across_tenants_both_must_allow() -> None:
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": "alice"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::theirs/*",
    }
    shared = _bucket_policy(OTHER, grant)
    own_allow = doc(stmt("Allow", "s3:GetObject", "arn:aws:s3:::theirs/*"))
    assert await judge(governed(ALICE, own_allow), Action.READ, shared) is Decision.ALLOW
    assert await judge(governed(ALICE, READ_OWN), Action.READ, shared) is Decision.DENY
    assert await judge(governed(ALICE, own_allow), Action.READ, OTHER) is Decision.NONE
    assert await judge(ALICE, Action.READ, shared) is Decision.ALLOW  # ungoverned: as before


class Grants:
    """A grantor that allows everything (as a Swift ACL or a sharing may)."""

    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        return Decision.ALLOW


async def test_across_tenants_no_grant_stands_in_for_the_users_own_allow() -> None:
    authorizer = Authorizer([S3Evaluator()], grantors=[Grants()])
    theirs = Resource(OTHER, "k")
    assert await authorizer.allows(ALICE, Action.READ, theirs)  # ungoverned: the grant counts
    assert not await authorizer.allows(governed(ALICE, READ_OWN), Action.READ, theirs)
    own_allow = doc(stmt("Allow", "s3:GetObject", "arn:aws:s3:::theirs/*"))
    assert await authorizer.allows(governed(ALICE, own_allow), Action.READ, theirs)
    # In its own tenant a grant (a resource's allow) suffices.
    assert await authorizer.allows(governed(ALICE, DENY_DELETE), Action.READ, Resource(OWN, "k"))


async def test_in_its_own_tenant_a_bucket_policy_allow_suffices() -> None:
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::alice:user/dev"},
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::own/*",
    }
    bucket = _bucket_policy(OWN, grant)
    assert await judge(governed(ALICE, READ_OWN), Action.WRITE, bucket) is Decision.ALLOW


async def test_a_bucket_policy_deny_still_wins_over_an_identity_allow() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    bucket = _bucket_policy(OWN, {**deny, "Resource": "arn:aws:s3:::own/*"})
    assert await judge(governed(ALICE, READ_OWN), Action.READ, bucket) is Decision.DENY


async def test_conditions_apply_to_identity_policies() -> None:
    only_from = doc(
        {
            **stmt("Allow", "s3:GetObject", "*"),
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    inside = dataclasses.replace(governed(ALICE, only_from), facts={"aws:sourceip": "10.1.2.3"})
    outside = dataclasses.replace(inside, facts={"aws:sourceip": "192.168.1.1"})
    assert await judge(inside, Action.READ, OWN) is Decision.ALLOW
    assert await judge(outside, Action.READ, OWN) is Decision.NONE


async def test_an_unreadable_stored_policy_denies() -> None:
    assert await judge(governed(ALICE, "{broken"), Action.READ, OWN) is Decision.DENY


# -- loading -----------------------------------------------------------------------


async def _store() -> MemoryMetaStore:
    meta = MemoryMetaStore()
    await meta.create_tenant(Tenant("alice", "a" * 64, "alice"))
    await meta.create_user(User("alice", "dev"))
    await meta.create_user(User("alice", "boss", admin=True))
    await meta.create_user(User("alice", "ops"))
    return meta


async def test_principals_carry_their_own_and_their_groups_policies() -> None:
    meta = await _store()
    await meta.put_user_policy("alice", "dev", "read", READ_OWN)
    await meta.put_group_policy("alice", "devs", "nodelete", DENY_DELETE)
    await meta.put_group_policy("alice", "everyone", "x", "{}")
    await meta.set_group("alice", "devs", ["alice:dev", "bob:dev"])
    loaded = await identity.with_policies(meta, ALICE)
    assert loaded.policies == (READ_OWN, DENY_DELETE)
    ops = await identity.with_policies(meta, Principal(tenant="alice", user="ops"))
    assert ops.policies == ()
    await meta.set_group("alice", "everyone", ["alice"])  # a whole account as a member
    ops = await identity.with_policies(meta, Principal(tenant="alice", user="ops"))
    assert ops.policies == ("{}",)
    # A member of another account takes none of this account's group policies.
    assert (await identity.with_policies(meta, BOB)).policies == ()


async def test_admins_are_not_governed() -> None:
    meta = await _store()
    await meta.put_user_policy("alice", "boss", "deny", DENY_DELETE)
    boss = Principal(tenant="alice", user="boss", admin=True)
    assert (await identity.with_policies(meta, boss)).policies == ()


# -- IAM calls -----------------------------------------------------------------------


def _clock() -> float:
    return 1.0


async def test_iam_calls_are_for_tenant_admins_and_users_their_policies_allow() -> None:
    meta = await _store()
    boss = Principal(tenant="alice", user="boss", admin=True)
    await TenantUsers(meta, _clock, boss).create_user("new")
    plain = Principal(tenant="alice", user="ops")
    with pytest.raises(AccessDenied):
        await TenantUsers(meta, _clock, plain).list_users()
    helper = doc(
        stmt("Allow", "iam:ListUsers", "*"),
        stmt("Allow", "iam:*AccessKey*", "arn:aws:iam::alice:user/new"),
        stmt("Deny", "iam:DeleteAccessKey", "*"),
    )
    users = TenantUsers(meta, _clock, governed(plain, helper))
    assert [u.name for u in await users.list_users()] == ["boss", "dev", "new", "ops"]
    key = await users.create_key("new")
    assert [k.access_key for k in await users.list_keys("new")] == [key.access_key]
    with pytest.raises(AccessDenied):
        await users.create_key("dev")
    with pytest.raises(AccessDenied):
        await users.delete_key("new", key.access_key)
    with pytest.raises(AccessDenied):
        await users.create_user("other")
    # Another tenant's admin reaches only its own tenant's users.
    await meta.create_tenant(Tenant("bob", "b" * 64, "bob"))
    outsider = TenantUsers(meta, _clock, Principal(tenant="bob", user="x", admin=True))
    assert await outsider.list_users() == []


async def test_governed_users_need_leave_to_create_and_list_buckets() -> None:
    assert identity.permits(ALICE, "s3:ListAllMyBuckets", "arn:aws:s3:::*")
    user = governed(ALICE, READ_OWN)
    assert not identity.permits(user, "s3:ListAllMyBuckets", "arn:aws:s3:::*")
    lister = governed(ALICE, doc(stmt("Allow", "s3:ListAllMyBuckets", "arn:aws:s3:::*")))
    assert identity.permits(lister, "s3:ListAllMyBuckets", "arn:aws:s3:::*")
