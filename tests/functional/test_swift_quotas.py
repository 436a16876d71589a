"""Container and account quotas against a live server, with swiftclient and
raw HTTP: 413 "Upload exceeds quota." before anything is stored; account
quotas set by a reseller (the root account's admin) only."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import ROOT_SECRET, LiveServer
from swift_support import SwiftAccount, new_account
from swiftclient.exceptions import ClientException


@pytest.fixture
def account(server: LiveServer) -> SwiftAccount:
    return new_account(server)


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as client:
        yield client


def test_container_byte_and_count_quotas(account: SwiftAccount, http: httpx.Client) -> None:
    conn = account.connection()
    conn.put_container("q", headers={"X-Container-Meta-Quota-Bytes": "10"})
    conn.put_object("q", "a", b"x" * 6)
    with pytest.raises(ClientException) as refused:
        conn.put_object("q", "b", b"y" * 5)
    assert refused.value.http_status == 413
    assert http.head("q/b").status_code == 404
    answer = http.put("q/c", content=b"y" * 5)
    assert (answer.status_code, answer.text) == (413, "Upload exceeds quota.")
    conn.put_object("q", "d", b"z" * 4)  # exactly at the quota
    # A copy counts the bytes it would add.
    copy = http.put("q/e", headers={"X-Copy-From": "q/a", "Content-Length": "0"})
    assert copy.status_code == 413
    conn.post_container(
        "q", headers={"X-Container-Meta-Quota-Bytes": "", "X-Container-Meta-Quota-Count": "2"}
    )
    assert http.put("q/f", content=b"1").status_code == 413
    conn.delete_object("q", "d")
    assert http.put("q/f", content=b"1").status_code == 201
    assert (
        http.post("q", headers={"X-Container-Meta-Quota-Bytes": "ten"}).text
        == "Invalid bytes quota."
    )
    assert http.post("q", headers={"X-Container-Meta-Quota-Count": "-1"}).status_code == 400


def reseller(server: LiveServer) -> httpx.Client:
    login = httpx.get(
        f"{server.endpoint}/auth/v1.0",
        headers={"X-Auth-User": "root:root", "X-Auth-Key": ROOT_SECRET},
    )
    assert login.status_code == 200, login.text
    return httpx.Client(headers={"X-Auth-Token": login.headers["x-auth-token"]})


def test_account_quota_is_a_resellers_to_set(
    server: LiveServer, account: SwiftAccount, http: httpx.Client
) -> None:
    # The owner may not set (and so lift) its own quota.
    assert http.post("", headers={"X-Account-Meta-Quota-Bytes": "100"}).status_code == 403
    assert http.post("", headers={"X-Remove-Account-Meta-Quota-Bytes": "x"}).status_code == 403
    with reseller(server) as root:
        answer = root.post(account.url, headers={"X-Account-Meta-Quota-Bytes": "8"})
        assert answer.status_code == 204
        assert (
            root.post(account.url, headers={"X-Account-Meta-Quota-Bytes": "x"}).status_code == 400
        )
    assert http.head("").headers["x-account-meta-quota-bytes"] == "8"
    http.put("one")
    http.put("two")
    assert http.put("one/a", content=b"12345").status_code == 201
    answer = http.put("two/b", content=b"1234")
    assert (answer.status_code, answer.text) == (413, "Upload exceeds quota.")
    assert http.put("two/b", content=b"123").status_code == 201
    with reseller(server) as root:
        root.post(account.url, headers={"X-Remove-Account-Meta-Quota-Bytes": "x"})
    assert http.put("two/c", content=b"more than eight bytes").status_code == 201


def test_a_full_container_refuses_form_uploads(account: SwiftAccount, http: httpx.Client) -> None:
    http.post("", headers={"X-Account-Meta-Temp-URL-Key": "k"})
    http.put("full", headers={"X-Container-Meta-Quota-Count": "1"})
    http.put("full/only", content=b"1")
    path = f"/v1/AUTH_{account.tenant}/full"
    expires = int(time.time()) + 60
    message = f"{path}\n\n100\n1\n{expires}"
    fields = {
        "redirect": "",
        "max_file_size": "100",
        "max_file_count": "1",
        "expires": str(expires),
        "signature": hmac.new(b"k", message.encode(), hashlib.sha256).hexdigest(),
    }
    answer = httpx.post(f"{account.url}/full", data=fields, files=[("f", ("x", b"x", "a/b"))])
    assert answer.status_code == 413
    assert http.head("full/x").status_code == 404


def test_info_lists_quotas(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert "container_quotas" in info and "account_quotas" in info
