"""The Swift front end's pure parts: tokens, metadata limits, listing windows and
formats, the error table."""

from __future__ import annotations

import json

import pytest
from defusedxml import ElementTree

from dolium import errors
from dolium.frontends.swift.app import is_swift_path
from dolium.frontends.swift.errors import SwiftError, html_body, to_swift_error
from dolium.frontends.swift.ops.listing_query import ListingQuery
from dolium.frontends.swift.tokens import TokenSigner
from dolium.frontends.swift.wire import listings, metadata

SECRET = b"k" * 32


def test_a_token_verifies_until_it_expires() -> None:
    signer = TokenSigner(SECRET, lifetime=100)
    token, expires = signer.issue("acme", "alice", "DKKEY", now=1000.0)
    claims = signer.verify(token, now=1050.0)
    assert claims is not None
    assert (claims.tenant, claims.user, claims.access_key) == ("acme", "alice", "DKKEY")
    assert expires == 1100.0
    assert signer.verify(token, now=1100.0) is None


def test_a_token_of_another_secret_or_altered_is_refused() -> None:
    token, _ = TokenSigner(SECRET).issue("acme", "alice", "DKKEY", now=0.0)
    assert TokenSigner(b"x" * 32).verify(token, now=1.0) is None
    body, mac = token.split(".")
    assert TokenSigner(SECRET).verify(body[:-1] + "A" + "." + mac, now=1.0) is None
    for junk in ("", "AUTH_tk", "AUTH_tk.", "AUTH_tk!!.!!", "x" * 2000, "AUTH_tk" + "a" * 2000):
        assert TokenSigner(SECRET).verify(junk, now=1.0) is None


def test_metadata_is_read_lower_case_with_removals() -> None:
    changes = metadata.requested(
        metadata.OBJECT,
        [
            ("X-Object-Meta-Color", "blue"),
            ("x-object-meta-empty", ""),
            ("X-Remove-Object-Meta-Old", "x"),
            ("Content-Type", "t"),
        ],
    )
    assert changes == {"color": "blue", "empty": None, "old": None}
    assert metadata.present(changes) == {"color": "blue"}
    assert metadata.response_headers(metadata.OBJECT, {"color-code": "1"}) == [
        ("X-Object-Meta-Color-Code", "1")
    ]


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Account-Meta-" + "n" * 129, "v")],
        [("X-Account-Meta-N", "v" * 257)],
        [(f"X-Account-Meta-N{i}", "v") for i in range(91)],
        [(f"X-Account-Meta-N{i:02}", "v" * 250) for i in range(17)],
    ],
)
def test_metadata_beyond_swifts_limits_is_400(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(SwiftError) as refused:
        metadata.requested(metadata.ACCOUNT, headers)
    assert refused.value.status == 400


def test_limits_at_the_edge_are_accepted() -> None:
    metadata.requested(metadata.ACCOUNT, [("X-Account-Meta-" + "n" * 128, "v" * 256)])
    metadata.requested(metadata.ACCOUNT, [(f"X-Account-Meta-N{i}", "v") for i in range(90)])


def test_listing_window_forward_and_reverse() -> None:
    names: list[listings.Entry] = ["a", "b", "c", "d", "e"]
    assert ListingQuery.parse({"marker": "a", "end_marker": "d"}).window(names) == ["b", "c"]
    assert ListingQuery.parse({"limit": "2"}).window(names) == ["a", "b"]
    query = ListingQuery.parse({"reverse": "true", "marker": "e", "limit": "2"})
    assert query.window(names) == ["d", "c"]
    assert ListingQuery.parse({"path": "b"}).prefix == "b/"


def test_listing_query_refusals() -> None:
    for query, status in [
        ({"limit": "10001"}, 412),
        ({"limit": "-1"}, 400),
        ({"limit": "x"}, 400),
        ({"delimiter": "ab"}, 412),
    ]:
        with pytest.raises(SwiftError) as refused:
            ListingQuery.parse(query)
        assert refused.value.status == status


def test_listing_formats() -> None:
    entries: list[listings.Entry] = [
        listings.ObjectEntry("a&b", "0" * 32, 3, "text/plain", 0.5),
        "dir/",
    ]
    assert listings.listing_format({"format": "json"}, "") == listings.JSON
    assert listings.listing_format({}, "application/xml") == listings.XML
    assert listings.listing_format({}, "*/*") == listings.PLAIN
    assert listings.render(listings.PLAIN, "container", "c", entries) == b"a&b\ndir/\n"
    parsed = json.loads(listings.render(listings.JSON, "container", "c", entries))
    assert parsed == [
        {
            "hash": "0" * 32,
            "last_modified": "1970-01-01T00:00:00.500000",
            "bytes": 3,
            "name": "a&b",
            "content_type": "text/plain",
        },
        {"subdir": "dir/"},
    ]
    root = ElementTree.fromstring(listings.render(listings.XML, "container", "c<", entries))
    assert root.get("name") == "c<"
    assert root.findtext("object/name") == "a&b"
    assert root.find("subdir").get("name") == "dir/"


def test_the_error_table() -> None:
    cases = {
        errors.NoSuchKey("x"): 404,
        errors.NoSuchBucket("x"): 404,
        errors.AccessDenied("x"): 403,
        errors.BucketNotEmpty("x"): 409,
        errors.BadDigest("x"): 422,
        errors.PreconditionFailed("x"): 412,
        errors.InvalidArgument("x"): 400,
        errors.EntityTooLarge("x"): 413,
    }
    for error, status in cases.items():
        found = to_swift_error(error)
        assert found is not None and found.status == status
    assert to_swift_error(errors.StorageError("x")) is None  # a 500
    assert html_body(404) == (
        b"<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
    )


def test_which_paths_are_swifts() -> None:
    for path in ("/auth/v1.0", "/info", "/v1/AUTH_a", "/v1/AUTH_a/c/o"):
        assert is_swift_path(path)
    for path in ("/", "/infobucket", "/auth", "/v1", "/v1bucket/k", "/auth/other"):
        assert not is_swift_path(path)


def test_byte_ranges() -> None:
    from dolium.errors import InvalidRange
    from dolium.frontends.swift.ops.byteranges import MAX_RANGES, parse_ranges

    assert parse_ranges(None, 10) is None
    assert parse_ranges("bytes=0-1", 10) == [(0, 1)]
    assert parse_ranges("bytes=0-1, 4-, -2", 10) == [(0, 1), (4, 9), (8, 9)]
    assert parse_ranges("bytes=0-1,x", 10) is None  # a malformed part: the whole object
    assert parse_ranges("items=0-1", 10) is None
    assert parse_ranges("bytes=0-1,20-", 10) == [(0, 1)]
    assert parse_ranges(",".join(["bytes=0-0"] + ["1-1"] * MAX_RANGES), 10) is None
    with pytest.raises(InvalidRange):
        parse_ranges("bytes=10-,20-", 10)
