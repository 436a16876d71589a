"""Pithos' block hashmap extensions on the Swift front end, against a live server,
with the small Pithos client of pithos_client.py, checked against the test
vectors of the Pithos hashing rules."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from conftest import LiveServer, client, own_server
from pithos_client import PithosClient, block_hashes, top_hash
from swift_support import SwiftAccount, new_account

MIB = 1024 * 1024
BLOCK = 4 * MIB
EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HELLO_HASH = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
THREE_BLOCKS = b"a" * BLOCK + b"b" * BLOCK + b"c"
THREE_BLOCKS_HASH = "e747b499f8f09ea48c537050c3492c984d867b410639bd5867603e259278f746"


def unique_block() -> bytes:
    """A block no other test stores (the block store is shared by every container)."""
    return uuid.uuid4().bytes * (BLOCK // 16)


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as made:
        yield made


@pytest.fixture
def container(http: httpx.Client) -> str:
    name = f"pithos-{uuid.uuid4().hex[:10]}"
    assert http.put(name).status_code == 201
    return name


@pytest.fixture
def pithos(http: httpx.Client, container: str) -> PithosClient:
    return PithosClient(http, container)


def test_client_hashing_matches_the_pithos_vectors() -> None:
    def top(data: bytes, block_size: int = BLOCK) -> str:
        return top_hash(block_hashes(data, block_size)).hex()

    assert top(b"") == EMPTY_HASH
    assert block_hashes(b"", BLOCK) == [bytes.fromhex(EMPTY_HASH)]
    assert top(b"hello") == HELLO_HASH
    assert top(b"hello\0\0\0") == HELLO_HASH
    assert top(THREE_BLOCKS) == THREE_BLOCKS_HASH
    assert top(b"x" * 4106, 1024) == (
        "0a399b9110dfc5156590964ff5329ee080dc134b8ba21d0299e0d5d48ae73e7b"
    )


def test_container_advertises_block_size_and_hash(http: httpx.Client, container: str) -> None:
    for answer in (http.head(container), http.get(container, params={"format": "json"})):
        assert answer.headers["x-container-block-size"] == str(BLOCK)
        assert answer.headers["x-container-block-hash"] == "sha256"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", EMPTY_HASH),
        (b"hello", HELLO_HASH),
        (b"hello\0\0\0", HELLO_HASH),
        (THREE_BLOCKS, THREE_BLOCKS_HASH),
    ],
    ids=["empty", "hello", "trailing-nuls", "three-blocks"],
)
def test_object_hash_on_head_and_get(
    http: httpx.Client, container: str, data: bytes, expected: str
) -> None:
    assert http.put(f"{container}/obj", content=data).status_code == 201
    head = http.head(f"{container}/obj")
    assert head.headers["x-object-hash"] == expected
    assert head.headers["etag"] == hashlib.md5(data).hexdigest()
    got = http.get(f"{container}/obj")
    assert got.headers["x-object-hash"] == expected
    assert got.content == data


def test_hashmap_get_in_json_xml_and_plain(
    http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    assert http.put(f"{container}/three", content=THREE_BLOCKS).status_code == 201
    local = pithos.hashmap(THREE_BLOCKS)

    answer = http.get(f"{container}/three?hashmap")  # JSON by default
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-object-hash"] == THREE_BLOCKS_HASH
    doc = answer.json()
    assert doc["block_size"] == BLOCK and doc["block_hash"] == "sha256"
    assert doc["bytes"] == len(THREE_BLOCKS) and doc["hashes"] == local
    assert doc["last_modified"].startswith(time.strftime("%Y-"))

    xml = http.get(f"{container}/three", params={"hashmap": "", "format": "xml"})
    root = ElementTree.fromstring(xml.content)
    assert root.tag == "object" and root.attrib["name"] == "three"
    assert root.attrib["bytes"] == str(len(THREE_BLOCKS))
    assert root.attrib["block_size"] == str(BLOCK) and root.attrib["block_hash"] == "sha256"
    assert [h.text for h in root.iter("hash")] == local

    plain = http.get(f"{container}/three", params={"hashmap": "", "format": "plain"})
    assert plain.text.splitlines() == local

    # A HEAD with ?hashmap is a plain HEAD; the empty object has one hash.
    assert http.head(f"{container}/three?hashmap").headers["content-length"] == str(
        len(THREE_BLOCKS)
    )
    http.put(f"{container}/empty", content=b"")
    assert http.get(f"{container}/empty?hashmap").json()["hashes"] == [EMPTY_HASH]


def test_hashmap_get_follows_conditions_and_expiry(http: httpx.Client, container: str) -> None:
    put = http.put(f"{container}/soon", content=b"hello", headers={"X-Delete-After": "2"})
    etag = put.headers["etag"]
    assert http.get(f"{container}/soon?hashmap", headers={"If-None-Match": etag}).status_code == 304
    assert http.get(f"{container}/soon?hashmap", headers={"If-Match": "nope"}).status_code == 412
    assert http.get(f"{container}/soon?hashmap").json()["hashes"] == [HELLO_HASH]
    time.sleep(2.5)
    assert http.get(f"{container}/soon?hashmap").status_code == 404
    assert http.get(f"{container}/nothing?hashmap").status_code == 404


def test_hashmap_put_names_blocks_any_write_stored(
    http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    data = unique_block() + b"more"
    local = pithos.hashmap(data)
    missing = pithos.put_hashmap("later", len(data), local)
    assert missing.status_code == 409
    assert missing.headers["content-type"].startswith("application/json")
    assert missing.json() == local
    assert http.get(f"{container}/later").status_code == 404

    # A plain PUT stores the blocks; a hashmap then makes another object of them.
    assert http.put(f"{container}/plain", content=data).status_code == 201
    made = http.put(
        f"{container}/later?hashmap",
        json={"bytes": len(data), "hashes": local},
        headers={"Content-Type": "text/x-later", "X-Object-Meta-Color": "blue"},
    )
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == hashlib.md5(data).hexdigest()
    got = http.get(f"{container}/later")
    assert got.content == data
    assert got.headers["content-type"] == "text/x-later"
    assert got.headers["x-object-meta-color"] == "blue"
    assert got.headers["x-object-hash"] == top_hash([bytes.fromhex(h) for h in local]).hex()


def test_upload_by_hashmap_sends_only_missing_blocks(
    http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    # Two equal blocks, a third, and a short last one: four leaves, three distinct.
    a, b = unique_block(), unique_block()
    # The short last block is unique too: the block store is shared by every test.
    data = a * 2 + b + b"tail " + uuid.uuid4().bytes + b"\0\0"
    local = pithos.hashmap(data)
    upload = pithos.upload("file.bin", data)
    assert upload.first.status_code == 409
    # Missing hashes in hashmap order, each once.
    assert upload.first.json() == list(dict.fromkeys(local))
    assert upload.sent == list(dict.fromkeys(local))
    assert upload.final.status_code == 201
    assert upload.final.headers["etag"] == hashlib.md5(data).hexdigest()
    expected_top = top_hash([bytes.fromhex(h) for h in local]).hex()
    assert upload.final.headers["x-object-hash"] == expected_top

    got = http.get(f"{container}/file.bin")
    assert got.content == data
    assert got.headers["etag"] == hashlib.md5(data).hexdigest()
    assert got.headers["x-object-hash"] == expected_top
    assert http.get(f"{container}/file.bin?hashmap").json()["hashes"] == local
    assert http.head(container).headers["x-container-bytes-used"] == str(len(data))

    # The same file again, under another name: every block is stored, no data is sent.
    again = pithos.upload("copy.bin", data)
    assert again.first.status_code == 201 and again.sent == []
    assert http.get(f"{container}/copy.bin").content == data


def test_upload_matches_the_three_block_vector(
    http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    upload = pithos.upload("vector", THREE_BLOCKS)
    assert upload.final.status_code == 201
    assert upload.final.headers["x-object-hash"] == THREE_BLOCKS_HASH
    assert http.head(f"{container}/vector").headers["x-object-hash"] == THREE_BLOCKS_HASH


def test_block_upload_cuts_a_body_into_blocks(pithos: PithosClient) -> None:
    body = unique_block() + b"2" * 10
    answer = pithos.post_block(body)
    assert answer.status_code == 202
    assert answer.json() == [h.hex() for h in block_hashes(body, BLOCK)]


def test_hashmap_put_refusals_and_empty_objects(
    http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    hello = hashlib.sha256(b"hello").hexdigest()
    # Hashes that do not fit the size.
    assert pithos.put_hashmap("x", BLOCK + 1, [hello]).status_code == 400
    assert pithos.put_hashmap("x", 5, [hello, hello]).status_code == 400
    assert pithos.put_hashmap("x", 5, ["zz"]).status_code == 400
    bad = http.put(f"{container}/x?hashmap", content=b"{not json")
    assert bad.status_code == 400
    assert http.get(f"{container}/x").status_code == 404

    for name, hashes in (("e1", []), ("e2", [EMPTY_HASH])):
        made = pithos.put_hashmap(name, 0, hashes)
        assert made.status_code == 201, made.text
        assert made.headers["etag"] == hashlib.md5(b"").hexdigest()
        assert http.get(f"{container}/{name}").content == b""
    assert pithos.put_hashmap("e3", 0, [hello]).status_code == 400

    # A stored block longer than the place the hashmap gives it.
    assert http.put(f"{container}/hello", content=b"hello").status_code == 201
    pithos.post_block(b"hello")
    assert pithos.put_hashmap("short", 3, [hello]).status_code == 400


def test_hashmap_object_reads_back_through_s3(
    account: SwiftAccount, http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    data = unique_block() + b"end"
    assert pithos.upload("both", data).final.status_code == 201
    s3 = client(account.server, account.access_key, account.secret)
    got = s3.get_object(Bucket=container, Key="both")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert got["ContentLength"] == len(data)


def test_hashmap_of_an_s3_multipart_object(
    account: SwiftAccount, http: httpx.Client, container: str, pithos: PithosClient
) -> None:
    s3: Any = client(account.server, account.access_key, account.secret)
    parts = [bytes([65 + i]) * (5 * MIB) for i in range(2)] + [b"last part"]
    data = b"".join(parts)
    upload = s3.create_multipart_upload(Bucket=container, Key="mp")["UploadId"]
    done = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket=container, Key="mp", UploadId=upload, PartNumber=n, Body=body
            )["ETag"],
        }
        for n, body in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=container, Key="mp", UploadId=upload, MultipartUpload={"Parts": done}
    )
    # 5 MiB parts are off the 4 MiB block grid: no top hash until one is computed.
    assert "x-object-hash" not in http.head(f"{container}/mp").headers

    local = pithos.hashmap(data)
    expected_top = top_hash([bytes.fromhex(h) for h in local]).hex()
    answer = http.get(f"{container}/mp?hashmap&format=json")
    assert answer.status_code == 200
    assert answer.json()["hashes"] == local
    assert answer.json()["bytes"] == len(data)
    assert answer.headers["x-object-hash"] == expected_top
    # Kept with the version: later requests read it, and HEAD now shows the top hash.
    assert http.head(f"{container}/mp").headers["x-object-hash"] == expected_top
    assert http.get(f"{container}/mp?hashmap").json()["hashes"] == local
    # The multipart ETag is untouched.
    assert http.head(f"{container}/mp").headers["etag"].endswith("-3")


# -- leases: uploaded blocks wait for their hashmap within the grace time --------

leasing = own_server("pithos-leases", {"DOLIUM_GC_GRACE": "6", "DOLIUM_GC_INTERVAL": "1"})


def test_uploaded_blocks_outlive_collections_within_the_grace_time(leasing: LiveServer) -> None:
    account = new_account(leasing)
    with account.http() as http:
        container = f"leases-{uuid.uuid4().hex[:8]}"
        http.put(container)
        pithos = PithosClient(http, container)
        kept = b"kept " * 1000
        answer = pithos.post_block(kept)
        assert answer.status_code == 202
        time.sleep(3)  # collections run every second; the lease lasts 6
        made = pithos.put_hashmap("kept", len(kept), answer.json())
        assert made.status_code == 201, made.text
        assert http.get(f"{container}/kept").content == kept

        # A block no hashmap names is collected once its lease ends.
        lost = b"lost " * 1000
        hashes = pithos.post_block(lost).json()
        time.sleep(9)  # past the lease, and a collection or two
        again = pithos.put_hashmap("lost", len(lost), hashes)
        assert again.status_code == 409 and again.json() == hashes
        # And the object that names its blocks keeps them.
        assert http.get(f"{container}/kept").content == kept


def test_acls_grant_hashmaps_as_they_grant_data(
    server: LiveServer, account: SwiftAccount, http: httpx.Client, container: str
) -> None:
    stranger = new_account(server)
    assert http.put(f"{container}/doc", content=b"shared").status_code == 201
    hashmap = {"bytes": 6, "hashes": [hashlib.sha256(b"shared").hexdigest()]}
    _, token = stranger.login()
    with httpx.Client(base_url=account.url + "/", headers={"X-Auth-Token": token}) as theirs:
        assert theirs.get(f"{container}/doc?hashmap").status_code == 403
        http.post(container, headers={"X-Container-Read": stranger.tenant})
        assert theirs.get(f"{container}/doc?hashmap").json()["bytes"] == 6
        assert theirs.put(f"{container}/mine?hashmap", json=hashmap).status_code == 403
        http.post(container, headers={"X-Container-Write": stranger.tenant})
        made = theirs.put(f"{container}/mine?hashmap", json=hashmap)
        # "shared" is inline (small) where the owner wrote it: not a stored block.
        assert made.status_code == 409
        # Block uploads are the owner's alone, as in Pithos, whatever the ACL.
        upload = theirs.post(
            container, content=b"shared", headers={"Content-Type": "application/octet-stream"}
        )
        assert upload.status_code == 403
    assert PithosClient(http, container).post_block(b"shared").status_code == 202
    with httpx.Client(base_url=account.url + "/", headers={"X-Auth-Token": token}) as theirs:
        assert theirs.put(f"{container}/mine?hashmap", json=hashmap).status_code == 201
        assert theirs.get(f"{container}/mine").content == b"shared"
