"""Pithos sharing on the Swift front end, against a live server: `X-Object-Sharing`
on writes and reads, folders that pass their sharing down, account groups, and
the listings of what is shared, as seen by the owner and by other accounts."""

from __future__ import annotations

import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def dave(server: LiveServer) -> SwiftAccount:
    return new_account(server)


def as_user(account: SwiftAccount, owner_account: SwiftAccount) -> httpx.Client:
    """A client of `account` pointed at `owner_account`'s storage URL."""
    _, token = account.login()
    return httpx.Client(base_url=owner_account.url + "/", headers={"X-Auth-Token": token})


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"share-{uuid.uuid4().hex[:10]}"
    assert owner.put(name).status_code == 201
    return name


def put(client: httpx.Client, path: str, data: bytes = b"data", **headers: str) -> httpx.Response:
    return client.put(path, content=data, headers={"Content-Type": "text/plain", **headers})


def test_read_sharing_lets_another_account_read_only(
    owner: httpx.Client, box: str, alice: SwiftAccount, bob: SwiftAccount, dave: SwiftAccount
) -> None:
    sharing = f"read={bob.tenant}"
    assert put(owner, f"{box}/doc", b"hello", **{"X-Object-Sharing": sharing}).status_code == 201
    head = owner.head(f"{box}/doc")
    assert head.headers["x-object-sharing"] == sharing
    assert "x-object-allowed-to" not in head.headers  # the owner is told nothing of itself
    with as_user(bob, alice) as reader:
        got = reader.get(f"{box}/doc")
        assert got.status_code == 200 and got.content == b"hello"
        assert got.headers["x-object-allowed-to"] == "read"
        assert put(reader, f"{box}/doc", b"changed").status_code == 403
        assert reader.delete(f"{box}/doc").status_code == 403
    with as_user(dave, alice) as stranger:
        assert stranger.get(f"{box}/doc").status_code == 403
    assert owner.get(f"{box}/doc").content == b"hello"


