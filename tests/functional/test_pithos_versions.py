"""Pithos versions on the Swift front end, against a live server: the container's
versioning policy, `?version=list` and `?version=<id>` on objects (also with
`?hashmap`), and `?until=<time>` on accounts, containers and objects."""

from __future__ import annotations

import hashlib
import math
import time
import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"ver-{uuid.uuid4().hex[:10]}"
    answer = owner.put(name, headers={"X-Container-Policy-Versioning": "auto"})
    assert answer.status_code == 201
    return name


def put(client: httpx.Client, path: str, data: bytes) -> httpx.Response:
    answer = client.put(path, content=data, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 201, answer.text
    return answer


def next_second() -> int:
    """A whole second after now, once it has passed: writes before and after it
    fall on either side of `?until=` with it."""
    mark = math.ceil(time.time()) + 1
    time.sleep(max(0.0, mark - time.time()) + 0.05)
    return mark - 1


def test_the_versioning_policy_is_set_and_shown(owner: httpx.Client, box: str) -> None:
    assert owner.head(box).headers["x-container-policy-versioning"] == "auto"
    assert owner.post(box, headers={"X-Container-Policy-Versioning": "none"}).status_code == 204
    assert owner.head(box).headers["x-container-policy-versioning"] == "none"
    assert owner.post(box, headers={"X-Container-Policy-Versioning": "some"}).status_code == 400
    plain = f"plain-{uuid.uuid4().hex[:8]}"
    assert owner.put(plain).status_code == 201
    assert owner.head(plain).headers["x-container-policy-versioning"] == "none"


def test_versions_are_listed_and_read(owner: httpx.Client, box: str) -> None:
    put(owner, f"{box}/doc", b"first")
    first = owner.head(f"{box}/doc").headers["x-object-version"]
    put(owner, f"{box}/doc", b"second")
    second = owner.head(f"{box}/doc").headers["x-object-version"]
    assert first != second
    listed = owner.get(f"{box}/doc", params={"version": "list"})
    assert listed.status_code == 200
    ids = [entry[0] for entry in listed.json()["versions"]]
    assert ids == [first, second]
    assert all(float(entry[1]) > 0 for entry in listed.json()["versions"])
    old = owner.get(f"{box}/doc", params={"version": first})
    assert old.status_code == 200 and old.content == b"first"
    assert old.headers["x-object-version"] == first
    assert owner.head(f"{box}/doc", params={"version": first}).headers["content-length"] == "5"
    hashmap = owner.get(f"{box}/doc", params={"hashmap": "", "version": first}).json()
    assert hashmap["hashes"] == [hashlib.sha256(b"first").hexdigest()]
    for bad in ("nosuchversion", "0" * 40):
        assert owner.get(f"{box}/doc", params={"version": bad}).status_code == 404
    # A deleted object keeps its history.
    assert owner.delete(f"{box}/doc").status_code == 204
    assert owner.get(f"{box}/doc").status_code == 404
    assert [e[0] for e in owner.get(f"{box}/doc?version=list").json()["versions"]] == ids
    assert owner.get(f"{box}/doc", params={"version": second}).content == b"second"


def test_until_shows_the_past(owner: httpx.Client, box: str) -> None:
    before_container = int(time.time()) - 5
    put(owner, f"{box}/doc", b"old data")
    mark = next_second()
    put(owner, f"{box}/doc", b"new")
    put(owner, f"{box}/later", b"x")
    assert owner.get(f"{box}/doc", params={"until": mark}).content == b"old data"
    assert owner.get(f"{box}/later", params={"until": mark}).status_code == 404
    assert owner.get(box, params={"until": mark}).text.split() == ["doc"]
    head = owner.head(box, params={"until": mark})
    assert head.headers["x-container-object-count"] == "1"
    assert head.headers["x-container-bytes-used"] == str(len(b"old data"))
    assert "x-container-until-timestamp" in head.headers
    listed = owner.get(box, params={"until": mark, "format": "json"}).json()
    assert [(e["name"], e["bytes"]) for e in listed] == [("doc", 8)]
    assert owner.get(box).text.split() == ["doc", "later"]
    # Not a whole number of seconds: ignored, as Pithos ignores it.
    assert owner.get(box, params={"until": "soon"}).text.split() == ["doc", "later"]
    assert owner.delete(f"{box}/doc").status_code == 204
    assert owner.get(f"{box}/doc", params={"until": mark}).content == b"old data"
    account = owner.head("", params={"until": before_container})
    assert account.status_code == 204
    assert "x-account-until-timestamp" in account.headers
    assert int(account.headers["x-account-container-count"]) < int(
        owner.head("").headers["x-account-container-count"]
    )


def test_history_is_the_owners(
    server: LiveServer, alice: SwiftAccount, owner: httpx.Client, box: str
) -> None:
    put(owner, f"{box}/doc", b"v1")
    bob = new_account(server)
    _, token = bob.login()
    with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as stranger:
        assert stranger.get(f"{box}/doc", params={"version": "list"}).status_code == 403
    sharing = {"X-Object-Sharing": f"read={bob.tenant}"}
    assert owner.post(f"{box}/doc", headers=sharing).status_code == 202
    with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as reader:
        listed = reader.get(f"{box}/doc", params={"version": "list"})
        assert listed.status_code == 200 and len(listed.json()["versions"]) == 2


def test_purges_remove_history(owner: httpx.Client, box: str) -> None:
    put(owner, f"{box}/doc", b"one")
    put(owner, f"{box}/doc", b"two")
    put(owner, f"{box}/gone", b"x")
    assert owner.delete(f"{box}/gone").status_code == 204
    mark = next_second()
    put(owner, f"{box}/doc", b"three")
    assert owner.delete(box, params={"until": mark}).status_code == 204
    assert owner.head(box).status_code == 204  # the container stays
    versions = owner.get(f"{box}/doc?version=list").json()["versions"]
    assert len(versions) == 1
    assert owner.get(f"{box}/doc").content == b"three"
    assert owner.get(f"{box}/gone?version=list").json()["versions"] == []
    now = next_second()
    assert owner.delete(f"{box}/doc", params={"until": now}).status_code == 204
    assert owner.get(f"{box}/doc").status_code == 404
    assert owner.get(f"{box}/doc?version=list").json()["versions"] == []
