"""Bucket policies: S3's validation messages and AWS's evaluation rules."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolium import errors
from dolium.core.access import policy as pol
from dolium.core.access.policy import (
    ACTIONS,
    BUCKET_ACTIONS,
    OBJECT_ACTIONS,
    Decision,
    MalformedPolicy,
    Policy,
    evaluate,
    is_public,
    named_tenants,
    parse_policy,
    parsed,
    resource_arn,
)
from dolium.core.access.policy_conditions import multi_value
from dolium.model import Principal

BUCKET = "b1"
OBJECTS = "arn:aws:s3:::b1/*"
ALICE = Principal("t1", "alice", access_key="AK1", canonical_id="c" * 64)
BOB = Principal("t1", "bob", access_key="AK2", canonical_id="d" * 64)
CAROL = Principal("t2", "carol", access_key="AK3", canonical_id="e" * 64)
ANON = Principal("", "")


def statement(**fields: Any) -> dict[str, Any]:
    """A statement allowing everyone s3:GetObject on every object, with `fields` over it."""
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": OBJECTS,
    }
    for name, value in fields.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def text(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def policy(*statements: dict[str, Any]) -> Policy:
    return parse_policy(text(*statements), BUCKET)


def refused(document: str, message: str) -> None:
    with pytest.raises(MalformedPolicy) as caught:
        parse_policy(document, BUCKET)
    assert caught.value.message == message


def decide(
    p: Policy,
    who: Principal = ALICE,
    action: str = "s3:GetObject",
    key: str | None = "k",
    facts: dict[str, str] | None = None,
) -> Decision:
    return evaluate(p, who, action, resource_arn(BUCKET, key), facts or {})


# --------------------------------------------------------------------------- documents


def test_malformed_policy_is_an_invalid_request() -> None:
    assert issubclass(MalformedPolicy, errors.InvalidRequest)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "Policies must be valid JSON and the first byte must be '{'"),
        ("invalid json", "Policies must be valid JSON and the first byte must be '{'"),
        ("[]", "Policies must be valid JSON and the first byte must be '{'"),
        (' {"Statement": []}', "Policies must be valid JSON and the first byte must be '{'"),
        ("{", "This policy contains invalid Json"),
        ('{"Statement": []} x', "This policy contains invalid Json"),
        ('{"Statement": NaN}', "This policy contains invalid Json"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "This policy contains invalid Json"),
        ("{}", "Missing required field Statement"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        ('{"Statement": []}', "Could not parse the policy: Statement is empty!"),
        (
            '{"Version": "2020-01-01", "Statement": []}',
            "The policy must contain a valid version string",
        ),
        ('{"Version": 2012, "Statement": []}', "The policy must contain a valid version string"),
        ('{"Id": 5, "Statement": []}', "Invalid policy syntax."),
        ('{"Statement": [], "Foo": 1}', "Unknown field Foo"),
        ('{"Statement": "x"}', "Invalid policy syntax."),
        ('{"Statement": [1]}', "Invalid policy syntax."),
        (
            '{"Statement": [], "Statement": []}',
            "Statement/policy already has instance of Statement",
        ),
    ],
)
def test_document_errors(document: str, message: str) -> None:
    refused(document, message)


def test_duplicate_element_in_a_statement() -> None:
    document = (
        '{"Statement": {"Effect": "Allow", "Effect": "Deny", "Principal": "*",'
        ' "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b1/*"}}'
    )
    refused(document, "Statement/policy already has instance of Effect")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Effect": None}, "Missing required field Effect"),
        ({"Effect": "allow"}, "Invalid effect: allow"),
        ({"Effect": "Permit"}, "Invalid effect: Permit"),
        ({"Effect": ["Allow"]}, 'Invalid effect: ["Allow"]'),
        ({"Sid": 1}, "Invalid policy syntax."),
        ({"Bogus": 1}, "Unknown field Bogus"),
        ({"Principal": None}, "Missing required field Principal"),
        ({"NotPrincipal": "*"}, "Statement/policy already has instance of Principal"),
        ({"Action": None}, "Missing required field Action"),
        ({"NotAction": "s3:PutObject"}, "Statement/policy already has instance of Action"),
        ({"Resource": None}, "Missing required field Resource"),
        ({"NotResource": OBJECTS}, "Statement/policy already has instance of Resource"),
        ({"Condition": "x"}, "Invalid policy syntax."),
    ],
)
def test_statement_errors(fields: dict[str, Any], message: str) -> None:
    refused(text(statement(**fields)), message)


def test_null_action_is_a_syntax_error() -> None:
    refused(text(statement()).replace('"s3:GetObject"', "null"), "Invalid policy syntax.")


def test_statement_may_be_one_object_and_version_may_be_absent() -> None:
    p = parse_policy(json.dumps({"Id": "P1", "Statement": statement(Sid="S 1")}), BUCKET)
    assert p.version == "2008-10-17"
    assert p.id == "P1"
    assert [s.sid for s in p.statements] == ["S 1"]
    assert parse_policy(text(statement()), BUCKET).version == "2012-10-17"


@pytest.mark.parametrize(
    "action",
    [
        ["s3:GetObjectz"],
        ["iam:GetUser"],
        ["s3:Foo*"],
        ["s3:PutObjectLockConfiguration"],  # the real name is PutBucketObjectLockConfiguration
        [""],
        ["s3:"],
        ["s3:Get Object"],
        ["s3:GetObject", "s3:Nope"],
    ],
)
def test_invalid_action(action: list[str]) -> None:
    refused(text(statement(Action=action)), "Policy has invalid action")


def test_empty_action_list() -> None:
    refused(text(statement(Action=[])), "Missing required field Action cannot be empty!")
    refused(text(statement(Resource=[])), "Missing required field Resource cannot be empty!")


def test_action_list_of_non_strings_is_a_syntax_error() -> None:
    refused(text(statement(Action=[1])), "Invalid policy syntax.")
    refused(text(statement(Action={"a": "b"})), "Invalid policy syntax.")


@pytest.mark.parametrize(
    "action", ["*", "s3:*", "s3:Get*", "S3:GETOBJECT", "s3:?etObject", "s3:*Object", "s3:Get*ct"]
)
def test_valid_action_patterns(action: str) -> None:
    assert decide(policy(statement(Action=action))) is Decision.ALLOW


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:s3:::b2/*",
        "arn:aws:s3:::b2",
        "arn:aws:s3:::b1x/*",
        "arn:aws:s3:::b",
        "arn:aws:s3:::/b1/*",
        "arn:aws:s3:::",
        "arn:aws:s3:us-east-1::b1/*",
        "arn:aws:iam:::b1/*",
        "b1/*",
        "",
    ],
)
def test_resource_of_another_bucket_or_not_an_arn(resource: str) -> None:
    refused(text(statement(Resource=[OBJECTS, resource])), "Policy has invalid resource")


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:PutObject", "arn:aws:s3:::b1"),
        ("s3:ListBucket", "arn:aws:s3:::b1/*"),
        ("s3:ListBucket", "arn:aws:s3:::*/*"),
        ("s3:ListAllMyBuckets", "arn:aws:s3:::b1"),
        (["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::b1/*"),
        ("s3:GetBucket*", "arn:aws:s3:::b1/k"),
    ],
)
def test_action_that_applies_to_no_resource(action: Any, resource: str) -> None:
    refused(
        text(statement(Action=action, Resource=resource)),
        "Action does not apply to any resource(s) in statement",
    )


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        (["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::b1", "arn:aws:s3:::b1/*"]),
        ("s3:*", "arn:aws:s3:::b1"),
        ("*", "arn:aws:s3:::b1/*"),
        ("s3:ListBucket", "arn:aws:s3:::*"),  # a star can be the bucket
        ("s3:GetObject", "arn:aws:s3:::*"),  # ... or "b1/key"
        ("s3:GetObject", "arn:aws:s3:::b?*"),
        ("s3:Get*", "arn:aws:s3:::b1"),
    ],
)
def test_action_and_resource_that_fit(action: Any, resource: Any) -> None:
    policy(statement(Action=action, Resource=resource))


def test_not_action_and_not_resource_skip_the_applicability_check() -> None:
    policy(statement(Action=None, NotAction="s3:ListBucket", Resource=OBJECTS, Effect="Deny"))
    policy(statement(Action="s3:PutObject", Resource=None, NotResource="arn:aws:s3:::b1"))


@pytest.mark.parametrize(
    "principal",
    [
        "someone",
        ["*"],
        {},
        {"AWS": []},
        {"AWS": ""},
        {"AWS": "t*"},
        {"AWS": "arn:aws:iam::t1:role/admin"},
        {"AWS": "arn:aws:iam::t1:user/"},
        {"AWS": "arn:aws:iam::*:root"},
        {"AWS": "arn:aws:iam::t 1:root"},
        {"AWS": "arn:aws:sts::t1:assumed-role/r/s"},
        {"AWS": "t1 t2"},
        {"AWS": 123},
        {"Foo": "x"},
        {"CanonicalUser": "a b"},
        {"CanonicalUser": "*"},
        {"Service": "*"},
        {"Service": ""},
    ],
)
def test_invalid_principal(principal: Any) -> None:
    refused(text(statement(Principal=principal)), "Invalid principal in policy")


def test_not_principal_goes_with_deny_only() -> None:
    refused(text(statement(Principal=None, NotPrincipal={"AWS": "t1"})), "Invalid policy syntax.")
    policy(statement(Principal=None, NotPrincipal={"AWS": "t1"}, Effect="Deny"))


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"StringEqualz": {"s3:prefix": "a"}}, "Invalid Condition type : StringEqualz"),
        ({"stringequals": {"s3:prefix": "a"}}, "Invalid Condition type : stringequals"),
        ({"NullIfExists": {"s3:prefix": "true"}}, "Invalid Condition type : NullIfExists"),
        (
            {"ForEach:StringEquals": {"s3:prefix": "a"}},
            "Invalid Condition type : ForEach:StringEquals",
        ),
        ({"StringEquals": {"s3:VersionStatus": "a"}}, "Policy has an invalid condition key"),
        ({"StringEquals": {"aws:nope": "a"}}, "Policy has an invalid condition key"),
        ({"StringEquals": {"s3:ExistingObjectTag/": "a"}}, "Policy has an invalid condition key"),
        ({"StringEquals": "a"}, "Invalid policy syntax."),
        ({"StringEquals": {"s3:prefix": {"a": 1}}}, "Invalid policy syntax."),
        ({"StringEquals": {"s3:prefix": None}}, "Invalid policy syntax."),
        ({"StringEquals": {"s3:prefix": [["a"]]}}, "Invalid policy syntax."),
        ({"IpAddress": {"aws:SourceIp": "10.207.*.*"}}, "Invalid IP address in Conditions"),
        ({"NotIpAddress": {"aws:SourceIp": "300.0.0.1"}}, "Invalid IP address in Conditions"),
        ({"NumericLessThan": {"s3:max-keys": "ten"}}, "Invalid policy syntax."),
        ({"NumericLessThan": {"s3:max-keys": "NaN"}}, "Invalid policy syntax."),
        ({"DateLessThan": {"aws:CurrentTime": "tomorrow"}}, "Invalid policy syntax."),
        ({"BinaryEquals": {"s3:prefix": "!!"}}, "Invalid policy syntax."),
    ],
)
def test_condition_errors(condition: Any, message: str) -> None:
    refused(text(statement(Condition=condition)), message)


def test_size_limit_counts_the_normalized_document() -> None:
    many = [
        statement(Sid=f"s{i:04}", Resource=f"arn:aws:s3:::b1/{'x' * 100}/{i}") for i in range(200)
    ]
    refused(
        text(*many), "Normalized policy document exceeds the maximum allowed size of 20480 bytes"
    )
    # Indentation does not count: a small policy spread over 40 KiB is fine.
    small = json.dumps({"Statement": [statement()] * 3}, indent=4000)
    assert len(small) > 40_000
    assert len(parse_policy(small, BUCKET).statements) == 3


def test_parsed_is_cached_by_text_and_bucket() -> None:
    document = text(statement())
    assert parsed(document, BUCKET) is parsed(document, BUCKET)
    with pytest.raises(MalformedPolicy):
        parsed(document, "b2")


def test_named_tenants() -> None:
    p = policy(
        statement(Principal={"AWS": ["t1", "arn:aws:iam::t2:root", "arn:aws:iam::t3:user/u"]}),
        statement(Principal="*"),
    )
    assert named_tenants(p) == {"t1", "t2", "t3"}


def test_action_tables() -> None:
    assert OBJECT_ACTIONS.isdisjoint(BUCKET_ACTIONS)
    assert OBJECT_ACTIONS | BUCKET_ACTIONS <= ACTIONS
    for name in ("s3:GetObject", "s3:PutObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"):
        assert name in OBJECT_ACTIONS
    for name in ("s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketAcl", "s3:PutBucketPolicy"):
        assert name in BUCKET_ACTIONS
    assert "s3:ListAllMyBuckets" in ACTIONS - OBJECT_ACTIONS - BUCKET_ACTIONS


def test_resource_arn() -> None:
    assert resource_arn("b1") == "arn:aws:s3:::b1"
    assert resource_arn("b1", "a/b c") == "arn:aws:s3:::b1/a/b c"
    assert resource_arn("b1", "") == "arn:aws:s3:::b1/"


# --------------------------------------------------------------------------- evaluation


def test_allow_none_and_deny() -> None:
    p = policy(statement())
    assert decide(p) is Decision.ALLOW
    assert decide(p, action="s3:PutObject") is Decision.NONE
    assert decide(p, key=None) is Decision.NONE
    denied = policy(statement(Effect="Deny"))
    assert decide(denied) is Decision.DENY


@pytest.mark.parametrize("deny_first", [True, False])
def test_explicit_deny_beats_allow(deny_first: bool) -> None:
    allow = statement(Action="s3:*", Resource=[OBJECTS, "arn:aws:s3:::b1"])
    deny = statement(Effect="Deny", Principal={"AWS": "t1"}, Resource="arn:aws:s3:::b1/secret/*")
    p = policy(deny, allow) if deny_first else policy(allow, deny)
    assert decide(p, key="secret/x") is Decision.DENY
    assert decide(p, CAROL, key="secret/x") is Decision.ALLOW
    assert decide(p, key="public/x") is Decision.ALLOW


def test_actions_match_case_insensitively() -> None:
    p = policy(statement(Action="S3:getobject"))
    assert decide(p, action="s3:GetObject") is Decision.ALLOW
    assert decide(p, action="S3:GETOBJECT") is Decision.ALLOW
    assert decide(p, action="s3:GetObjectAcl") is Decision.NONE


def test_resources_match_case_sensitively_and_stars_cross_slashes() -> None:
    p = policy(statement(Resource="arn:aws:s3:::b1/Photos/*"))
    assert decide(p, key="Photos/a/b/c.jpg") is Decision.ALLOW
    assert decide(p, key="Photos/") is Decision.ALLOW
    assert decide(p, key="photos/a.jpg") is Decision.NONE
    assert decide(p, key="Photos") is Decision.NONE


def test_iam_resource_wildcard_example() -> None:
    # The example of the IAM "Resource" page.
    p = policy(statement(Resource="arn:aws:s3:::b1/*/test/*"))
    for key in ("1///test///object.jpg", "/test/object.jpg", "1/test/"):
        assert decide(p, key=key) is Decision.ALLOW, key
    for key in ("1-test/object.jpg", "test/object.jpg", "1/2/test.jpg"):
        assert decide(p, key=key) is Decision.NONE, key


def test_question_mark_is_one_character() -> None:
    p = policy(statement(Resource="arn:aws:s3:::b1/log-?.txt"))
    assert decide(p, key="log-1.txt") is Decision.ALLOW
    assert decide(p, key="log-é.txt") is Decision.ALLOW
    assert decide(p, key="log-.txt") is Decision.NONE
    assert decide(p, key="log-12.txt") is Decision.NONE


def test_bucket_resource() -> None:
    p = policy(statement(Action="s3:ListBucket", Resource="arn:aws:s3:::b1"))
    assert decide(p, action="s3:ListBucket", key=None) is Decision.ALLOW
    assert decide(p, action="s3:ListBucket", key="k") is Decision.NONE


def test_not_action() -> None:
    p = policy(statement(Effect="Deny", Action=None, NotAction=["s3:GetObject", "s3:List*"]))
    assert decide(p, action="s3:GetObject") is Decision.NONE
    assert decide(p, action="s3:PutObject") is Decision.DENY
    assert decide(p, action="s3:DeleteObject") is Decision.DENY


def test_not_resource() -> None:
    p = policy(statement(Action="s3:*", Resource=None, NotResource="arn:aws:s3:::b1/private/*"))
    assert decide(p, key="public/a") is Decision.ALLOW
    assert decide(p, key=None, action="s3:ListBucket") is Decision.ALLOW
    assert decide(p, key="private/a") is Decision.NONE


def test_not_principal_denies_everyone_else() -> None:
    p = policy(
        statement(
            Effect="Deny",
            Principal=None,
            NotPrincipal={"AWS": "arn:aws:iam::t1:user/alice"},
        )
    )
    assert decide(p, ALICE) is Decision.NONE
    assert decide(p, BOB) is Decision.DENY
    assert decide(p, CAROL) is Decision.DENY
    assert decide(p, ANON) is Decision.DENY


def test_not_principal_wildcard_excludes_everyone() -> None:
    p = policy(statement(Effect="Deny", Principal=None, NotPrincipal="*"))
    for who in (ALICE, CAROL, ANON):
        assert decide(p, who) is Decision.NONE


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        ("*", {"alice", "bob", "carol", "anon"}),
        ({"AWS": "*"}, {"alice", "bob", "carol", "anon"}),
        ({"AWS": "t1"}, {"alice", "bob"}),
        ({"AWS": "arn:aws:iam::t1:root"}, {"alice", "bob"}),
        ({"AWS": "arn:aws:iam::t1:user/alice"}, {"alice"}),
        ({"AWS": "arn:aws:iam::t1:user/division/alice"}, {"alice"}),
        ({"AWS": "arn:aws:iam::t2:user/alice"}, set()),
        ({"AWS": ["t2", "arn:aws:iam::t1:user/bob"]}, {"bob", "carol"}),
        ({"CanonicalUser": "c" * 64}, {"alice"}),
        ({"CanonicalUser": ["d" * 64, "e" * 64]}, {"bob", "carol"}),
        ({"Service": "cloudfront.amazonaws.com"}, set()),
        ({"Federated": "cognito-identity.amazonaws.com", "AWS": "t2"}, {"carol"}),
    ],
)
def test_principal_forms(principal: Any, allowed: set[str]) -> None:
    p = policy(statement(Principal=principal))
    who = {"alice": ALICE, "bob": BOB, "carol": CAROL, "anon": ANON}
    got = {name for name, w in who.items() if decide(p, w) is Decision.ALLOW}
    assert got == allowed


def test_anonymous_never_matches_an_empty_canonical_id() -> None:
    p = policy(statement(Principal={"AWS": "t1"}))
    assert decide(p, Principal("", "", canonical_id="")) is Decision.NONE


# --------------------------------------------------------------------------- conditions


def cond(condition: dict[str, Any]) -> Policy:
    return policy(statement(Condition=condition))


@pytest.mark.parametrize(
    ("operator", "values", "fact", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),
        ("StringEquals", ["x", "abc"], "abc", True),
        ("StringEquals", "a*", "abc", False),
        ("StringNotEquals", "abc", "abc", False),
        ("StringNotEquals", "abc", "abd", True),
        ("StringNotEquals", ["x", "abc"], "abc", False),  # NOR of the values
        ("StringEqualsIgnoreCase", "ABC", "abc", True),
        ("StringEqualsIgnoreCase", "ABC", "abd", False),
        ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
        ("StringNotEqualsIgnoreCase", "ABC", "abd", True),
        ("StringLike", "home/*", "home/a/b", True),
        ("StringLike", "home/*", "Home/a", False),
        ("StringLike", "h?me/*", "hxme/", True),
        ("StringLike", ["x/*", "*.jpg"], "a.jpg", True),
        ("StringNotLike", "home/*", "home/a", False),
        ("StringNotLike", "home/*", "work/a", True),
        ("StringNotLike", ["x/*", "*.jpg"], "a.jpg", False),
        ("NumericEquals", "10", "10", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", 10, "10", True),
        ("NumericEquals", "10", "11", False),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericNotEquals", "10", "10", False),
        ("NumericNotEquals", "10", "ten", True),
        ("NumericLessThan", "10", "9", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericLessThanEquals", "10", "11", False),
        ("NumericGreaterThan", "10", "11", True),
        ("NumericGreaterThan", "10", "10", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericGreaterThanEquals", "10.5", "10", False),
        ("NumericGreaterThanEquals", "-1e3", "-999", True),
        ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", True),
        ("DateEquals", "1704067200", "2024-01-01T01:00:00+01:00", True),
        ("DateEquals", "2024-01-01", "2024-01-01T00:00:00Z", True),
        ("DateEquals", "2024-01", "2024-01-01T00:00:00Z", True),
        ("DateEquals", "2024-01-01T00:00:00Z", "garbage", False),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True),
        ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", True),
        ("DateGreaterThan", "2024-01-01T00:00:00Z", "2023-01-01T00:00:00Z", False),
        ("DateGreaterThanEquals", "2024-01-01T00:00:00.500Z", "2024-01-01T00:00:00.500Z", True),
        ("Bool", "true", "true", True),
        ("Bool", True, "true", True),
        ("Bool", "true", "false", False),
        ("Bool", "false", "FALSE", True),
        ("BinaryEquals", "YWJj", "YWJj", True),
        ("BinaryEquals", "YWJj", "YWJk", False),
        ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
        ("IpAddress", "10.0.0.0/8", "11.1.2.3", False),
        ("IpAddress", "192.0.2.7", "192.0.2.7", True),  # a bare address is a /32
        ("IpAddress", "192.0.2.7", "192.0.2.8", False),
        ("IpAddress", "10.0.0.1/8", "10.9.9.9", True),  # host bits are ignored
        ("IpAddress", "2001:db8::/32", "2001:db8:1::1", True),
        ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
        ("IpAddress", "10.0.0.0/8", "::ffff:10.0.0.1", True),  # IPv4-mapped
        ("IpAddress", "::/0", "10.0.0.1", False),  # an IPv6 block holds no IPv4 address
        ("IpAddress", "0.0.0.0/0", "::1", False),
        ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::5", True),
        ("IpAddress", "10.0.0.0/8", "not an ip", False),
        ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", True),
        ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
        ("NotIpAddress", ["10.0.0.0/8", "11.0.0.0/8"], "11.1.2.3", False),
        ("ArnEquals", "arn:aws:sns:us-east-1:1:topic", "arn:aws:sns:us-east-1:1:topic", True),
        ("ArnEquals", "arn:aws:sns:*:1:topic", "arn:aws:sns:us-east-1:1:topic", True),
        ("ArnLike", "arn:aws:s3:::b1/*", "arn:aws:s3:::b1/a:b/c", True),
        ("ArnLike", "arn:aws:*", "arn:aws:s3:::b1", False),  # no star across a colon
        ("ArnLike", "arn:aws:sns:*:*:t?pic", "arn:aws:sns:eu:1:topic", True),
        ("ArnLike", "arn:aws:sns:*:*:topic", "not-an-arn", False),
        ("ArnNotEquals", "arn:aws:sns:*:1:topic", "arn:aws:sns:eu:2:topic", True),
        ("ArnNotLike", "arn:aws:sns:*:1:topic", "arn:aws:sns:eu:1:topic", False),
    ],
)
def test_operators(operator: str, values: Any, fact: str, expected: bool) -> None:
    key = {
        "Numeric": "s3:max-keys",
        "Date": "aws:CurrentTime",
        "Bool": "aws:SecureTransport",
        "IpAddr": "aws:SourceIp",
        "NotIpAd": "aws:SourceIp",
        "Arn": "aws:SourceArn",
    }
    name = next((v for k, v in key.items() if operator.startswith(k)), "s3:prefix")
    p = cond({operator: {name: values}})
    want = Decision.ALLOW if expected else Decision.NONE
    assert decide(p, facts={name.lower(): fact}) is want


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericLessThan", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        # Negated operators hold when the key is missing.
        ("StringNotEquals", True),
        ("StringNotEqualsIgnoreCase", True),
        ("StringNotLike", True),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("NotIpAddress", True),
        ("ArnNotEquals", True),
        ("ArnNotLike", True),
        # ...IfExists holds when it is missing, whatever the operator.
        ("StringEqualsIfExists", True),
        ("NumericLessThanIfExists", True),
        ("StringNotEqualsIfExists", True),
        # ForAllValues holds on no value; ForAnyValue fails on none.
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringNotEquals", False),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    value = {"Numeric": "1", "Date": "2024-01-01", "Bool": "true", "IpAdd": "10.0.0.0/8"}
    v = next((x for k, x in value.items() if k in operator), "arn:aws:sns:*:1:t")
    p = cond({operator: {"aws:SourceArn" if "Arn" in operator else "aws:referer": v}})
    assert decide(p, facts={}) is (Decision.ALLOW if expected else Decision.NONE)


def test_if_exists_tests_a_present_key() -> None:
    p = cond({"StringEqualsIfExists": {"s3:prefix": "home/"}})
    assert decide(p, facts={"s3:prefix": "home/"}) is Decision.ALLOW
    assert decide(p, facts={"s3:prefix": "work/"}) is Decision.NONE
    assert decide(p, facts={}) is Decision.ALLOW


def test_qualifiers_test_the_single_value() -> None:
    for operator in ("ForAnyValue:StringLike", "ForAllValues:StringLike"):
        p = cond({operator: {"s3:prefix": "home/*"}})
        assert decide(p, facts={"s3:prefix": "home/a"}) is Decision.ALLOW
        assert decide(p, facts={"s3:prefix": "work/a"}) is Decision.NONE


@pytest.mark.parametrize(
    ("operator", "keys", "expected"),
    [
        ("ForAllValues:StringEquals", ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "c"], False),
        ("ForAnyValue:StringEquals", ["c", "a"], True),
        ("ForAnyValue:StringEquals", ["c", "d"], False),
        ("ForAnyValue:StringNotEquals", ["a", "c"], True),
        ("ForAllValues:StringNotEquals", ["a", "c"], False),
        ("ForAllValues:StringLike", ["a", "b"], True),
    ],
)
def test_multi_valued_keys_test_each_value(operator: str, keys: list[str], expected: bool) -> None:
    p = cond({operator: {"s3:RequestObjectTagKeys": ["a", "b"]}})
    facts = {"s3:requestobjecttagkeys": multi_value(keys)}
    assert decide(p, facts=facts) is (Decision.ALLOW if expected else Decision.NONE)


def test_null() -> None:
    absent = cond({"Null": {"s3:x-amz-server-side-encryption": "true"}})
    present = cond({"Null": {"s3:x-amz-server-side-encryption": False}})
    sse = {"s3:x-amz-server-side-encryption": "AES256"}
    assert decide(absent, facts={}) is Decision.ALLOW
    assert decide(absent, facts=sse) is Decision.NONE
    assert decide(present, facts={}) is Decision.NONE
    assert decide(present, facts=sse) is Decision.ALLOW


def test_keys_and_operators_are_anded() -> None:
    p = cond(
        {
            "StringLike": {"s3:prefix": "home/*", "s3:delimiter": "/"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        }
    )
    ok = {"s3:prefix": "home/a", "s3:delimiter": "/", "aws:sourceip": "10.0.0.1"}
    assert decide(p, facts=ok) is Decision.ALLOW
    for name, bad in (("s3:prefix", "x"), ("s3:delimiter", "|"), ("aws:sourceip", "9.0.0.1")):
        assert decide(p, facts={**ok, name: bad}) is Decision.NONE
    assert decide(p, facts={k: v for k, v in ok.items() if k != "s3:delimiter"}) is Decision.NONE


def test_condition_key_names_are_case_insensitive() -> None:
    p = cond({"Bool": {"AWS:SECURETRANSPORT": "false"}})
    assert decide(p, facts={"aws:securetransport": "false"}) is Decision.ALLOW
    assert p.statements[0].conditions[0].key == "aws:securetransport"


def test_tag_condition_keys() -> None:
    p = cond({"StringEquals": {"s3:ExistingObjectTag/security": "public"}})
    assert decide(p, facts={"s3:existingobjecttag/security": "public"}) is Decision.ALLOW
    assert decide(p, facts={"s3:existingobjecttag/other": "public"}) is Decision.NONE


def test_deny_unless_secure_transport() -> None:
    # The usual "deny plain HTTP" statement of the S3 docs.
    p = policy(
        statement(Action="s3:*", Resource=[OBJECTS, "arn:aws:s3:::b1"]),
        statement(
            Effect="Deny",
            Action="s3:*",
            Resource=[OBJECTS, "arn:aws:s3:::b1"],
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    assert decide(p, facts={"aws:securetransport": "true"}) is Decision.ALLOW
    assert decide(p, facts={"aws:securetransport": "false"}) is Decision.DENY


def test_policy_variables_are_literal_text() -> None:
    p = policy(statement(Resource="arn:aws:s3:::b1/${aws:username}/*"))
    assert decide(p, key="alice/x") is Decision.NONE
    assert decide(p, key="${aws:username}/x") is Decision.ALLOW


# --------------------------------------------------------------------------- public


@pytest.mark.parametrize(
    ("fields", "public"),
    [
        ({}, True),
        ({"Principal": {"AWS": "*"}}, True),
        ({"Principal": {"AWS": ["t1", "*"]}}, True),
        ({"Principal": {"AWS": "t1"}}, False),
        ({"Principal": {"CanonicalUser": "c" * 64}}, False),
        ({"Effect": "Deny"}, False),
        ({"Effect": "Deny", "Principal": None, "NotPrincipal": {"AWS": "t1"}}, False),
        ({"Action": None, "NotAction": "s3:DeleteObject"}, True),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/32"}}}, False),
        ({"Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}}, False),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/7"}}}, True),
        ({"Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "0.0.0.0/1"]}}}, True),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}}, False),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "2001:db8::/31"}}}, True),
        ({"Condition": {"IpAddressIfExists": {"aws:SourceIp": "10.0.0.1"}}}, True),
        ({"Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.1"}}}, True),
        ({"Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}, False),
        ({"Condition": {"StringLike": {"aws:SourceAccount": "1111*"}}}, True),
        ({"Condition": {"StringNotEquals": {"aws:SourceAccount": "111122223333"}}}, True),
        ({"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}, False),
        ({"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}, False),
        ({"Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}, False),
        ({"Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu:1:t"}}}, False),
        ({"Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sns:eu:1:*"}}}, True),
        ({"Condition": {"StringEquals": {"aws:userid": "AIDA123"}}}, False),
        ({"Condition": {"StringEquals": {"aws:Referer": "https://example.com/"}}}, True),
        ({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True),
        (
            {
                "Condition": {
                    "StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:eu:111:accesspoint/*"}
                }
            },
            False,
        ),
        (
            {
                "Condition": {
                    "StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:eu:*:accesspoint/*"}
                }
            },
            True,
        ),
        (
            {
                "Condition": {
                    "Bool": {"aws:SecureTransport": "true"},
                    "StringEquals": {"aws:SourceAccount": "111122223333"},
                }
            },
            False,
        ),
    ],
)
def test_is_public(fields: dict[str, Any], public: bool) -> None:
    assert is_public(policy(statement(**fields))) is public


def test_one_public_statement_makes_the_policy_public() -> None:
    private = statement(Principal={"AWS": "t1"})
    assert not is_public(policy(private))
    assert is_public(policy(private, statement()))


# --------------------------------------------------------------------------- properties

_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "*",
            "Allow",
            "Deny",
            "s3:GetObject",
            "s3:*",
            "s3:List*",
            OBJECTS,
            "arn:aws:s3:::b1",
            "arn:aws:s3:::*",
            "t1",
            "arn:aws:iam::t1:root",
            "10.0.0.0/8",
            "2024-01-01T00:00:00Z",
            "true",
            "StringEquals",
        ]
    )
)
_names = st.sampled_from(
    [
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "CanonicalUser",
        "Service",
        *pol._OPERATORS,
        "Null",
        "ForAnyValue:StringLike",
        "StringEqualsIfExists",
        "aws:SourceIp",
        "s3:prefix",
        "aws:CurrentTime",
        "aws:SourceArn",
    ]
) | st.text(max_size=8)
_json = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=6),
    max_leaves=30,
)


def _statement_like() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "Effect": st.sampled_from(["Allow", "Deny"]) | _json,
            "Action": st.sampled_from(["s3:*", "s3:GetObject", ["s3:Get*", "s3:ListBucket"]])
            | _json,
            "Resource": st.sampled_from([OBJECTS, ["arn:aws:s3:::b1", OBJECTS], "arn:aws:s3:::*"])
            | _json,
        },
        optional={
            "Principal": st.sampled_from(["*", {"AWS": "t1"}, {"AWS": ["*", "t2"]}]) | _json,
            "NotPrincipal": _json,
            "Sid": _json,
            "Condition": st.dictionaries(
                _names, st.dictionaries(_names, _json, max_size=3), max_size=3
            )
            | _json,
        },
    )


@given(_json)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_parser_raises_only_malformed_policy_on_any_json(doc: Any) -> None:
    with contextlib.suppress(MalformedPolicy):
        parse_policy(json.dumps(doc), BUCKET)


@given(st.lists(_statement_like(), max_size=3), st.sampled_from(["2012-10-17", "2008-10-17"]))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_parser_raises_only_malformed_policy_on_policy_shaped_json(
    statements: list[dict[str, Any]], version: str
) -> None:
    with contextlib.suppress(MalformedPolicy):
        parse_policy(json.dumps({"Version": version, "Statement": statements}), BUCKET)


@given(st.text(max_size=200))
def test_parser_raises_only_malformed_policy_on_any_text(body: str) -> None:
    for candidate in (body, "{" + body):
        with contextlib.suppress(MalformedPolicy):
            parse_policy(candidate, BUCKET)


_facts = st.dictionaries(
    st.sampled_from(
        ["aws:sourceip", "s3:prefix", "aws:currenttime", "aws:sourcearn", "aws:referer"]
    )
    | st.text(max_size=10),
    st.text(max_size=30)
    | st.sampled_from(["10.0.0.1", "::ffff:10.0.0.1", "2024-01-01", "1e999999", "true", "12"]),
    max_size=5,
)
_principals = st.sampled_from([ALICE, BOB, CAROL, ANON]) | st.builds(
    Principal, st.text(max_size=5), st.text(max_size=5), canonical_id=st.text(max_size=5)
)


_conditions = st.dictionaries(
    st.sampled_from(
        [
            "StringEquals",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "ForAllValues:StringNotLike",
            "StringLikeIfExists",
            "ArnLike",
            "ArnNotEquals",
        ]
    ),
    st.dictionaries(
        st.sampled_from(["s3:prefix", "aws:Referer", "aws:SourceIp", "AWS:CurrentTime"]),
        st.text(max_size=10) | st.lists(st.text("ab*?:/", max_size=8), max_size=3),
        max_size=2,
    ),
    max_size=2,
) | st.sampled_from(
    [
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
        {"NotIpAddressIfExists": {"aws:SourceIp": "0.0.0.0/0"}},
        {"NumericLessThanEquals": {"s3:max-keys": [10, "1e3"]}},
        {"DateGreaterThan": {"aws:CurrentTime": ["2024-01-01", 1704067200]}},
        {"Bool": {"aws:SecureTransport": True}},
        {"Null": {"s3:prefix": ["true", "false"]}},
        {"BinaryEquals": {"s3:prefix": "YWJj"}},
    ]
)
_valid_statements = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Principal": st.sampled_from(
            [
                "*",
                {"AWS": "t1"},
                {"AWS": ["arn:aws:iam::t2:user/carol", "*"]},
                {"CanonicalUser": "c"},
            ]
        ),
        "Action": st.sampled_from(["*", "s3:*", "s3:Get*", ["s3:?et*", "s3:ListBucket"]]),
        "Resource": st.sampled_from(
            [
                ["arn:aws:s3:::b1", OBJECTS],
                "arn:aws:s3:::*",
                ["arn:aws:s3:::b1", "arn:aws:s3:::b1/a*b?c"],
            ]
        ),
    },
    optional={"Condition": _conditions},
)


@given(
    st.lists(_valid_statements, min_size=1, max_size=3),
    _principals,
    st.text(max_size=20) | st.sampled_from(sorted(ACTIONS)),
    st.text(max_size=40).map(lambda k: resource_arn(BUCKET, k)) | st.text(max_size=20),
    _facts,
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_evaluation_never_raises(
    statements: list[dict[str, Any]],
    who: Principal,
    action: str,
    resource: str,
    facts: dict[str, str],
) -> None:
    p = parse_policy(json.dumps({"Statement": statements}), BUCKET)
    decision = evaluate(p, who, action, resource, facts)
    assert isinstance(decision, Decision)
    is_public(p)
    # An explicit deny of everything always wins.
    deny = statement(Effect="Deny", Action="*", Resource=None, NotResource="arn:aws:s3:::b1/x")
    if resource != "arn:aws:s3:::b1/x":
        denied = parse_policy(json.dumps({"Statement": [*statements, deny]}), BUCKET)
        assert evaluate(denied, who, action, resource, facts) is Decision.DENY


def _reference_glob(pattern: str, subject: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, subject, re.DOTALL) is not None


@given(st.text("ab*?/", max_size=10), st.text("ab/", max_size=12))
@settings(max_examples=1000)
def test_glob_agrees_with_a_regex(pattern: str, subject: str) -> None:
    assert pol._Glob(pattern).match(subject) is _reference_glob(pattern, subject)


def test_glob_is_linear_on_a_pathological_pattern() -> None:
    # A backtracking regex would take longer than the test timeout here.
    pattern = "*a" * 40 + "*b"
    assert not pol._Glob(pattern).match("a" * 20_000)
    p = policy(statement(Resource=f"arn:aws:s3:::b1/{pattern}"))
    assert decide(p, key="a" * 1024) is Decision.NONE