def test_write_sharing_lets_another_account_write_but_not_share(
    owner: httpx.Client, box: str, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    sharing = f"read={bob.tenant};write={bob.tenant}"
    assert put(owner, f"{box}/doc", **{"X-Object-Sharing": sharing}).status_code == 201
    # A grantee of both lists is kept as a writer only.
    assert owner.head(f"{box}/doc").headers["x-object-sharing"] == f"write={bob.tenant}"
    with as_user(bob, alice) as writer:
        assert writer.head(f"{box}/doc").headers["x-object-allowed-to"] == "write"
        assert put(writer, f"{box}/doc", b"by bob").status_code == 201
        refused = put(writer, f"{box}/doc", b"again", **{"X-Object-Sharing": "read=*"})
        assert refused.status_code == 403
        assert writer.post(f"{box}/doc", headers={"X-Object-Sharing": ""}).status_code == 403
    assert owner.get(f"{box}/doc").content == b"by bob"  # the refused write stored nothing


@pytest.mark.parametrize(
    "value", ["read", "read=", "share=bob", "read=a;list=b", "read=:x", "read=a:b:c"]
)
def test_bad_sharing_headers_are_400_and_store_nothing(
    owner: httpx.Client, box: str, value: str
) -> None:
    assert put(owner, f"{box}/bad", **{"X-Object-Sharing": value}).status_code == 400
    assert owner.head(f"{box}/bad").status_code == 404


def test_post_sets_and_removes_sharing_and_delete_forgets_it(
    owner: httpx.Client, box: str, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    assert put(owner, f"{box}/doc").status_code == 201
    assert "x-object-sharing" not in owner.head(f"{box}/doc").headers
    assert owner.post(f"{box}/doc", headers={"X-Object-Sharing": "read=*"}).status_code == 202
    assert owner.head(f"{box}/doc").headers["x-object-sharing"] == "read=*"
    with as_user(bob, alice) as reader:
        assert reader.get(f"{box}/doc").status_code == 200
        # A POST without the header leaves the sharing as it is.
        assert owner.post(f"{box}/doc", headers={"X-Object-Meta-A": "1"}).status_code == 202
        assert reader.get(f"{box}/doc").status_code == 200
        assert owner.post(f"{box}/doc", headers={"X-Object-Sharing": ""}).status_code == 202
        assert reader.get(f"{box}/doc").status_code == 403
        assert owner.post(f"{box}/doc", headers={"X-Object-Sharing": "read=*"}).status_code == 202
        assert owner.delete(f"{box}/doc").status_code == 204
        assert put(owner, f"{box}/doc", b"new").status_code == 201
        assert reader.get(f"{box}/doc").status_code == 403
    assert "x-object-sharing" not in owner.head(f"{box}/doc").headers


def test_a_copy_does_not_take_the_sources_sharing(
    owner: httpx.Client, box: str, bob: SwiftAccount
) -> None:
    assert put(owner, f"{box}/src", **{"X-Object-Sharing": f"read={bob.tenant}"}).status_code == 201
    copied = owner.put(f"{box}/dst", headers={"X-Copy-From": f"{box}/src"})
    assert copied.status_code == 201
    assert "x-object-sharing" not in owner.head(f"{box}/dst").headers
    again = owner.request(
        "COPY", f"{box}/src", headers={"Destination": f"{box}/dst2", "X-Object-Sharing": "read=*"}
    )
    assert again.status_code == 201
    assert owner.head(f"{box}/dst2").headers["x-object-sharing"] == "read=*"


def test_a_shared_folder_passes_its_sharing_down(
    owner: httpx.Client, box: str, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    folder = owner.put(
        f"{box}/docs",
        content=b"",
        headers={"Content-Type": "application/directory", "X-Object-Sharing": f"read={bob.tenant}"},
    )
    assert folder.status_code == 201
    assert put(owner, f"{box}/docs/a/b.txt", b"deep").status_code == 201
    assert put(owner, f"{box}/other.txt").status_code == 201
    head = owner.head(f"{box}/docs/a/b.txt")
    assert head.headers["x-object-sharing"] == f"read={bob.tenant}"
    assert head.headers["x-object-shared-by"] == f"AUTH_{alice.tenant}/{box}/docs"
    with as_user(bob, alice) as reader:
        assert reader.get(f"{box}/docs/a/b.txt").content == b"deep"
        assert reader.get(f"{box}/other.txt").status_code == 403


def test_groups_are_set_shown_and_used_in_sharing(
    server: LiveServer, bob: SwiftAccount, dave: SwiftAccount
) -> None:
    alice = new_account(server)  # groups are the account's own: a fresh one
    with alice.http() as owner:
        answer = owner.post("", headers={"X-Account-Group-Friends": f"{bob.tenant}, {dave.tenant}"})
        assert answer.status_code == 204
        head = owner.head("")
        assert head.headers["x-account-group-friends"] == ",".join(
            sorted([bob.tenant, dave.tenant])
        )
        assert owner.put("box").status_code == 201
        group = f"{alice.tenant}:friends"
        assert put(owner, "box/doc", **{"X-Object-Sharing": f"read={group}"}).status_code == 201
        with as_user(bob, alice) as reader:
            assert reader.get("box/doc").status_code == 200
        # With ?update only the groups sent change; an empty value removes one.
        assert owner.post("?update", headers={"X-Account-Group-Others": "x"}).status_code == 204
        assert {"x-account-group-friends", "x-account-group-others"} <= set(owner.head("").headers)
        assert owner.post("?update", headers={"X-Account-Group-Friends": ""}).status_code == 204
        with as_user(bob, alice) as reader:
            assert reader.get("box/doc").status_code == 403
        # Without ?update the groups sent replace all the others.
        assert owner.post("", headers={"X-Account-Group-Friends": bob.tenant}).status_code == 204
        head = owner.head("")
        assert head.headers["x-account-group-friends"] == bob.tenant
        assert "x-account-group-others" not in head.headers
        for bad in ("X-Account-Group-Best-Friends", "X-Account-Group-Best_Friends"):
            assert owner.post("", headers={bad: bob.tenant}).status_code == 400


def test_listings_of_what_is_shared(
    server: LiveServer, bob: SwiftAccount, dave: SwiftAccount
) -> None:
    alice = new_account(server)
    with alice.http() as owner:
        for name in ("shared", "private"):
            assert owner.put(name).status_code == 201
        assert (
            put(owner, "shared/a", **{"X-Object-Sharing": f"read={bob.tenant}"}).status_code == 201
        )
        assert put(owner, "shared/b").status_code == 201
        assert put(owner, "private/c").status_code == 201
        assert owner.get("shared?shared").text.split() == ["a"]
        assert owner.get("shared").text.split() == ["a", "b"]
        assert owner.get("?shared").text.split() == ["shared"]
        with as_user(bob, alice) as reader:
            assert reader.get("shared").text.split() == ["a"]
            listed = reader.get("shared", params={"format": "json"}).json()
            assert [item["name"] for item in listed] == ["a"]
            assert reader.get("private").status_code == 403
            assert reader.get("").text.split() == ["shared"]
            _, token = bob.login()
            top = httpx.get(f"{server.endpoint}/v1/", headers={"X-Auth-Token": token})
            assert f"AUTH_{alice.tenant}" in top.text.split()
        with as_user(dave, alice) as stranger:
            assert stranger.get("").status_code == 403
            assert stranger.get("shared").status_code == 403
            _, token = dave.login()
            top = httpx.get(f"{server.endpoint}/v1/", headers={"X-Auth-Token": token})
            assert f"AUTH_{alice.tenant}" not in top.text.split()
    assert httpx.get(f"{server.endpoint}/v1/").status_code == 401
