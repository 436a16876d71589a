"""FormPost against a live server: HTML form uploads signed with a temp URL
key, as a browser sends them (multipart/form-data through httpx), with
Swift's redirects, limits and refusals."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from typing import Any

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account

KEY = "form-key"


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        http.post("", headers={"X-Account-Meta-Temp-URL-Key": KEY})
        http.put("uploads")
    return made


def signed(
    path: str,
    *,
    redirect: str = "",
    max_file_size: int = 1024,
    max_file_count: int = 3,
    expires: int | None = None,
    key: str = KEY,
    digest: Any = hashlib.sha256,
) -> dict[str, str]:
    when = int(time.time()) + 60 if expires is None else expires
    message = f"{path}\n{redirect}\n{max_file_size}\n{max_file_count}\n{when}"
    return {
        "redirect": redirect,
        "max_file_size": str(max_file_size),
        "max_file_count": str(max_file_count),
        "expires": str(when),
        "signature": hmac.new(key.encode(), message.encode(), digest).hexdigest(),
    }


def post(account: SwiftAccount, rest: str, fields: dict[str, str], files: list[Any]) -> Any:
    return httpx.post(f"{account.url}/{rest}", data=fields, files=files)


def test_upload_with_redirect(account: SwiftAccount) -> None:
    path = f"/v1/AUTH_{account.tenant}/uploads/pre-"
    fields = signed(path, redirect="https://example.com/done")
    files = [
        ("file1", ("a.txt", b"first file", "text/plain")),
        ("file2", ("b.bin", b"\x00\x01second", "application/x-thing")),
    ]
    answer = post(account, "uploads/pre-", fields, files)
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://example.com/done?status=201&message="
    with account.http() as http:
        got = http.get("uploads/pre-a.txt")
        assert got.content == b"first file"
        assert got.headers["content-type"] == "text/plain"
        assert http.get("uploads/pre-b.bin").content == b"\x00\x01second"


def test_upload_into_the_container_without_redirect(account: SwiftAccount) -> None:
    path = f"/v1/AUTH_{account.tenant}/uploads"
    fields = signed(path, digest=hashlib.sha1)
    answer = post(account, "uploads", fields, [("f", ("plain.txt", b"x" * 100, "text/plain"))])
    assert answer.status_code == 201
    assert answer.text == "201 Created"
    with account.http() as http:
        assert http.get("uploads/plain.txt").content == b"x" * 100


def test_a_large_file_streams_through(account: SwiftAccount) -> None:
    path = f"/v1/AUTH_{account.tenant}/uploads/large-"
    # Bytes that look like the start of a delimiter, cut across chunks.
    data = (os.urandom(70_000) + b"\r\n--\r\n-") * 8
    fields = signed(path, max_file_size=len(data))
    answer = post(account, "uploads/large-", fields, [("f", ("blob", data, "x/y"))])
    assert answer.status_code == 201
    with account.http() as http:
        assert http.get("uploads/large-blob").content == data


def test_limits_and_refusals(account: SwiftAccount) -> None:
    path = f"/v1/AUTH_{account.tenant}/uploads/lim-"
    one = [("f", ("one", b"1", "text/plain"))]
    big = [("f", ("big", b"z" * 2000, "text/plain"))]
    answer = post(account, "uploads/lim-", signed(path), big)
    assert (answer.status_code, answer.text) == (400, "FormPost: max_file_size exceeded")
    two = [("f", ("x1", b"1", "text/plain")), ("g", ("x2", b"2", "text/plain"))]
    answer = post(account, "uploads/lim-", signed(path, max_file_count=1), two)
    assert answer.status_code == 400
    assert answer.text == "400 Bad Request\r\nFormPost: Max File Count Exceeded"
    answer = post(account, "uploads/lim-", signed(path, expires=int(time.time()) - 5), one)
    assert (answer.status_code, answer.text) == (401, "FormPost: Form Expired")
    answer = post(account, "uploads/lim-", signed(path, key="wrong"), one)
    assert (answer.status_code, answer.text) == (401, "FormPost: Invalid Signature")
    # Only fields, no file: a form by hand, since httpx sends such a form urlencoded.
    parts = "".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in signed(path).items()
    )
    answer = httpx.post(
        f"{account.url}/uploads/lim-",
        content=(parts + "--b0undary--\r\n").encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert answer.status_code == 400
    assert answer.text == "400 Bad Request\r\nFormPost: No Files To Process"
    answer = httpx.post(
        f"{account.url}/uploads/lim-",
        content=b"no boundary here",
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert (answer.status_code, answer.text) == (400, "FormPost: invalid starting boundary")
    answer = post(account, "uploads/lim-", dict(signed(path), max_file_size="big"), one)
    assert (answer.status_code, answer.text) == (400, "FormPost: max_file_size not an integer")
    with account.http() as http:
        assert http.head("uploads/lim-big").status_code == 404
        assert http.head("uploads/lim-x2").status_code == 404


def test_redirect_carries_a_failure(account: SwiftAccount) -> None:
    path = f"/v1/AUTH_{account.tenant}/uploads/r-"
    fields = signed(path, redirect="https://example.com/?x=1", max_file_count=1)
    two = [("f", ("x1", b"1", "text/plain")), ("g", ("x2", b"2", "text/plain"))]
    answer = post(account, "uploads/r-", fields, two)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "https://example.com/?x=1&status=400&message=max%20file%20count%20exceeded"
    )


def test_info_lists_formpost(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert "sha256" in info["formpost"]["allowed_digests"]
