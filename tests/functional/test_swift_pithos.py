"""Pithos' block hashmap extensions on the Swift front end, against a live server,
with the small Pithos client of pithos_client.py, checked against the test
vectors of the Pithos hashing rules."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
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


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    return new_account(server)


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
