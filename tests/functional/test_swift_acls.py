"""Swift container ACLs against a live server: other accounts, the account's
members (users who are not its admins), and the public."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from botocore.handlers import validate_bucket_name
from conftest import LiveServer, client
from swift_support import SwiftAccount, add_user, new_account


@pytest.fixture
def owner(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture
def stranger(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture
def box(owner: SwiftAccount) -> Iterator[httpx.Client]:
    with owner.http() as http:
        assert http.put("box").status_code == 201
        assert http.put("box/doc", content=b"shared").status_code == 201
        yield http


def as_user(owner: SwiftAccount, who: SwiftAccount) -> httpx.Client:
    """httpx on the owner's account with `who`'s token."""
    _, token = who.login()
    return httpx.Client(base_url=owner.url + "/", headers={"X-Auth-Token": token})


def test_without_an_acl_other_accounts_are_refused(
    owner: SwiftAccount, stranger: SwiftAccount, box: httpx.Client
) -> None:
    with as_user(owner, stranger) as theirs:
        assert theirs.get("box/doc").status_code == 403
        assert theirs.get("box").status_code == 403
        assert theirs.put("box/x", content=b"x").status_code == 403
        assert theirs.head("").status_code == 403


def test_read_acl_lets_another_account_read_and_list_only(
    owner: SwiftAccount, stranger: SwiftAccount, box: httpx.Client
) -> None:
    assert box.post("box", headers={"X-Container-Read": stranger.tenant}).status_code == 204
    assert box.head("box").headers["x-container-read"] == stranger.tenant
    with as_user(owner, stranger) as theirs:
        assert theirs.get("box/doc").content == b"shared"
        assert theirs.get("box").text == "doc\n"
        assert "x-container-read" not in theirs.head("box").headers
        assert theirs.put("box/x", content=b"x").status_code == 403
        assert theirs.delete("box/doc").status_code == 403
        assert theirs.post("box", headers={"X-Container-Meta-A": "1"}).status_code == 403
    # One authorizer: the grant holds through S3 too. Other tests' accounts
    # have containers named "box": S3 reaches this one by its address.
    s3 = client(owner.server, stranger.access_key, stranger.secret)
    s3.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    got = s3.get_object(Bucket=f"{owner.tenant}:box", Key="doc")
    assert got["Body"].read() == b"shared"


def test_write_acl_lets_a_named_user_write_and_delete(
    owner: SwiftAccount, stranger: SwiftAccount, box: httpx.Client
) -> None:
    box.post("box", headers={"X-Container-Write": f"{stranger.tenant}:owner"})
    box.put("box/kept", content=b"k")
    with as_user(owner, stranger) as theirs:
        assert theirs.put("box/theirs", content=b"t").status_code == 201
        assert theirs.delete("box/doc").status_code == 204
        assert theirs.get("box/kept").status_code == 403  # write does not grant read
        assert theirs.get("box").status_code == 403
        # What it wrote it owns, as an S3 object's writer does.
        assert theirs.get("box/theirs").content == b"t"
    assert box.get("box/theirs").content == b"t"
    assert box.get("box/doc").status_code == 404


def test_public_read_and_listings(owner: SwiftAccount, box: httpx.Client) -> None:
    url = f"{owner.url}/box"
    assert httpx.get(f"{url}/doc").status_code == 401
    box.post("box", headers={"X-Container-Read": ".r:*"})
    assert httpx.get(f"{url}/doc").content == b"shared"
    assert httpx.get(url).status_code == 401
    assert httpx.put(f"{url}/anon", content=b"x").status_code == 401
    box.post("box", headers={"X-Container-Read": ".r:*,.rlistings"})
    assert httpx.get(url).text == "doc\n"
    box.post("box", headers={"X-Remove-Container-Read": "x"})
    assert httpx.get(f"{url}/doc").status_code == 401
    assert "x-container-read" not in box.head("box").headers


def test_members_get_only_what_the_acl_grants(
    server: LiveServer, owner: SwiftAccount, box: httpx.Client
) -> None:
    member = add_user(server, owner.tenant, "member", admin=False)
    with as_user(owner, member) as theirs:
        assert theirs.get("box/doc").status_code == 403
        assert theirs.get("box").status_code == 403
        box.post("box", headers={"X-Container-Read": f"{owner.tenant}:member"})
        assert theirs.get("box/doc").content == b"shared"
        assert theirs.get("box").text == "doc\n"
        assert theirs.put("box/m", content=b"m").status_code == 403
        assert theirs.put("box/m", headers={"X-Copy-From": "box/doc"}).status_code == 403
        box.post("box", headers={"X-Container-Write": f"{owner.tenant}:member"})
        assert theirs.put("box/m", content=b"m").status_code == 201
        assert theirs.put("box/m2", headers={"X-Copy-From": "box/doc"}).status_code == 201
        # The container itself stays the owner's.
        assert theirs.post("box", headers={"X-Container-Read": "*:x"}).status_code == 403
        assert theirs.delete("box").status_code == 403
        assert theirs.put("new").status_code == 403


def test_acls_swift_cannot_honour_are_400(owner: SwiftAccount, box: httpx.Client) -> None:
    for headers in (
        {"X-Container-Read": ".r:example.com"},
        {"X-Container-Write": ".r:*"},
        {"X-Container-Read": "a:b:c"},
    ):
        assert box.put("other", headers=headers).status_code == 400, headers
        assert box.head("other").status_code == 404


def test_swift_cli_sets_acls(
    owner: SwiftAccount, stranger: SwiftAccount, box: httpx.Client
) -> None:
    conn = owner.connection()
    conn.post_container("box", headers={"X-Container-Read": f"{stranger.tenant}:owner"})
    assert conn.head_container("box")["x-container-read"] == f"{stranger.tenant}:owner"
