"""Swift objects against a live server: data, metadata, conditions, ranges,
expiry and copies, through raw HTTP for exact statuses and swiftclient."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        http.put("box")
        http.put("other")
    return made


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as client:
        yield client


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_put_get_head_roundtrip(http: httpx.Client) -> None:
    data = b"hello swift"
    put = http.put(
        "box/dir/hello.txt",
        content=data,
        headers={
            "X-Object-Meta-Color": "blue",
            "Content-Type": "text/x-note",
            "Content-Disposition": "inline",
        },
    )
    assert put.status_code == 201
    assert put.headers["etag"] == md5(data)
    got = http.get("box/dir/hello.txt")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["etag"] == md5(data)
    assert got.headers["content-type"] == "text/x-note"
    assert got.headers["x-object-meta-color"] == "blue"
    assert got.headers["content-disposition"] == "inline"
    assert got.headers["content-length"] == str(len(data))
    assert "last-modified" in got.headers and "x-timestamp" in got.headers
    head = http.head("box/dir/hello.txt")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.content == b""


def test_content_type_is_detected_from_the_name_when_absent(http: httpx.Client) -> None:
    http.put("box/page.html", content=b"<p>", headers={"Content-Type": ""})
    assert http.head("box/page.html").headers["content-type"].startswith("text/html")
    http.put("box/blob", content=b"x", headers={"Content-Type": ""})
    assert http.head("box/blob").headers["content-type"] == "application/octet-stream"


def test_etag_mismatch_is_422_and_stores_nothing(http: httpx.Client) -> None:
    answer = http.put("box/bad", content=b"data", headers={"ETag": md5(b"other")})
    assert answer.status_code == 422
    assert http.head("box/bad").status_code == 404
    assert http.put("box/good", content=b"data", headers={"ETag": md5(b"data")}).status_code == 201


def test_chunked_upload(http: httpx.Client) -> None:
    parts = [b"a" * 70000, b"b" * 5, b"c" * 100000]

    def body() -> Iterator[bytes]:
        yield from parts

    answer = http.put("box/chunked", content=body())
    assert answer.status_code == 201
    whole = b"".join(parts)
    assert answer.headers["etag"] == md5(whole)
    assert http.get("box/chunked").content == whole


def test_a_body_without_length_or_chunking_is_411(account: SwiftAccount) -> None:
    _, token = account.login()
    import socket

    host, port = account.server.host, account.server.port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"PUT /v1/AUTH_{account.tenant}/box/nolength HTTP/1.1\r\nHost: {host}\r\n"
            f"X-Auth-Token: {token}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 411")


def test_ranges(http: httpx.Client) -> None:
    data = bytes(range(256)) * 4
    http.put("box/ranged", content=data)
    part = http.get("box/ranged", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = http.get("box/ranged", headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    beyond = http.get("box/ranged", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_several_ranges_are_multipart_byteranges(http: httpx.Client) -> None:
    data = bytes(range(256)) * 4
    http.put("box/multi", content=data, headers={"Content-Type": "application/x-test"})
    answer = http.get("box/multi", headers={"Range": "bytes=0-3,10-12,-2"})
    assert answer.status_code == 206
    kind, _, boundary = answer.headers["content-type"].partition(";boundary=")
    assert kind == "multipart/byteranges"
    assert int(answer.headers["content-length"]) == len(answer.content)
    parts = answer.content.split(f"--{boundary}".encode())
    assert parts[0] == b"" and parts[-1] == b"--"
    bodies = []
    for part in parts[1:-1]:
        head, _, body = part.strip(b"\r\n").partition(b"\r\n\r\n")
        assert b"Content-Type: application/x-test" in head
        bodies.append((head.split(b"Content-Range: ")[1].decode(), body))
    assert bodies == [
        (f"bytes 0-3/{len(data)}", data[0:4]),
        (f"bytes 10-12/{len(data)}", data[10:13]),
        (f"bytes {len(data) - 2}-{len(data) - 1}/{len(data)}", data[-2:]),
    ]
    # Unsatisfiable ranges are dropped; with none left, 416.
    one = http.get("box/multi", headers={"Range": f"bytes=0-1,{len(data) + 5}-"})
    assert one.status_code == 206 and one.content == data[:2]
    none = http.get("box/multi", headers={"Range": f"bytes={len(data)}-,{len(data) + 5}-"})
    assert none.status_code == 416


def test_conditional_get(http: httpx.Client) -> None:
    data = b"conditional"
    put = http.put("box/cond", content=data)
    etag, modified = put.headers["etag"], put.headers["last-modified"]
    assert http.get("box/cond", headers={"If-Match": etag}).status_code == 200
    assert http.get("box/cond", headers={"If-Match": '"nope"'}).status_code == 412
    not_modified = http.get("box/cond", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.headers["etag"] == etag
    assert http.get("box/cond", headers={"If-None-Match": "*"}).status_code == 304
    assert http.get("box/cond", headers={"If-Modified-Since": modified}).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert http.get("box/cond", headers={"If-Modified-Since": old}).status_code == 200


def test_post_replaces_metadata_and_keeps_data(http: httpx.Client) -> None:
    data = b"keep me"
    http.put("box/meta", content=data, headers={"X-Object-Meta-A": "1", "Content-Type": "text/a"})
    answer = http.post("box/meta", headers={"X-Object-Meta-B": "2"})
    assert answer.status_code == 202
    got = http.get("box/meta")
    assert got.content == data
    assert got.headers["etag"] == md5(data)
    assert got.headers["x-object-meta-b"] == "2"
    assert "x-object-meta-a" not in got.headers
    assert got.headers["content-type"] == "text/a"
    assert http.post("box/absent", headers={"X-Object-Meta-B": "2"}).status_code == 404


def test_object_metadata_limits(http: httpx.Client) -> None:
    answer = http.put("box/toomuch", content=b"x", headers={"X-Object-Meta-V": "v" * 257})
    assert answer.status_code == 400
    assert http.head("box/toomuch").status_code == 404


def test_delete(http: httpx.Client) -> None:
    http.put("box/gone", content=b"x")
    assert http.delete("box/gone").status_code == 204
    assert http.get("box/gone").status_code == 404
    assert http.delete("box/gone").status_code == 404


def test_delete_after_and_delete_at(http: httpx.Client) -> None:
    # Swift counts whole seconds: an object kept for N seconds may go up to
    # one second early, so the test leaves itself room on both sides.
    answer = http.put("box/brief", content=b"x", headers={"X-Delete-After": "3"})
    assert answer.status_code == 201
    at = http.head("box/brief").headers["x-delete-at"]
    assert int(at) >= int(time.time())
    later = int(time.time()) + 3600
    http.put("box/later", content=b"y", headers={"X-Delete-At": str(later)})
    assert http.head("box/later").headers["x-delete-at"] == str(later)
    time.sleep(4.1)
    assert http.get("box/brief").status_code == 404
    assert http.head("box/brief").status_code == 404
    assert http.get("box/later").status_code == 200
    # A new write without expiry keeps the object for good.
    http.put("box/brief", content=b"again")
    assert http.get("box/brief").content == b"again"
    assert "x-delete-at" not in http.head("box/brief").headers


def test_bad_expiry_is_400(http: httpx.Client) -> None:
    assert http.put("box/e", content=b"x", headers={"X-Delete-At": "1"}).status_code == 400
    assert http.put("box/e", content=b"x", headers={"X-Delete-After": "soon"}).status_code == 400


def test_copy_from_keeps_metadata_and_lays_new_over_it(http: httpx.Client) -> None:
    data = b"copy source"
    http.put(
        "box/src",
        content=data,
        headers={"X-Object-Meta-A": "1", "X-Object-Meta-B": "2", "Content-Type": "text/s"},
    )
    answer = http.put(
        "other/dst", content=b"", headers={"X-Copy-From": "/box/src", "X-Object-Meta-B": "3"}
    )
    assert answer.status_code == 201
    assert answer.headers["x-copied-from"] == "box/src"
    assert answer.headers["etag"] == md5(data)
    got = http.get("other/dst")
    assert got.content == data
    assert got.headers["x-object-meta-a"] == "1"
    assert got.headers["x-object-meta-b"] == "3"
    assert got.headers["content-type"] == "text/s"


def test_copy_with_fresh_metadata(http: httpx.Client) -> None:
    http.put("box/src2", content=b"z", headers={"X-Object-Meta-A": "1"})
    http.put(
        "box/dst2",
        content=b"",
        headers={"X-Copy-From": "box/src2", "X-Fresh-Metadata": "true", "X-Object-Meta-C": "9"},
    )
    got = http.head("box/dst2")
    assert "x-object-meta-a" not in got.headers
    assert got.headers["x-object-meta-c"] == "9"


def test_copy_method_with_destination(http: httpx.Client) -> None:
    http.put("box/src3", content=b"moved?", headers={"X-Object-Meta-K": "v"})
    answer = http.request("COPY", "box/src3", headers={"Destination": "other/copied"})
    assert answer.status_code == 201
    got = http.get("other/copied")
    assert got.content == b"moved?"
    assert got.headers["x-object-meta-k"] == "v"
    assert http.request("COPY", "box/src3").status_code == 412
    assert http.request("COPY", "box/absent", headers={"Destination": "box/x"}).status_code == 404


def test_swiftclient_objects(account: SwiftAccount) -> None:
    conn = account.connection()
    data = b"q" * 300000
    etag = conn.put_object("box", "client/big.bin", data, headers={"X-Object-Meta-Who": "me"})
    assert etag == md5(data)
    headers, body = conn.get_object("box", "client/big.bin")
    assert body == data
    assert headers["x-object-meta-who"] == "me"
    headers, part = conn.get_object("box", "client/big.bin", headers={"Range": "bytes=0-9"})
    assert part == data[:10]
    conn.post_object("box", "client/big.bin", headers={"X-Object-Meta-Who": "you"})
    assert conn.head_object("box", "client/big.bin")["x-object-meta-who"] == "you"
    conn.copy_object("box", "client/big.bin", "/other/client-copy.bin")
    assert conn.get_object("other", "client-copy.bin")[1] == data
    conn.delete_object("box", "client/big.bin")
