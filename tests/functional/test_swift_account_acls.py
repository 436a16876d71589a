"""Swift account ACLs (X-Account-Access-Control: admin, read-write,
read-only) against a live server: what each level may do through Swift,
and through S3, since they are judged by the core's one authorizer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer, client
from swift_support import SwiftAccount, add_user, new_account

ACL = "X-Account-Access-Control"


@pytest.fixture(scope="module")
def owner(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def reader(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def writer(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def shared(
    owner: SwiftAccount, reader: SwiftAccount, writer: SwiftAccount, admin: SwiftAccount
) -> Iterator[str]:
    """A container of the owner's, with the account shared at three levels."""
    with owner.http() as http:
        name = f"acc-{uuid.uuid4().hex[:10]}"
        assert http.put(name).status_code == 201
        assert http.put(f"{name}/doc", content=b"data").status_code == 201
        document = {
            "read-only": [f"{reader.tenant}:{reader.user}"],
            "read-write": [writer.tenant],
            "admin": [f"{admin.tenant}:*"],
        }
        assert http.post("", headers={ACL: json.dumps(document)}).status_code == 204
        yield name


def as_(account: SwiftAccount, owner: SwiftAccount) -> httpx.Client:
    """An httpx client of `account`'s token on `owner`'s account."""
    _, token = account.login()
    return httpx.Client(base_url=owner.url + "/", headers={"X-Auth-Token": token})


def test_the_owner_sees_the_acl(owner: SwiftAccount, shared: str, reader: SwiftAccount) -> None:
    with owner.http() as http:
        shown = json.loads(http.head("").headers[ACL.lower()])
    assert shown["read-only"] == [f"{reader.tenant}:{reader.user}"]
    assert set(shown) == {"admin", "read-only", "read-write"}


def test_read_only(owner: SwiftAccount, reader: SwiftAccount, shared: str) -> None:
    with as_(reader, owner) as http:
        assert shared in http.get("").text.splitlines()
        assert ACL.lower() not in http.head("").headers
        assert http.get(shared).text.splitlines() == ["doc"]
        assert http.get(f"{shared}/doc").content == b"data"
        assert http.put(f"{shared}/new", content=b"x").status_code == 403
        assert http.delete(f"{shared}/doc").status_code == 403
        assert http.put(f"{shared}-more").status_code == 403
        assert http.post("", headers={"X-Account-Meta-X": "1"}).status_code == 403
    # Through S3 as well: the same authorizer judges it.
    s3 = client(owner.server, reader.access_key, reader.secret)
    assert s3.get_object(Bucket=shared, Key="doc")["Body"].read() == b"data"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=shared, Key="s3-new", Body=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_read_write(owner: SwiftAccount, writer: SwiftAccount, shared: str) -> None:
    with as_(writer, owner) as http:
        assert http.put(f"{shared}/by-writer", content=b"w").status_code == 201
        assert http.get(f"{shared}/by-writer").content == b"w"
        assert http.delete(f"{shared}/by-writer").status_code == 204
        made = f"{shared}-rw"
        assert http.put(made).status_code == 201
        assert http.post(made, headers={"X-Container-Meta-K": "v"}).status_code == 204
        assert http.head(made).headers["x-container-meta-k"] == "v"
        # Container ACLs and the account stay beyond it.
        assert http.post(made, headers={"X-Container-Read": "someone"}).status_code == 403
        assert http.post("", headers={"X-Account-Meta-X": "1"}).status_code == 403
        assert http.delete(made).status_code == 204
    with owner.http() as mine:
        assert mine.head(made).status_code == 404


def test_admin(owner: SwiftAccount, admin: SwiftAccount, shared: str) -> None:
    with as_(admin, owner) as http:
        assert http.post("", headers={"X-Account-Meta-Set-By": "admin"}).status_code == 204
        assert ACL.lower() in http.head("").headers
        assert http.post(shared, headers={"X-Container-Read": "nobody"}).status_code == 204
        assert http.head(shared).headers["x-container-read"] == "nobody"
        assert http.post(shared, headers={"X-Remove-Container-Read": "1"}).status_code == 204
    with owner.http() as mine:
        assert mine.head("").headers["x-account-meta-set-by"] == "admin"


def test_others_and_malformed_acls(server: LiveServer, owner: SwiftAccount, shared: str) -> None:
    stranger = new_account(server)
    with as_(stranger, owner) as http:
        assert http.get(f"{shared}/doc").status_code == 403
        assert http.post("", headers={ACL: "{}"}).status_code == 403
    with owner.http() as http:
        for bad in ("not json", "[]", '{"readers": ["x"]}', '{"admin": "x"}', '{"admin": [1]}'):
            assert http.post("", headers={ACL: bad}).status_code == 400, bad
    assert httpx.get(f"{server.endpoint}/info").json()["tempauth"]["account_acls"] is True


def test_removal_and_members(server: LiveServer) -> None:
    boss = new_account(server)
    member = add_user(server, boss.tenant, f"m{uuid.uuid4().hex[:6]}", admin=False)
    outsider = new_account(server)
    with boss.http() as http:
        http.put("box")
        http.put("box/o", content=b"o")
        acl = {"read-only": [outsider.tenant], "read-write": [f"{boss.tenant}:{member.user}"]}
        assert http.post("", headers={ACL: json.dumps(acl)}).status_code == 204
    with member.http() as mine:
        # A member of the account gets what the ACL gives it, not the owner's rights.
        assert mine.put("box/by-member", content=b"m").status_code == 201
        assert mine.post("", headers={"X-Account-Meta-X": "1"}).status_code == 403
    with as_(outsider, boss) as http:
        assert http.get("box/o").content == b"o"
    with boss.http() as http:
        assert http.post("", headers={ACL: ""}).status_code == 204
        assert ACL.lower() not in http.head("").headers
    with as_(outsider, boss) as http:
        assert http.get("box/o").status_code == 403
        assert http.get("").status_code == 403
