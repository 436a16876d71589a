"""Bulk operations against a live server: delete by list (?bulk-delete) and
archive upload (?extract-archive), with swiftclient where it has a call and
raw HTTP for the exact bodies."""

from __future__ import annotations

import io
import tarfile

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, add_user


def tar_of(files: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        directory = tarfile.TarInfo("emptydir")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
    return out.getvalue()


def test_bulk_delete_plain_and_json(http: httpx.Client) -> None:
    http.put("bd")
    for name in ("a", "b c", "d/e"):
        http.put(f"bd/{name}", content=b"x")
    http.put("bd-empty")
    body = "/bd/a\n/bd/b%20c\n/bd/missing\n/bd-empty\n/bd\n"
    answer = http.post("", params={"bulk-delete": ""}, content=body.encode())
    assert answer.status_code == 200
    assert answer.text == (
        "Number Deleted: 3\nNumber Not Found: 1\nResponse Body: \n"
        "Response Status: 400 Bad Request\nErrors:\n/bd, 409 Conflict\n"
    )
    assert http.head("bd/a").status_code == 404
    assert http.head("bd-empty").status_code == 404
    json_please = {"Accept": "application/json"}
    answer = http.post("", params={"bulk-delete": "true"}, content=b"\n", headers=json_please)
    # An empty list deletes nothing: Swift calls it invalid.
    assert answer.json()["Response Status"] == "400 Bad Request"
    assert answer.json()["Response Body"] == "Invalid bulk delete."
    # A body of unknown length is refused in the body, still with a 200.
    answer = http.delete("", params={"bulk-delete": "true"}, headers=json_please)
    assert answer.status_code == 200
    assert answer.json()["Response Status"] == "411 Length Required"
    answer = http.request(
        "DELETE",
        "",
        params={"bulk-delete": ""},
        content=b"/bd/d/e\n/bd\n",
        headers={"Accept": "application/json", "Content-Type": "text/plain"},
    )
    assert answer.json() == {
        "Number Deleted": 2,
        "Number Not Found": 0,
        "Response Status": "200 OK",
        "Response Body": "",
        "Errors": [],
    }


def test_bulk_delete_is_judged_item_by_item(account: SwiftAccount, http: httpx.Client) -> None:
    http.put("mine")
    http.put("mine/o", content=b"x")
    member = add_user(account.server, account.tenant, "reader", admin=False)
    with member.http() as other:
        answer = other.post(
            "", params={"bulk-delete": ""}, content=b"/mine/o\n", headers={"Accept": "text/xml"}
        )
    assert answer.status_code == 200
    assert "<status>403 Forbidden</status>" in answer.text
    assert answer.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<delete>')
    assert http.head("mine/o").status_code == 200


def test_swift_delete_of_a_container_goes_by_bulk_delete(
    account: SwiftAccount, http: httpx.Client
) -> None:
    # swiftclient deletes a container's objects by bulk delete when /info lists it.
    http.put("swept")
    for index in range(5):
        http.put(f"swept/o{index}", content=b"x")
    with account.service() as swift:
        for result in swift.delete("swept"):
            assert result["success"], result
    assert http.head("swept").status_code == 404


@pytest.mark.parametrize(("kind", "mode"), [("tar", "w"), ("tar.gz", "w:gz"), ("tar.bz2", "w:bz2")])
def test_extract_archive_into_a_container(http: httpx.Client, kind: str, mode: str) -> None:
    big = bytes(range(256)) * 1000
    files = {"./one.txt": b"one", "dir/two.html": b"<p>two</p>", "big.bin": big}
    http.put(f"ex-{kind}")
    answer = http.put(
        f"ex-{kind}/pre",
        params={"extract-archive": kind},
        content=tar_of(files, mode),
        headers={"Accept": "application/json", "X-Object-Meta-Batch": "7"},
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "Number Files Created": 3,
        "Response Status": "201 Created",
        "Response Body": "",
        "Errors": [],
    }
    assert http.get(f"ex-{kind}/pre/one.txt").content == b"one"
    two = http.get(f"ex-{kind}/pre/dir/two.html")
    assert two.headers["content-type"].startswith("text/html")
    assert two.headers["x-object-meta-batch"] == "7"
    assert http.get(f"ex-{kind}/pre/big.bin").content == big


def test_extract_archive_at_the_account_makes_containers(http: httpx.Client) -> None:
    files = {"newbox/a": b"A", "newbox/sub/b": b"B", "toplevel": b"ignored"}
    answer = http.put("", params={"extract-archive": "tar"}, content=tar_of(files))
    assert answer.status_code == 200
    assert answer.text.startswith("Number Files Created: 2\n")
    assert http.get("newbox/sub/b").content == b"B"


def test_extract_archive_refusals(http: httpx.Client) -> None:
    assert http.put("", params={"extract-archive": "zip"}, content=b"x").status_code == 400
    answer = http.put("", params={"extract-archive": "tar.gz"}, content=b"not a tar at all" * 100)
    assert answer.status_code == 200
    assert "Response Status: 400 Bad Request" in answer.text
    assert "Invalid Tar File" in answer.text
    answer = http.put("", params={"extract-archive": "tar"}, content=tar_of({"toplevel": b"x"}))
    assert "Invalid Tar File: No Valid Files" in answer.text


def test_info_lists_bulk(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert info["bulk_delete"]["max_deletes_per_request"] == 10000
    assert info["bulk_upload"]["max_containers_per_extraction"] == 10000
