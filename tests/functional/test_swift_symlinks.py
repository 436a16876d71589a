"""Symlinks against a live server, with swiftclient and raw HTTP: links,
static links, chains, ?symlink=get, and Swift's 404s and 409s with the
Content-Location of the target."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        http.put("links")
        http.put("targets")
        http.put("targets/body", content=b"target body", headers={"Content-Type": "text/x-t"})
    return made


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as client:
        yield client


def link(http: httpx.Client, name: str, target: str, **headers: str) -> httpx.Response:
    sent = {"X-Symlink-Target": target, "Content-Length": "0", **headers}
    return http.put(f"links/{name}", headers=sent)


def test_link_reads_its_target(account: SwiftAccount, http: httpx.Client) -> None:
    assert link(http, "l1", "targets/body").status_code == 201
    conn = account.connection()
    headers, body = conn.get_object("links", "l1")
    assert body == b"target body"
    assert headers["content-type"] == "text/x-t"
    assert headers["content-location"] == f"/v1/AUTH_{account.tenant}/targets/body"
    assert http.get("links/l1", headers={"Range": "bytes=7-10"}).content == b"body"
    # The link itself.
    itself = http.get("links/l1", params={"symlink": "get"})
    assert itself.content == b""
    assert itself.headers["x-symlink-target"] == "targets/body"
    assert itself.headers["content-type"] == "application/symlink"
    listed = http.get("links", params={"format": "json", "prefix": "l1"}).json()
    assert listed[0]["symlink_path"] == f"/v1/AUTH_{account.tenant}/targets/body"
    assert listed[0]["content_type"] == "application/symlink"
    assert "<symlink_path>" in http.get("links", params={"format": "xml", "prefix": "l1"}).text
    # A copy of a link copies its target, unless ?symlink=get.
    http.put("targets/copied", headers={"X-Copy-From": "links/l1", "Content-Length": "0"})
    assert http.get("targets/copied").content == b"target body"
    # POST changes the link and points at the target.
    posted = http.post("links/l1", headers={"X-Object-Meta-Color": "red"})
    assert posted.status_code == 307
    assert posted.headers["location"] == f"/v1/AUTH_{account.tenant}/targets/body"
    assert http.head("links/l1", params={"symlink": "get"}).headers["x-object-meta-color"] == "red"
    assert http.delete("links/l1").status_code == 204
    assert http.head("targets/body").status_code == 200


def test_dangling_chains_and_refusals(account: SwiftAccount, http: httpx.Client) -> None:
    link(http, "dangling", "targets/not-yet")
    answer = http.get("links/dangling")
    assert answer.status_code == 404
    assert answer.headers["content-location"] == f"/v1/AUTH_{account.tenant}/targets/not-yet"
    http.put("targets/not-yet", content=b"now")
    assert http.get("links/dangling").content == b"now"
    link(http, "c2", "links/dangling")
    assert http.get("links/c2").content == b"now"  # two links: allowed
    link(http, "c3", "links/c2")
    answer = http.get("links/c3")
    assert answer.status_code == 409
    assert answer.text == "Too many levels of symbolic links, maximum allowed is 2"
    bad = http.put("links/x", headers={"X-Symlink-Target": "nocontainer", "Content-Length": "0"})
    assert bad.status_code == 412
    body = http.put("links/x", headers={"X-Symlink-Target": "targets/body"}, content=b"data")
    assert (body.status_code, body.text) == (400, "Symlink requests require a zero byte body")
    post = http.post("targets/body", headers={"X-Symlink-Target": "targets/x"})
    assert post.status_code == 400


def test_static_links(account: SwiftAccount, http: httpx.Client) -> None:
    http.put("targets/static", content=b"v1")
    etag = hashlib.md5(b"v1").hexdigest()
    made = link(http, "s1", "targets/static", **{"X-Symlink-Target-Etag": etag})
    assert made.status_code == 201
    assert http.get("links/s1").content == b"v1"
    http.put("targets/static", content=b"v2")
    changed = http.get("links/s1")
    assert changed.status_code == 409
    assert changed.headers["content-location"] == f"/v1/AUTH_{account.tenant}/targets/static"
    wrong = link(http, "s2", "targets/static", **{"X-Symlink-Target-Etag": etag})
    assert wrong.status_code == 409
    nowhere = link(http, "s3", "targets/nothing", **{"X-Symlink-Target-Etag": etag})
    assert (nowhere.status_code, nowhere.text) == (409, "X-Symlink-Target does not exist")


def test_info_lists_symlink(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}
