"""Pithos' `?meta=` filter on container listings against a live server:
objects having, lacking or comparing their X-Object-Meta-* keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account

OBJECTS = {
    "a": {"Color": "red", "Size": "3"},
    "b": {"Color": "blue", "Size": "7"},
    "c": {"Size": "5"},
    "d/e": {"Color": "red"},
    "d/f": {},
    "g": {},
}


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture(scope="module")
def box(alice: SwiftAccount) -> Iterator[tuple[httpx.Client, str]]:
    with alice.http() as owner:
        name = f"mf-{uuid.uuid4().hex[:10]}"
        assert owner.put(name).status_code == 201
        for key, meta in OBJECTS.items():
            headers = {f"X-Object-Meta-{k}": v for k, v in meta.items()}
            assert owner.put(f"{name}/{key}", content=b"x", headers=headers).status_code == 201
        yield owner, name


def names(box: tuple[httpx.Client, str], meta: str, **params: str) -> list[str]:
    owner, name = box
    answer = owner.get(name, params={"meta": meta, **params})
    assert answer.status_code in (200, 204), answer.text
    return answer.text.splitlines()


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ("color", ["a", "b", "d/e"]),
        ("Color", ["a", "b", "d/e"]),
        ("!color", ["c", "d/f", "g"]),
        ("color=red", ["a", "d/e"]),
        ("color!=red", ["b"]),
        ("size>=5", ["b", "c"]),
        ("size<5", ["a"]),
        ("size>3,color", ["b"]),
        ("color,!size", ["d/e"]),
        ("size<=3, color=red", ["a"]),
        ("nothing", []),
    ],
)
def test_terms(box: tuple[httpx.Client, str], meta: str, expected: list[str]) -> None:
    assert names(box, meta) == expected


def test_with_the_other_listing_parameters(box: tuple[httpx.Client, str]) -> None:
    assert names(box, "color", delimiter="/") == ["a", "b", "d/"]
    assert names(box, "!color", delimiter="/") == ["c", "d/", "g"]
    assert names(box, "color", prefix="d/") == ["d/e"]
    assert names(box, "color", limit="2") == ["a", "b"]
    assert names(box, "color", marker="a") == ["b", "d/e"]
    assert names(box, "color", end_marker="d") == ["a", "b"]
    assert names(box, "color", reverse="true") == ["d/e", "b", "a"]
    owner, name = box
    listed = owner.get(name, params={"meta": "size", "format": "json"}).json()
    assert [(e["name"], e["bytes"]) for e in listed] == [("a", 1), ("b", 1), ("c", 1)]
    assert all(e["x_object_uuid"] for e in listed)


def test_needs_the_right_to_list(
    server: LiveServer, alice: SwiftAccount, box: tuple[httpx.Client, str]
) -> None:
    _, name = box
    stranger = new_account(server)
    with stranger.http() as other:
        answer = other.get(f"{alice.url}/{name}", params={"meta": "color"})
    assert answer.status_code == 403
