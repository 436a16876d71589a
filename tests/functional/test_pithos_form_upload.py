"""Pithos' HTML form upload against a live server: `POST <object>` of
`multipart/form-data` with the file in `X-Object-Data`, authenticated by
token (header or `?X-Auth-Token=`), beside Swift's token-less FormPost."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture(scope="module")
def bob(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"form-{uuid.uuid4().hex[:10]}"
    assert owner.put(name).status_code == 201
    return name


def test_a_form_upload_stores_the_file_and_answers_as_pithos(owner: httpx.Client, box: str) -> None:
    data = b"form data " * 100
    answer = owner.post(
        f"{box}/notes.txt",
        data={"comment": "ignored"},
        files={"X-Object-Data": ("local-name.bin", data, "text/x-notes")},
    )
    md5 = hashlib.md5(data).hexdigest()
    assert answer.status_code == 201, answer.text
    assert answer.headers["etag"] == md5
    assert answer.text == md5
    head = owner.head(f"{box}/notes.txt")
    assert answer.headers["x-object-version"] == head.headers["x-object-version"]
    got = owner.get(f"{box}/notes.txt")
    assert got.content == data
    assert got.headers["content-type"].startswith("text/x-notes")


def test_a_large_file_goes_through_whole(owner: httpx.Client, box: str) -> None:
    # Over two blocks of 4 MiB, with bytes that look like a boundary's start.
    data = (b"\r\n--" + bytes(range(256))) * 40000
    answer = owner.post(f"{box}/big", files={"X-Object-Data": ("big", data)})
    assert answer.status_code == 201, answer.text
    assert answer.headers["etag"] == hashlib.md5(data).hexdigest()
    assert owner.get(f"{box}/big").content == data


def test_the_token_may_come_in_the_query(alice: SwiftAccount, box: str) -> None:
    _, token = alice.login()
    answer = httpx.post(
        f"{alice.url}/{box}/page.html",
        params={"X-Auth-Token": token},
        files={"X-Object-Data": ("page.html", b"<p>hi</p>")},
    )
    assert answer.status_code == 201, answer.text
    with alice.http() as owner:
        got = owner.get(f"{box}/page.html")
    assert got.content == b"<p>hi</p>"
    # No type in the part: guessed from the object's name.
    assert got.headers["content-type"].startswith("text/html")


def test_an_upload_replaces_the_object_and_its_metadata(owner: httpx.Client, box: str) -> None:
    first = owner.put(f"{box}/doc", content=b"old", headers={"X-Object-Meta-Color": "blue"})
    assert first.status_code == 201
    answer = owner.post(f"{box}/doc", files={"X-Object-Data": ("doc", b"new")})
    assert answer.status_code == 201
    got = owner.get(f"{box}/doc")
    assert got.content == b"new"
    assert "x-object-meta-color" not in got.headers


def test_a_form_without_the_field_is_400_and_stores_nothing(owner: httpx.Client, box: str) -> None:
    answer = owner.post(f"{box}/none", files={"file": ("none", b"data")})
    assert answer.status_code == 400
    assert "X-Object-Data" in answer.text
    # A field of that name that is no file is not one either.
    plain = owner.post(f"{box}/none", data={"X-Object-Data": "text"}, files={"x": ("", b"")})
    assert plain.status_code == 400
    assert owner.head(f"{box}/none").status_code == 404


def test_a_broken_form_is_400(owner: httpx.Client, box: str) -> None:
    answer = owner.post(
        f"{box}/broken",
        content=b"no boundary here",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert answer.status_code == 400
    assert owner.head(f"{box}/broken").status_code == 404
    # A form cut inside the file: nothing is stored.
    cut = owner.post(
        f"{box}/broken",
        content=b'--xyz\r\nContent-Disposition: form-data; name="X-Object-Data"; '
        b'filename="f"\r\n\r\n' + b"partial " * 1000,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert cut.status_code == 400
    assert owner.head(f"{box}/broken").status_code == 404


def test_a_missing_container_is_404(owner: httpx.Client) -> None:
    answer = owner.post(f"nothing-{uuid.uuid4().hex[:8]}/x", files={"X-Object-Data": ("x", b"x")})
    assert answer.status_code == 404


def test_others_need_write_sharing(
    owner: httpx.Client, box: str, alice: SwiftAccount, bob: SwiftAccount
) -> None:
    url = f"{alice.url}/{box}/shared"
    with bob.http() as stranger:
        refused = stranger.post(url, files={"X-Object-Data": ("s", b"intruder")})
        assert refused.status_code == 403
        assert owner.head(f"{box}/shared").status_code == 404
        made = owner.put(
            f"{box}/shared", content=b"mine", headers={"X-Object-Sharing": f"write={bob.tenant}"}
        )
        assert made.status_code == 201
        allowed = stranger.post(url, files={"X-Object-Data": ("s", b"theirs")})
        assert allowed.status_code == 201, allowed.text
    got = owner.get(f"{box}/shared")
    assert got.content == b"theirs"
    # The upload keeps the object's sharing.
    assert got.headers["x-object-sharing"] == f"write={bob.tenant}"


def test_without_a_token_a_form_is_swifts_formpost(alice: SwiftAccount, box: str) -> None:
    answer = httpx.post(f"{alice.url}/{box}/anon", files={"X-Object-Data": ("anon", b"x")})
    # FormPost takes no file beyond the form's max_file_count, absent here.
    assert answer.status_code == 400
    assert "FormPost: Max File Count Exceeded" in answer.text
    with alice.http() as owner:
        assert owner.head(f"{box}/anon").status_code == 404
