"""Pithos' ?delimiter on DELETE, COPY and MOVE (a folder and its contents),
and on a container DELETE (empty it, keep it), against a live server."""

from __future__ import annotations

import uuid

import httpx
import pytest

TREE = ("dir", "dir/a", "dir/sub/b", "dirt", "other")


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"delim-{uuid.uuid4().hex[:10]}"
    assert owner.put(name).status_code == 201
    for key in TREE:
        kind = "application/directory" if key == "dir" else "text/plain"
        answer = owner.put(f"{name}/{key}", content=key.encode(), headers={"Content-Type": kind})
        assert answer.status_code == 201
    return name


def names(owner: httpx.Client, box: str) -> list[str]:
    return owner.get(box).text.split()


def test_delete_a_folder_and_its_contents(owner: httpx.Client, box: str) -> None:
    assert owner.delete(f"{box}/dir", params={"delimiter": "/"}).status_code == 204
    assert names(owner, box) == ["dirt", "other"]
    # A folder with no object of its own, and then nothing at all.
    assert owner.put(f"{box}/x/y", content=b"y").status_code == 201
    assert owner.delete(f"{box}/x", params={"delimiter": "/"}).status_code == 204
    assert owner.delete(f"{box}/x", params={"delimiter": "/"}).status_code == 404
    assert names(owner, box) == ["dirt", "other"]


def test_copy_and_move_a_folder(owner: httpx.Client, box: str) -> None:
    copied = owner.request(
        "COPY", f"{box}/dir", params={"delimiter": "/"}, headers={"Destination": f"{box}/copy"}
    )
    assert copied.status_code == 201
    assert names(owner, box) == ["copy", "copy/a", "copy/sub/b", *TREE]
    assert owner.get(f"{box}/copy/sub/b").content == b"dir/sub/b"
    moved = owner.request(
        "MOVE", f"{box}/dir", params={"delimiter": "/"}, headers={"Destination": f"{box}/moved"}
    )
    assert moved.status_code == 201
    assert names(owner, box) == [
        "copy", "copy/a", "copy/sub/b", "dirt", "moved", "moved/a", "moved/sub/b", "other",
    ]  # fmt: skip


def test_delete_of_a_container_with_a_delimiter_empties_it(owner: httpx.Client, box: str) -> None:
    assert owner.delete(box).status_code == 409
    assert owner.delete(box, params={"delimiter": "/"}).status_code == 204
    assert owner.get(box).status_code == 204
    assert owner.delete(box).status_code == 204
