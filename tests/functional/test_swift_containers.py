"""Swift accounts and containers against a live server: metadata, counts, deletes."""

from __future__ import annotations

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture
def account(server: LiveServer) -> SwiftAccount:
    return new_account(server)


def test_container_put_is_201_then_202(account: SwiftAccount) -> None:
    with account.http() as http:
        assert http.put("box").status_code == 201
        assert http.put("box", headers={"X-Container-Meta-Color": "red"}).status_code == 202
        head = http.head("box")
        assert head.status_code == 204
        assert head.headers["x-container-meta-color"] == "red"
        assert head.headers["x-container-object-count"] == "0"
        assert head.headers["x-container-bytes-used"] == "0"
        assert float(head.headers["x-timestamp"]) > 0


def test_container_metadata_is_set_and_removed_by_post(account: SwiftAccount) -> None:
    with account.http() as http:
        http.put("box")
        assert (
            http.post(
                "box", headers={"X-Container-Meta-A": "1", "X-Container-Meta-B": "2"}
            ).status_code
            == 204
        )
        assert (
            http.post(
                "box", headers={"X-Remove-Container-Meta-A": "x", "X-Container-Meta-B": ""}
            ).status_code
            == 204
        )
        head = http.head("box")
        assert "x-container-meta-a" not in head.headers
        assert "x-container-meta-b" not in head.headers


def test_counts_and_bytes_of_container_and_account(account: SwiftAccount) -> None:
    with account.http() as http:
        http.put("box")
        http.put("box/a", content=b"12345")
        http.put("box/b", content=b"123")
        head = http.head("box")
        assert head.headers["x-container-object-count"] == "2"
        assert head.headers["x-container-bytes-used"] == "8"
        acct = http.head("")
        assert acct.headers["x-account-container-count"] == "1"
        assert acct.headers["x-account-object-count"] == "2"
        assert acct.headers["x-account-bytes-used"] == "8"
        listed = http.get("", params={"format": "json"}).json()
        assert listed == [
            {"name": "box", "count": 2, "bytes": 8, "last_modified": listed[0]["last_modified"]}
        ]


def test_a_container_that_is_not_empty_is_409(account: SwiftAccount) -> None:
    with account.http() as http:
        http.put("box")
        http.put("box/a", content=b"x")
        answer = http.delete("box")
        assert answer.status_code == 409
        assert "Conflict" in answer.text
        assert http.delete("box/a").status_code == 204
        assert http.delete("box").status_code == 204
        assert http.head("box").status_code == 404
        assert http.delete("box").status_code == 404


def test_account_metadata(account: SwiftAccount) -> None:
    with account.http() as http:
        assert http.post("", headers={"X-Account-Meta-Project": "jar"}).status_code == 204
        assert http.head("").headers["x-account-meta-project"] == "jar"
        http.post("", headers={"X-Remove-Account-Meta-Project": "1"})
        assert "x-account-meta-project" not in http.head("").headers
        assert http.put("").status_code == 405
        refused = http.post("", headers={"X-Account-Access-Control": '{"reader": ["x"]}'})
        assert refused.status_code == 400


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Container-Meta-" + "n" * 129: "v"}, "Metadata name too long"),
        ({"X-Container-Meta-N": "v" * 257}, "Metadata value longer than 256"),
        ({f"X-Container-Meta-N{i}": "v" for i in range(91)}, "Too many metadata items"),
        ({f"X-Container-Meta-N{i:02}": "v" * 250 for i in range(17)}, "Total metadata too large"),
    ],
)
def test_metadata_limits_are_swifts(
    account: SwiftAccount, headers: dict[str, str], reason: str
) -> None:
    with account.http() as http:
        answer = http.put("box", headers=headers)
        assert answer.status_code == 400
        assert reason in answer.text
        assert http.head("box").status_code == 404


def test_bad_container_names_are_400(account: SwiftAccount) -> None:
    with account.http() as http:
        assert http.put("x" * 257).status_code == 400


def test_swiftclient_containers(account: SwiftAccount) -> None:
    conn = account.connection()
    conn.put_container("jar", headers={"X-Container-Meta-Kind": "amphora"})
    conn.put_object("jar", "a.txt", b"hello")
    headers = conn.head_container("jar")
    assert headers["x-container-meta-kind"] == "amphora"
    assert headers["x-container-object-count"] == "1"
    acct_headers, containers = conn.get_account()
    assert [c["name"] for c in containers] == ["jar"]
    assert containers[0]["bytes"] == 5
    assert acct_headers["x-account-container-count"] == "1"
    conn.delete_object("jar", "a.txt")
    conn.delete_container("jar")
    assert conn.get_account()[1] == []


def test_errors_are_swifts_not_tracebacks(account: SwiftAccount) -> None:
    with account.http() as http:
        answer = http.get("nosuch")
        assert answer.status_code == 404
        assert answer.text == (
            "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
        )
        assert answer.headers["content-type"].startswith("text/html")
        assert http.request("PATCH", "nosuch").status_code == 405
    assert httpx.get(f"{account.server.endpoint}/v1/notanaccount").status_code == 404
