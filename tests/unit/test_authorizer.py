"""The authorizer: how evaluators combine, and the S3 evaluator's table."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from dolium.core.access import acl
from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.access.authorizer import Authorizer, Evaluator
from dolium.core.access.policy_actions import BUCKET_ACTIONS, OBJECT_ACTIONS
from dolium.core.access.s3_evaluator import S3_ACTIONS, S3Evaluator, s3_action
from dolium.core.access.sharing import SharedPath, Sharing, SharingEvaluator
from dolium.model import Bucket, ObjectVersion, Principal

BOB = Principal(tenant="bob", user="bob", canonical_id="b" * 64)
BUCKET = Bucket(name="b1", owner="alice", created=0.0)
RESOURCE = Resource(BUCKET, "k")


class Fixed:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.asked = 0

    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        self.asked += 1
        return self.decision


def _conforms(e: Fixed, s3: S3Evaluator, sharing: SharingEvaluator) -> list[Evaluator]:
    return [e, s3, sharing]  # mypy fails if one drifts from the protocol


async def decide(*decisions: Decision) -> Decision:
    authorizer = Authorizer([Fixed(d) for d in decisions])
    return await authorizer.decide(BOB, Action.READ, RESOURCE)


async def test_an_explicit_deny_wins_wherever_it_comes_from() -> None:
    assert await decide(Decision.ALLOW, Decision.DENY) is Decision.DENY
    assert await decide(Decision.DENY, Decision.ALLOW) is Decision.DENY
    assert await decide(Decision.NONE, Decision.DENY, Decision.ALLOW) is Decision.DENY


async def test_otherwise_any_allow_allows() -> None:
    assert await decide(Decision.NONE, Decision.ALLOW) is Decision.ALLOW
    assert await decide(Decision.ALLOW, Decision.NONE) is Decision.ALLOW
    assert await decide(Decision.NONE, Decision.NONE) is Decision.NONE
    assert await decide() is Decision.NONE


async def test_a_deny_stops_the_asking() -> None:
    first, second = Fixed(Decision.DENY), Fixed(Decision.ALLOW)
    assert not await Authorizer([first, second]).allows(BOB, Action.READ, RESOURCE)
    assert (first.asked, second.asked) == (1, 0)


# --------------------------------------------------------------------------- the S3 table

CONTAINER_ACTIONS = {Action.LIST, Action.LIST_VERSIONS, Action.LIST_UPLOADS}
SETTING_ACTIONS = {Action.READ_SETTING, Action.WRITE_SETTING, Action.DELETE_SETTING}


def test_every_action_and_every_setting_read_has_an_s3_name() -> None:
    for action in set(Action) - SETTING_ACTIONS:
        assert (action, None) in S3_ACTIONS, action
    for setting in Setting:
        assert (Action.READ_SETTING, setting) in S3_ACTIONS, setting


def test_s3_names_are_ones_a_policy_may_name_on_the_right_resource() -> None:
    for (action, setting), names in S3_ACTIONS.items():
        on_object = setting is None and action not in CONTAINER_ACTIONS | {Action.DELETE_CONTAINER}
        for name in names:
            assert name in (OBJECT_ACTIONS if on_object else BUCKET_ACTIONS), name


def test_a_call_naming_a_version_has_the_version_name() -> None:
    latest, named = Resource(BUCKET, "k"), Resource(BUCKET, "k", version_id="v1")
    assert s3_action(Action.READ, latest) == "s3:GetObject"
    assert s3_action(Action.READ, named) == "s3:GetObjectVersion"
    assert s3_action(Action.DELETE, named) == "s3:DeleteObjectVersion"
    assert s3_action(Action.WRITE_TAGS, named) == "s3:PutObjectVersionTagging"
    assert s3_action(Action.READ_RETENTION, named) == "s3:GetObjectRetention"
    cors = Resource(BUCKET, setting=Setting.CORS)
    assert s3_action(Action.DELETE_SETTING, cors) == "s3:PutBucketCORS"


def test_a_pair_no_s3_call_makes_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(LookupError):
        s3_action(Action.WRITE_SETTING, Resource(BUCKET, setting=Setting.LOCATION))


# --------------------------------------------------------------------------- evaluators together


def _with_policy(effect: str, action: str) -> Bucket:
    statement = {
        "Effect": effect,
        "Principal": "*",
        "Action": action,
        "Resource": f"arn:aws:s3:::{BUCKET.name}/*",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return Bucket(name=BUCKET.name, owner=BUCKET.owner, created=0.0, configs={"policy": policy})


async def test_an_object_acl_allows_once_the_version_is_given() -> None:
    grant = acl.Grant(acl.user(BOB.canonical_id), acl.Permission.READ)
    version = ObjectVersion(
        bucket=BUCKET.name,
        key="k",
        version_id="v1",
        owner="alice",
        acl=acl.dumps(acl.Acl("a" * 64, "", (grant,))),
    )
    authorizer = Authorizer([S3Evaluator()])
    assert await authorizer.decide(BOB, Action.READ, RESOURCE) is Decision.NONE
    with_version = Resource(BUCKET, "k", version=version)
    assert await authorizer.decide(BOB, Action.READ, with_version) is Decision.ALLOW
    assert await authorizer.decide(BOB, Action.WRITE_ACL, with_version) is Decision.NONE


class OneShare:
    async def sharing(self, container: Bucket, paths: Sequence[str]) -> dict[str, SharedPath]:
        return {"k": SharedPath(Sharing(read=frozenset({"bob"})))}

    async def group_members(self, account: str, group: str) -> frozenset[str]:
        return frozenset()


async def test_sharing_allows_what_s3_rules_do_not_unless_a_policy_denies() -> None:
    evaluators: list[Evaluator] = [S3Evaluator(), SharingEvaluator(OneShare())]
    assert not await Authorizer([S3Evaluator()]).allows(BOB, Action.READ, RESOURCE)
    assert await Authorizer(evaluators).allows(BOB, Action.READ, RESOURCE)
    denied = Resource(_with_policy("Deny", "s3:GetObject"), "k")
    assert await Authorizer(evaluators).decide(BOB, Action.READ, denied) is Decision.DENY
    allowed = Resource(_with_policy("Allow", "s3:PutObject"), "k")
    assert await Authorizer(evaluators).allows(BOB, Action.WRITE, allowed)


async def test_grantors_are_asked_only_when_nothing_else_allowed() -> None:
    allow, grantor = Fixed(Decision.ALLOW), Fixed(Decision.ALLOW)
    assert await Authorizer([allow], grantors=[grantor]).allows(BOB, Action.READ, RESOURCE)
    assert grantor.asked == 0
    silent = Fixed(Decision.NONE)
    assert await Authorizer([silent], grantors=[grantor]).allows(BOB, Action.READ, RESOURCE)
    assert grantor.asked == 1
    deny = Fixed(Decision.DENY)
    refused = await Authorizer([deny], grantors=[grantor]).decide(BOB, Action.READ, RESOURCE)
    assert refused is Decision.DENY
    assert grantor.asked == 1
    nothing = Authorizer([silent], grantors=[Fixed(Decision.NONE)])
    assert await nothing.decide(BOB, Action.READ, RESOURCE) is Decision.NONE
