"""CORS rules: first-match semantics and storage in the core, S3's checks at its edge."""

from __future__ import annotations

import pytest
from corekit import ALICE, BOB, make_core

from dolium.core.buckets.cors import (
    CorsRule,
    bucket_rules,
    from_json,
    match,
    split_header_list,
    to_json,
    wildcard_match,
)
from dolium.errors import (
    AccessDenied,
    DoliumError,
    InvalidArgument,
    InvalidRequest,
    MalformedConfiguration,
    NoSuchBucket,
)
from dolium.frontends.s3.errors import to_s3_error
from dolium.frontends.s3.rules.cors import check_cors


def rule(
    origins: tuple[str, ...] = ("*",),
    methods: tuple[str, ...] = ("GET",),
    headers: tuple[str, ...] = (),
    *,
    expose_headers: tuple[str, ...] = (),
    max_age_seconds: int | None = None,
    id: str | None = None,
) -> CorsRule:
    return CorsRule(origins, methods, headers, expose_headers, max_age_seconds, id)


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "http://anything", True),
        ("http://*.example.com", "http://www.example.com", True),
        ("http://*.example.com", "http://.example.com", True),
        ("http://*.example.com", "https://www.example.com", False),
        ("http://*.example.com", "http://www.example.com:8080", False),
        ("http://www.example.com", "http://www.example.com", True),
        ("http://www.example.com", "http://www.example.com/", False),
        ("http://www.example.com", "http://www.example.com:80", False),
        ("HTTP://WWW.Example.com", "http://www.example.com", True),
        ("*suffix", "foo.suffix", True),
        ("*suffix", "foo.suffix.get", False),
        ("start*end", "startend", True),
        ("start*end", "start12end", True),
        ("start*end", "0start12end", False),
        ("prefix*", "prefix.suffix", True),
        ("prefix*", "bla.prefix", False),
        # Overlapping head and tail need enough characters for both.
        ("ab*ba", "aba", False),
        ("x-amz-*", "X-Amz-Meta-Foo", True),
        ("", "", True),
    ],
)
def test_wildcard_match(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_split_header_list() -> None:
    assert split_header_list(None) == []
    assert split_header_list("") == []
    assert split_header_list("X-Amz-Date, content-type,,Authorization ") == [
        "x-amz-date",
        "content-type",
        "authorization",
    ]


# --------------------------------------------------------------------------- matching


def test_first_matching_rule_wins() -> None:
    first = rule(("http://a.com",), ("PUT",), id="first")
    second = rule(("http://a.com",), ("GET", "PUT"), id="second")
    third = rule(("*",), ("GET",), id="third")
    rules = [first, second, third]
    assert match(rules, "http://a.com", "PUT") is first
    assert match(rules, "http://a.com", "GET") is second
    assert match(rules, "http://b.com", "GET") is third
    assert match(rules, "http://b.com", "PUT") is None


def test_method_must_be_allowed_exactly() -> None:
    rules = [rule(methods=("GET", "HEAD"))]
    assert match(rules, "http://a.com", "HEAD") is not None
    assert match(rules, "http://a.com", "get") is None
    assert match(rules, "http://a.com", "DELETE") is None


def test_every_requested_header_must_be_allowed() -> None:
    rules = [rule(headers=("Content-Type", "x-amz-*"))]
    assert match(rules, "o", "GET", ["content-type", "x-amz-date", "x-amz-meta-a"]) is not None
    assert match(rules, "o", "GET", ["content-type", "authorization"]) is None
    # A rule without AllowedHeader allows no requested header at all.
    assert match([rule()], "o", "GET", ["content-type"]) is None
    assert match([rule()], "o", "GET", []) is not None
    # Star allows anything.
    assert match([rule(headers=("*",))], "o", "GET", ["authorization", "x"]) is not None


def test_later_rule_matches_when_an_earlier_one_lacks_a_header() -> None:
    narrow = rule(headers=("content-type",), id="narrow")
    wide = rule(headers=("*",), id="wide")
    assert match([narrow, wide], "o", "GET", ["content-type"]) is narrow
    assert match([narrow, wide], "o", "GET", ["authorization"]) is wide


def test_allow_origin_is_star_only_for_the_bare_wildcard() -> None:
    assert rule(("*",)).allow_origin("http://a.com") == "*"
    assert rule(("http://*.a.com",)).allow_origin("http://x.a.com") == "http://x.a.com"
    # The first pattern that matches decides.
    assert rule(("http://a.com", "*")).allow_origin("http://a.com") == "http://a.com"
    assert rule(("http://a.com", "*")).allow_origin("http://b.com") == "*"
    assert rule(("http://a.com",)).allow_origin("http://b.com") is None


# --------------------------------------------------------------------------- validation


def test_valid_configuration_passes() -> None:
    check_cors(
        [
            rule(
                ("http://*.example.com", ""),
                ("GET", "PUT", "POST", "DELETE", "HEAD"),
                ("x-amz-*", "*"),
                expose_headers=("ETag", "x-amz-request-id"),
                max_age_seconds=3000,
                id="x" * 255,
            )
        ]
        * 100
    )


@pytest.mark.parametrize(
    ("rules", "error", "message"),
    [
        ([], MalformedConfiguration, "not well-formed"),
        ([rule()] * 101, MalformedConfiguration, "not well-formed"),
        ([rule(origins=())], MalformedConfiguration, "not well-formed"),
        ([rule(methods=())], MalformedConfiguration, "not well-formed"),
        (
            [rule(methods=("GET", "PATCH"))],
            InvalidRequest,
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        ),
        (
            [rule(methods=("get",))],
            InvalidRequest,
            "Found unsupported HTTP method in CORS config. Unsupported method is get",
        ),
        (
            [rule(methods=("OPTIONS",))],
            InvalidRequest,
            "Unsupported method is OPTIONS",
        ),
        (
            [rule(origins=("*example*.com",))],
            InvalidRequest,
            'AllowedOrigin "*example*.com" can not have more than one wildcard.',
        ),
        (
            [rule(headers=("**",))],
            InvalidRequest,
            'AllowedHeader "**" can not have more than one wildcard.',
        ),
        (
            [rule(expose_headers=("x-amz-*",))],
            InvalidRequest,
            'ExposeHeader "x-amz-*" contains wildcard. '
            "We currently do not support wildcard for ExposeHeader.",
        ),
        ([rule(expose_headers=("bad\r\nheader",))], InvalidRequest, "not a valid header"),
        ([rule(id="x" * 256)], InvalidArgument, "255"),
        ([rule(max_age_seconds=-1)], MalformedConfiguration, "not well-formed"),
    ],
)
def test_invalid_configurations(
    rules: list[CorsRule], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as exc:
        check_cors(rules)
    assert isinstance(exc.value, DoliumError)
    assert message in to_s3_error(exc.value).message


# --------------------------------------------------------------------------- storage


def test_json_round_trip() -> None:
    rules = (
        rule(("http://a.com",), ("GET",), ("x-*",), expose_headers=("ETag",), max_age_seconds=5),
        rule(id="second"),
    )
    assert from_json(to_json(rules)) == rules


async def test_put_get_delete_and_public_lookup() -> None:
    core = make_core()
    store = core.store
    await store.buckets.create(ALICE, "bucket-b")
    assert await store.cors.get(ALICE, "bucket-b") is None
    assert await store.cors.lookup("bucket-b") is None

    rules = [rule(("http://a.com",), ("GET", "PUT"), id="r1"), rule()]
    await store.cors.put(ALICE, "bucket-b", rules)
    assert await store.cors.get(ALICE, "bucket-b") == tuple(rules)
    assert await store.cors.lookup("bucket-b") == tuple(rules)
    bucket = await core.meta.get_bucket("bucket-b")
    assert bucket is not None and bucket_rules(bucket) == tuple(rules)

    # A second put replaces the whole configuration.
    await store.cors.put(ALICE, "bucket-b", [rule(id="only")])
    assert await store.cors.get(ALICE, "bucket-b") == (rule(id="only"),)

    await store.cors.delete(ALICE, "bucket-b")
    assert await store.cors.get(ALICE, "bucket-b") is None
    await store.cors.delete(ALICE, "bucket-b")  # deleting nothing is fine, as on S3

    # Each change of the configuration is logged as the caller's.
    changes = await core.meta.changes(0, 100)
    configured = [c for c in changes if c.bucket == "bucket-b" and c.name == "cors"]
    assert len(configured) == 4
    assert {c.actor for c in configured} == {ALICE.actor}


async def test_only_the_owner_configures() -> None:
    store = make_core().store
    await store.buckets.create(ALICE, "bucket-b")
    with pytest.raises(AccessDenied):
        await store.cors.put(BOB, "bucket-b", [rule()])
    with pytest.raises(AccessDenied):
        await store.cors.get(BOB, "bucket-b")
    with pytest.raises(AccessDenied):
        await store.cors.delete(BOB, "bucket-b")
    assert await store.cors.get(ALICE, "bucket-b") is None
    with pytest.raises(NoSuchBucket):
        await store.cors.lookup("missing")
    with pytest.raises(NoSuchBucket):
        await store.cors.put(ALICE, "missing", [rule()])
