"""Swift listings against a live server: formats, paging, prefixes, delimiters,
path, reverse, and the fields Swift's JSON and XML carry."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from defusedxml import ElementTree
from swift_support import SwiftAccount, new_account

KEYS = ["a.txt", "b/1", "b/2", "b/c/3", "c", "d/4", "e"]


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        http.put("list")
        for key in KEYS:
            http.put(f"list/{key}", content=key.encode(), headers={"Content-Type": "text/plain"})
        http.put("empty")
    return made


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as client:
        yield client


def names(http: httpx.Client, **params: str) -> list[str]:
    answer = http.get("list", params=params)
    assert answer.status_code in (200, 204), answer.text
    return answer.text.splitlines()


def test_plain_text_is_the_default(http: httpx.Client) -> None:
    answer = http.get("list")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.text == "".join(k + "\n" for k in KEYS)


def test_an_empty_plain_listing_is_204(http: httpx.Client) -> None:
    assert http.get("empty").status_code == 204
    answer = http.get("empty", params={"format": "json"})
    assert answer.status_code == 200
    assert answer.json() == []


def test_json_fields_are_swifts(http: httpx.Client) -> None:
    listed = http.get("list", params={"format": "json", "limit": "1"}).json()
    swifts = {"name", "hash", "bytes", "content_type", "last_modified"}
    # and Pithos' own, which Swift's clients pass over.
    pithos = {"x_object_hash", "x_object_uuid", "x_object_version", "x_object_version_timestamp"}
    assert set(listed[0]) == swifts | pithos | {"x_object_modified_by"}
    entry = listed[0]
    assert entry["name"] == "a.txt"
    assert entry["bytes"] == 5
    assert entry["content_type"] == "text/plain"
    assert re.fullmatch(r"[0-9a-f]{32}", entry["hash"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", entry["last_modified"])


def test_json_by_accept_header(http: httpx.Client) -> None:
    answer = http.get("list", headers={"Accept": "application/json"})
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert [e["name"] for e in answer.json()] == KEYS


def test_xml(http: httpx.Client) -> None:
    answer = http.get("list", params={"format": "xml", "delimiter": "/"})
    assert answer.headers["content-type"] == "application/xml; charset=utf-8"
    root = ElementTree.fromstring(answer.content)
    assert root.tag == "container"
    assert root.get("name") == "list"
    shown = [(child.tag, child.findtext("name")) for child in root]
    assert shown == [
        ("object", "a.txt"),
        ("subdir", "b/"),
        ("object", "c"),
        ("subdir", "d/"),
        ("object", "e"),
    ]
    first = root.find("object")
    assert first is not None
    assert first.findtext("bytes") == "5"
    assert first.findtext("content_type") == "text/plain"


def test_delimiter_gives_subdir_entries(http: httpx.Client) -> None:
    listed = http.get("list", params={"format": "json", "delimiter": "/"}).json()
    assert {"subdir": "b/"} in listed
    assert [e.get("name", e.get("subdir")) for e in listed] == ["a.txt", "b/", "c", "d/", "e"]
    assert names(http, prefix="b/", delimiter="/") == ["b/1", "b/2", "b/c/"]


def test_limit_marker_end_marker(http: httpx.Client) -> None:
    assert names(http, limit="2") == ["a.txt", "b/1"]
    assert names(http, marker="b/1", limit="2") == ["b/2", "b/c/3"]
    assert names(http, marker="b/2", end_marker="d/4") == ["b/c/3", "c"]
    assert names(http, prefix="b/") == ["b/1", "b/2", "b/c/3"]


def test_path_lists_one_pseudo_directory(http: httpx.Client) -> None:
    assert names(http, path="b") == ["b/1", "b/2"]


def test_reverse(http: httpx.Client) -> None:
    assert names(http, reverse="true") == KEYS[::-1]
    assert names(http, reverse="true", limit="2") == ["e", "d/4"]
    assert names(http, reverse="true", marker="c") == ["b/c/3", "b/2", "b/1", "a.txt"]
    assert names(http, reverse="true", marker="c", end_marker="b/1") == ["b/c/3", "b/2"]


def test_limit_above_ten_thousand_is_412(http: httpx.Client) -> None:
    assert http.get("list", params={"limit": "10001"}).status_code == 412
    assert http.get("list", params={"limit": "x"}).status_code == 400


def test_account_listing_formats_and_paging(http: httpx.Client) -> None:
    assert http.get("").text == "empty\nlist\n"
    listed = http.get("", params={"format": "json"}).json()
    assert [c["name"] for c in listed] == ["empty", "list"]
    assert set(listed[1]) == {"name", "count", "bytes", "last_modified"}
    assert listed[1]["count"] == len(KEYS)
    assert http.get("", params={"marker": "empty"}).text == "list\n"
    assert http.get("", params={"reverse": "on", "limit": "1"}).text == "list\n"
    root = ElementTree.fromstring(http.get("", params={"format": "xml"}).content)
    assert root.tag == "account"
    assert [c.findtext("name") for c in root] == ["empty", "list"]
    assert root.find("container/count") is not None


def test_swiftclient_lists_every_page(account: SwiftAccount) -> None:
    conn = account.connection()
    conn.put_container("many")
    for i in range(25):
        conn.put_object("many", f"k{i:03}", b"")
    _, listed = conn.get_container("many", limit=10, full_listing=True)
    assert [o["name"] for o in listed] == [f"k{i:03}" for i in range(25)]
