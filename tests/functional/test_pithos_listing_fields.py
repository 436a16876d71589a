"""Pithos' container listing extras against a live server: `x_object_hash`
(the object's top hash) in JSON and XML listings, and `?public` listings of
the objects that have a public link, on containers and the account."""

from __future__ import annotations

import uuid
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from conftest import LiveServer, client
from pithos_client import block_hashes, top_hash
from swift_support import SwiftAccount, new_account

MIB = 1024 * 1024
BLOCK = 4 * MIB
EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HELLO_HASH = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"lf-{uuid.uuid4().hex[:10]}"
    assert owner.put(name).status_code == 201
    return name


def expected_top(data: bytes) -> str:
    return top_hash(block_hashes(data, BLOCK)).hex()


def by_name(owner: httpx.Client, box: str, **params: str) -> dict[str, dict[str, Any]]:
    answer = owner.get(box, params={"format": "json", **params})
    assert answer.status_code == 200, answer.text
    return {e["name"]: e for e in answer.json()}


def test_listings_carry_each_objects_top_hash(owner: httpx.Client, box: str) -> None:
    big = uuid.uuid4().bytes * (BLOCK // 16) + b"tail"
    for name, data in (("empty", b""), ("hello", b"hello"), ("big", big)):
        assert owner.put(f"{box}/{name}", content=data).status_code == 201
    listed = by_name(owner, box)
    assert listed["empty"]["x_object_hash"] == EMPTY_HASH
    assert listed["hello"]["x_object_hash"] == HELLO_HASH
    assert listed["big"]["x_object_hash"] == expected_top(big)
    for name, entry in listed.items():
        assert entry["x_object_hash"] == owner.head(f"{box}/{name}").headers["x-object-hash"]
    # The owner's `?shared` listing carries them too.
    sharing = {"X-Object-Sharing": "read=*"}
    assert owner.post(f"{box}/hello", headers=sharing).status_code == 202
    shared = by_name(owner, box, shared="")
    assert list(shared) == ["hello"] and shared["hello"]["x_object_hash"] == HELLO_HASH
    assert shared["hello"]["x_object_uuid"] == owner.head(f"{box}/hello").headers["x-object-uuid"]
    xml = ElementTree.fromstring(owner.get(box, params={"format": "xml"}).content)
    objects = {o.findtext("name"): o for o in xml.iter("object")}
    assert objects["hello"].findtext("x_object_hash") == HELLO_HASH
    # Plain text is names only.
    assert owner.get(box).text.split() == ["big", "empty", "hello"]


def test_a_top_hash_computed_on_demand_shows_once_known(
    alice: SwiftAccount, owner: httpx.Client, box: str
) -> None:
    s3: Any = client(alice.server, alice.access_key, alice.secret)
    parts = [b"A" * (5 * MIB), b"last"]
    upload = s3.create_multipart_upload(Bucket=box, Key="mp")["UploadId"]
    done = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket=box, Key="mp", UploadId=upload, PartNumber=n, Body=body)[
                "ETag"
            ],
        }
        for n, body in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=box, Key="mp", UploadId=upload, MultipartUpload={"Parts": done}
    )
    # Off the block grid: no top hash until a `?hashmap` computes it.
    assert by_name(owner, box)["mp"]["x_object_hash"] == ""
    assert owner.get(f"{box}/mp?hashmap").status_code == 200
    assert by_name(owner, box)["mp"]["x_object_hash"] == expected_top(b"".join(parts))


def test_public_listings_show_only_published_objects(
    alice: SwiftAccount, owner: httpx.Client, box: str, server: LiveServer
) -> None:
    for name in ("a", "b", "dir/c", "dir/d"):
        public = "true" if name in ("b", "dir/c") else "false"
        made = owner.put(
            f"{box}/{name}", content=name.encode(), headers={"X-Object-Public": public}
        )
        assert made.status_code == 201
    assert list(by_name(owner, box, public="")) == ["b", "dir/c"]
    assert owner.get(box, params={"public": ""}).text.split() == ["b", "dir/c"]
    assert list(by_name(owner, box, public="", prefix="dir/")) == ["dir/c"]
    rolled = owner.get(box, params={"public": "", "delimiter": "/", "format": "json"}).json()
    assert rolled == [by_name(owner, box, public="")["b"], {"subdir": "dir/"}]
    assert list(by_name(owner, box, public="", limit="1")) == ["b"]
    assert list(by_name(owner, box, public="", marker="b")) == ["dir/c"]
    # The owner's entries carry Pithos' fields.
    assert by_name(owner, box, public="")["b"]["x_object_hash"]
    # Unpublished: gone from the listing.
    assert owner.post(f"{box}/b", headers={"X-Object-Public": "false"}).status_code == 202
    assert list(by_name(owner, box, public="")) == ["dir/c"]
    assert owner.delete(f"{box}/dir/c").status_code == 204
    assert owner.get(box, params={"public": ""}).status_code == 204

    # Others may not learn what is public, even with read access.
    other = new_account(server)
    assert owner.post(box, headers={"X-Container-Read": other.tenant}).status_code == 204
    with other.http() as reader:
        assert reader.get(f"{alice.url}/{box}").status_code == 200
        assert reader.get(f"{alice.url}/{box}", params={"public": ""}).status_code == 403
        assert reader.get(alice.url, params={"public": ""}).status_code == 403


def test_the_accounts_public_listing_names_containers_with_public_objects(
    server: LiveServer,
) -> None:
    account = new_account(server)
    with account.http() as owner:
        for box in ("one", "two", "three"):
            assert owner.put(box).status_code == 201
            assert owner.put(f"{box}/x", content=b"x").status_code == 201
        assert owner.post("two/x", headers={"X-Object-Public": "true"}).status_code == 202
        listed = owner.get("", params={"public": "", "format": "json"})
        assert [c["name"] for c in listed.json()] == ["two"]
        assert owner.get("", params={"format": "json"}).status_code == 200
        assert len(owner.get("", params={"format": "json"}).json()) == 3
