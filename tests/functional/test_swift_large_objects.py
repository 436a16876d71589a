"""Large objects against a live server: SLO and DLO uploaded by swiftclient's
SwiftService (`swift upload --segment-size`, with and without --use-slo)
and downloaded back byte for byte; manifests, ranges, ETags and the
manifest checks through raw HTTP for exact statuses."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account
from swiftclient.service import SwiftUploadObject
from swiftclient.utils import generate_temp_url


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        http.put("big")
        http.put("segs")
    return made


@pytest.fixture
def http(account: SwiftAccount) -> Iterator[httpx.Client]:
    with account.http() as client:
        yield client


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize("use_slo", [True, False], ids=["slo", "dlo"])
def test_swift_upload_in_segments_and_download(
    account: SwiftAccount, http: httpx.Client, tmp_path: Path, use_slo: bool
) -> None:
    data = os.urandom(10_000) + b"tail"
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    name = f"file-{'slo' if use_slo else 'dlo'}"
    with account.service(segment_size=3000, use_slo=use_slo) as swift:
        upload = [SwiftUploadObject(str(source), object_name=name)]
        for result in swift.upload("big", upload):
            assert result["success"], result
        head = http.head(f"big/{name}")
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(data))
        if use_slo:
            assert head.headers["x-static-large-object"] == "True"
        else:
            assert head.headers["x-object-manifest"].startswith("big_segments/")
        out = tmp_path / "out.bin"
        for result in swift.download("big", [name], options={"out_file": str(out)}):
            assert result["success"], result
        assert out.read_bytes() == data
        # Segments are named by the client in <container>_segments.
        listing = http.get("big_segments", params={"format": "json"}).json()
        assert len([e for e in listing if e["name"].startswith(name)]) == 4
        etags = "".join(e["hash"] for e in listing if e["name"].startswith(name))
        assert head.headers["etag"] == f'"{md5(etags.encode())}"'
        # The container listing shows the large object's size.
        entry = next(
            e for e in http.get("big", params={"format": "json"}).json() if e["name"] == name
        )
        if use_slo:
            assert entry["bytes"] == len(data)
            assert "swift_bytes" not in entry["content_type"]
        for result in swift.delete("big", [name]):
            assert result["success"], result
        assert http.head(f"big/{name}").status_code == 404


def put_segments(http: httpx.Client, parts: list[bytes], prefix: str) -> list[dict[str, Any]]:
    specs = []
    for index, part in enumerate(parts):
        path = f"segs/{prefix}/{index:03d}"
        assert http.put(path, content=part).status_code == 201
        specs.append({"path": "/" + path, "etag": md5(part), "size_bytes": len(part)})
    return specs


def test_slo_manifest_get_ranges_and_delete(http: httpx.Client) -> None:
    parts = [b"a" * 100, b"b" * 100, b"c" * 50]
    specs = put_segments(http, parts, "m1")
    specs.insert(1, {"data": "SU5MSU5F"})  # "INLINE"
    whole = parts[0] + b"INLINE" + parts[1] + parts[2]
    put = http.put(
        "big/slo", params={"multipart-manifest": "put"}, content=json.dumps(specs).encode()
    )
    assert put.status_code == 201, put.text
    expected_etag = md5((md5(parts[0]) + md5(b"INLINE") + md5(parts[1]) + md5(parts[2])).encode())
    assert put.headers["etag"] == f'"{expected_etag}"'
    got = http.get("big/slo")
    assert got.content == whole
    assert got.headers["etag"] == f'"{expected_etag}"'
    # A range across segments, several ranges, and a suffix.
    ranged = http.get("big/slo", headers={"Range": "bytes=95-110"})
    assert ranged.status_code == 206
    assert ranged.content == whole[95:111]
    assert ranged.headers["content-range"] == f"bytes 95-110/{len(whole)}"
    assert http.get("big/slo", headers={"Range": "bytes=-60"}).content == whole[-60:]
    multi = http.get("big/slo", headers={"Range": "bytes=0-1,200-205"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges")
    # Conditions are judged against the large object's ETag.
    assert http.get("big/slo", headers={"If-None-Match": f'"{expected_etag}"'}).status_code == 304
    # The manifest itself, as kept and as sent.
    stored = http.get("big/slo", params={"multipart-manifest": "get"})
    assert stored.headers["x-static-large-object"] == "True"
    kept = stored.json()
    assert [e.get("name") for e in kept] == ["/segs/m1/000", None, "/segs/m1/001", "/segs/m1/002"]
    assert kept[0]["bytes"] == 100 and kept[0]["hash"] == md5(parts[0])
    raw = http.get("big/slo", params={"multipart-manifest": "get", "format": "raw"}).json()
    assert raw[0] == {"path": "/segs/m1/000", "etag": md5(parts[0]), "size_bytes": 100}
    # A plain DELETE leaves the segments; multipart-manifest=delete takes them.
    gone = http.delete(
        "big/slo", params={"multipart-manifest": "delete"}, headers={"Accept": "application/json"}
    )
    assert gone.status_code == 200
    assert gone.json()["Number Deleted"] == 4
    assert gone.json()["Errors"] == []
    assert http.head("segs/m1/000").status_code == 404
    assert http.head("big/slo").status_code == 404


def test_slo_with_ranged_segments(http: httpx.Client) -> None:
    part = bytes(range(256))
    put_segments(http, [part], "r")
    specs = [
        {"path": "/segs/r/000", "range": "10-19"},
        {"path": "/segs/r/000", "range": "-5"},
    ]
    put = http.put("big/ranged", params={"multipart-manifest": "put"}, content=json.dumps(specs))
    assert put.status_code == 201, put.text
    etag = md5(f"{md5(part)}:10-19;{md5(part)}:251-255;".encode())
    assert put.headers["etag"] == f'"{etag}"'
    assert http.get("big/ranged").content == part[10:20] + part[-5:]


def test_slo_manifest_checks(http: httpx.Client) -> None:
    specs = put_segments(http, [b"x" * 10, b"y" * 10], "bad")

    def put(body: object, **headers: str) -> httpx.Response:
        text = body if isinstance(body, str) else json.dumps(body)
        return http.put(
            "big/bad", params={"multipart-manifest": "put"}, content=text, headers=headers
        )

    assert put("{nope").text == "Manifest must be valid JSON.\n"
    assert put({"a": 1}).text == "Manifest must be a list.\n"
    answer = put([{"path": "nocontainer"}, {"size_bytes": 1}, 5, {"path": "/s/o", "x": 1}])
    assert answer.status_code == 400
    assert answer.text.splitlines() == [
        "Index 0: path does not refer to an object. Path must be of the form /container/object.",
        "Index 1: expected keys to include one of 'data' or 'path'",
        "Index 2: not a JSON object",
        'Index 3: extraneous keys "x"',
    ]
    wrong = [dict(specs[0], etag="0" * 32), dict(specs[1], size_bytes=11), {"path": "/segs/none"}]
    answer = put(wrong)
    assert answer.status_code == 400
    assert answer.text == (
        "Errors:\n/segs/bad/000, Etag Mismatch\n/segs/bad/001, Size Mismatch\n"
        "/segs/none, 404 Not Found\n"
    )
    answer = put(wrong, Accept="application/json")
    assert answer.json()["Errors"][2] == ["/segs/none", "404 Not Found"]
    assert put(specs, ETag="0" * 32).status_code == 422
    assert put([{"path": "/big/bad"}, *specs]).status_code == 400  # itself
    assert put([{"data": "eA=="}]).status_code == 400  # no object-backed segment
    assert http.head("big/bad").status_code == 404
    assert http.put("big/x", headers={"X-Static-Large-Object": "true"}).status_code == 400


def test_slo_get_with_a_missing_segment_is_409(http: httpx.Client) -> None:
    specs = put_segments(http, [b"1" * 10, b"2" * 10], "lost")
    put = http.put("big/lost", params={"multipart-manifest": "put"}, content=json.dumps(specs))
    assert put.status_code == 201
    http.delete("segs/lost/000")
    assert http.get("big/lost").status_code == 409


def test_dlo_by_header(http: httpx.Client) -> None:
    parts = [b"one-", b"two-", b"three"]
    put_segments(http, parts, "dlo")
    put = http.put("big/dlo", content=b"", headers={"X-Object-Manifest": "segs/dlo/"})
    assert put.status_code == 201
    got = http.get("big/dlo")
    assert got.content == b"".join(parts)
    assert got.headers["etag"] == f'"{md5("".join(md5(p) for p in parts).encode())}"'
    assert got.headers["x-object-manifest"] == "segs/dlo/"
    assert http.get("big/dlo", headers={"Range": "bytes=3-9"}).content == b"".join(parts)[3:10]
    # Segments added later are part of it: the listing is read at each GET.
    http.put("segs/dlo/004", content=b"!")
    assert http.get("big/dlo").content == b"".join(parts) + b"!"
    # The manifest object itself.
    assert http.get("big/dlo", params={"multipart-manifest": "get"}).content == b""
    bad = http.put("big/dlo2", content=b"", headers={"X-Object-Manifest": "nocontainer"})
    assert bad.status_code == 400
    assert bad.text == "X-Object-Manifest must be in the format container/prefix"


def test_info_lists_slo_and_dlo(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()
    assert info["slo"]["max_manifest_segments"] == 1000
    assert info["slo"]["max_manifest_size"] == 8 * 1024**2
    assert "dlo" in info


def test_a_container_temp_url_reaches_no_segment_elsewhere(
    account: SwiftAccount, http: httpx.Client
) -> None:
    specs = put_segments(http, [b"s" * 10], "tu")
    put = http.put("big/tu", params={"multipart-manifest": "put"}, content=json.dumps(specs))
    assert put.status_code == 201
    http.post("big", headers={"X-Container-Meta-Temp-URL-Key": "container-key"})
    http.post("", headers={"X-Account-Meta-Temp-URL-Key": "account-key"})
    path = f"/v1/AUTH_{account.tenant}/big/tu"
    endpoint = account.server.endpoint
    confined = generate_temp_url(path, 60, "container-key", "GET")
    assert httpx.get(endpoint + confined).status_code == 409
    whole = generate_temp_url(path, 60, "account-key", "GET")
    assert httpx.get(endpoint + whole).content == b"s" * 10
