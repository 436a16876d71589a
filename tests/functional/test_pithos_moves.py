"""Pithos' MOVE and PUT with X-Move-From, and copies of a chosen version
(X-Source-Version) or from another account (X-Source-Account), against a
live server."""

from __future__ import annotations

import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> SwiftAccount:
    return new_account(server)


def new_box(client: httpx.Client, **headers: str) -> str:
    name = f"mv-{uuid.uuid4().hex[:10]}"
    assert client.put(name, headers=headers).status_code == 201
    return name


def put(client: httpx.Client, path: str, data: bytes, **headers: str) -> None:
    answer = client.put(path, content=data, headers={"Content-Type": "text/plain", **headers})
    assert answer.status_code == 201, answer.text


def move(client: httpx.Client, path: str, destination: str, **headers: str) -> httpx.Response:
    return client.request("MOVE", path, headers={"Destination": destination, **headers})


def test_move_renames_with_history_and_sharing(
    owner: httpx.Client, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    box = new_box(owner, **{"X-Container-Policy-Versioning": "auto"})
    put(owner, f"{box}/a", b"one")
    put(owner, f"{box}/a", b"two", **{"X-Object-Sharing": f"read={bob.tenant}"})
    versions = owner.get(f"{box}/a?version=list").json()["versions"]
    moved = move(owner, f"{box}/a", f"/{box}/b")
    assert moved.status_code == 201
    assert owner.get(f"{box}/a").status_code == 404
    assert owner.get(f"{box}/b").content == b"two"
    assert owner.get(f"{box}/b?version=list").json()["versions"] == versions
    assert owner.head(f"{box}/b").headers["x-object-sharing"] == f"read={bob.tenant}"
    _, token = bob.login()
    with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as reader:
        assert reader.get(f"{box}/b").content == b"two"


def test_put_with_move_from_another_container(owner: httpx.Client) -> None:
    src, dst = new_box(owner), new_box(owner)
    put(owner, f"{src}/a", b"data")
    answer = owner.put(f"{dst}/a", headers={"X-Move-From": f"/{src}/a", "Content-Length": "0"})
    assert answer.status_code == 201
    assert answer.headers["x-object-version"]
    assert owner.get(f"{src}/a").status_code == 404
    assert owner.get(f"{dst}/a").content == b"data"
    assert owner.get(src).status_code == 204  # empty now


def test_move_onto_an_object_or_with_metadata_replaces_it(owner: httpx.Client) -> None:
    box = new_box(owner)
    put(owner, f"{box}/a", b"new", **{"X-Object-Meta-Kept": "yes"})
    put(owner, f"{box}/b", b"old")
    assert move(owner, f"{box}/a", f"{box}/b").status_code == 201
    assert owner.get(f"{box}/b").content == b"new"
    assert owner.head(f"{box}/b").headers["x-object-meta-kept"] == "yes"
    assert owner.get(f"{box}/a").status_code == 404
    answer = move(owner, f"{box}/b", f"{box}/c", **{"X-Object-Meta-Added": "1"})
    assert answer.status_code == 201
    head = owner.head(f"{box}/c")
    assert head.headers["x-object-meta-added"] == "1"
    assert head.headers["x-object-meta-kept"] == "yes"
    assert owner.head(f"{box}/b").status_code == 404


def test_bad_moves(owner: httpx.Client, alice: SwiftAccount, bob: SwiftAccount) -> None:
    box = new_box(owner)
    put(owner, f"{box}/a", b"x", **{"X-Object-Sharing": f"write={bob.tenant}"})
    assert owner.request("MOVE", f"{box}/a").status_code == 412
    assert move(owner, f"{box}/a", "nocontainer").status_code == 412
    assert move(owner, f"{box}/a", f"{box}/a").status_code == 409
    assert move(owner, f"{box}/none", f"{box}/b").status_code == 404
    assert move(owner, f"{box}/a", f"nosuchbox-{uuid.uuid4().hex[:6]}/b").status_code == 404
    _, token = bob.login()
    with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as writer:
        # A writer may change the object, not take it away.
        assert move(writer, f"{box}/a", f"{box}/b").status_code == 403
    assert owner.get(f"{box}/a").content == b"x"
    assert owner.head(f"{box}/b").status_code == 404


def test_copies_of_a_chosen_version_and_from_another_account(
    owner: httpx.Client, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    box = new_box(owner, **{"X-Container-Policy-Versioning": "auto"})
    put(owner, f"{box}/a", b"first")
    first = owner.head(f"{box}/a").headers["x-object-version"]
    put(owner, f"{box}/a", b"second", **{"X-Object-Sharing": f"read={bob.tenant}"})
    copied = owner.request(
        "COPY", f"{box}/a", headers={"Destination": f"{box}/old", "X-Source-Version": first}
    )
    assert copied.status_code == 201
    assert owner.get(f"{box}/old").content == b"first"
    answer = owner.put(
        f"{box}/old2", headers={"X-Copy-From": f"{box}/a", "X-Source-Version": first}
    )
    assert answer.status_code == 201 and owner.get(f"{box}/old2").content == b"first"
    bad = owner.put(f"{box}/x", headers={"X-Copy-From": f"{box}/a", "X-Source-Version": "nope"})
    assert bad.status_code == 404
    with bob.http() as theirs:
        mine = new_box(theirs)
        answer = theirs.put(
            f"{mine}/copy",
            headers={"X-Copy-From": f"{box}/a", "X-Source-Account": f"AUTH_{alice.tenant}"},
        )
        assert answer.status_code == 201
        assert theirs.get(f"{mine}/copy").content == b"second"
