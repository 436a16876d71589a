"""Swift's object versioning (X-Versions-Location, X-History-Location)
against a live server, with swiftclient and raw HTTP: archived copies in
the versions container, named as Swift names them."""

from __future__ import annotations

import httpx
from conftest import LiveServer
from swift_support import SwiftAccount


def names(http: httpx.Client, container: str) -> list[str]:
    answer = http.get(container)
    return answer.text.splitlines() if answer.status_code == 200 else []


def test_stack_mode_with_swiftclient(account: SwiftAccount, http: httpx.Client) -> None:
    conn = account.connection()
    conn.put_container("stack-versions")
    conn.put_container("stack", headers={"X-Versions-Location": "stack-versions"})
    assert conn.head_container("stack")["x-versions-location"] == "stack-versions"
    for body in (b"v1", b"v2", b"v3"):
        conn.put_object("stack", "doc.txt", body)
    archived = names(http, "stack-versions")
    assert len(archived) == 2
    assert all(n.startswith("007doc.txt/") for n in archived)
    assert http.get(f"stack-versions/{archived[0]}").content == b"v1"
    # DELETE pops the newest archived copy back in place.
    conn.delete_object("stack", "doc.txt")
    assert conn.get_object("stack", "doc.txt")[1] == b"v2"
    assert len(names(http, "stack-versions")) == 1
    conn.delete_object("stack", "doc.txt")
    assert conn.get_object("stack", "doc.txt")[1] == b"v1"
    conn.delete_object("stack", "doc.txt")
    assert http.head("stack/doc.txt").status_code == 404
    assert http.delete("stack/doc.txt").status_code == 404


def test_copies_are_archived_too(http: httpx.Client) -> None:
    http.put("cv-versions")
    http.put("cv", headers={"X-Versions-Location": "cv-versions"})
    http.put("cv/a", content=b"old")
    http.put("cv/src", content=b"new")
    assert (
        http.put("cv/a", headers={"X-Copy-From": "cv/src", "Content-Length": "0"}).status_code
        == 201
    )
    archived = names(http, "cv-versions")
    assert [http.get(f"cv-versions/{n}").content for n in archived] == [b"old"]


def test_history_mode(http: httpx.Client) -> None:
    http.put("hist-archive")
    http.put("hist", headers={"X-History-Location": "hist-archive"})
    assert http.head("hist").headers["x-history-location"] == "hist-archive"
    http.put("hist/f", content=b"one")
    http.put("hist/f", content=b"two")
    assert http.delete("hist/f").status_code == 204
    assert http.head("hist/f").status_code == 404
    archived = names(http, "hist-archive")
    assert len(archived) == 3 and all(n.startswith("001f/") for n in archived)
    contents = [http.get(f"hist-archive/{n}") for n in archived]
    assert [c.content for c in contents[:2]] == [b"one", b"two"]
    assert contents[2].headers["content-type"] == "application/x-deleted;swift_versions_deleted=1"


def test_settings(http: httpx.Client) -> None:
    both = {"X-Versions-Location": "a", "X-History-Location": "b"}
    answer = http.put("settings", headers=both)
    assert answer.status_code == 400
    http.put("settings", headers={"X-Versions-Location": "missing-versions"})
    # The versions container must exist for a write to replace anything.
    http.put("settings/o", content=b"1")
    assert http.put("settings/o", content=b"2").status_code == 412
    assert http.post("settings", headers={"X-Remove-Versions-Location": "x"}).status_code == 204
    head = http.head("settings")
    assert "x-versions-location" not in head.headers
    assert not [h for h in head.headers if "sysmeta" in h]
    assert http.put("settings/o", content=b"2").status_code == 201


def test_info_lists_versioned_writes(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert info["versioned_writes"]["allowed_flags"] == [
        "x-versions-location",
        "x-history-location",
    ]
