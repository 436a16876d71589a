"""Swift's newer object versioning (X-Versions-Enabled, X-Object-Version-Id,
?versions, ?version-id=) against a live server, with raw HTTP and
swiftclient, and the same versions seen through S3."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import httpx
from conftest import LiveServer, client
from swift_support import SwiftAccount

MARKER_TYPE = "application/x-deleted;swift_versions_deleted=1"


def versioned(http: httpx.Client) -> str:
    name = f"ov-{uuid.uuid4().hex[:10]}"
    assert http.put(name, headers={"X-Versions-Enabled": "true"}).status_code == 201
    return name


def put(http: httpx.Client, path: str, data: bytes) -> str:
    answer = http.put(path, content=data)
    assert answer.status_code == 201, answer.text
    return answer.headers["x-object-version-id"]


def test_enable_disable_and_show(http: httpx.Client) -> None:
    name = f"ov-{uuid.uuid4().hex[:10]}"
    http.put(name)
    assert "x-versions-enabled" not in http.head(name).headers
    assert "x-object-version-id" not in http.put(f"{name}/o", content=b"x").headers
    assert http.post(name, headers={"X-Versions-Enabled": "true"}).status_code == 204
    assert http.head(name).headers["x-versions-enabled"] == "True"
    assert http.head(name).headers["x-container-policy-versioning"] == "auto"
    assert http.post(name, headers={"X-Versions-Enabled": "false"}).status_code == 204
    assert http.head(name).headers["x-versions-enabled"] == "False"


def test_versions_of_an_object(http: httpx.Client) -> None:
    box = versioned(http)
    first = put(http, f"{box}/doc", b"one")
    second = put(http, f"{box}/doc", b"two")
    assert first != second
    got = http.get(f"{box}/doc")
    assert got.content == b"two"
    assert got.headers["x-object-version-id"] == second
    old = http.get(f"{box}/doc", params={"version-id": first})
    assert old.content == b"one"
    assert old.headers["x-object-version-id"] == first
    assert http.head(f"{box}/doc", params={"version-id": first}).status_code == 200
    assert http.get(f"{box}/doc", params={"version-id": "nosuchversion"}).status_code in (
        400,
        404,
    )

    # A delete leaves a marker: the object is gone, its versions stay.
    assert http.delete(f"{box}/doc").status_code == 204
    assert http.get(f"{box}/doc").status_code == 404
    assert http.get(f"{box}/doc", params={"version-id": second}).content == b"two"
    listed = http.get(box, params={"versions": "", "format": "json"}).json()
    assert [(e["name"], e["is_latest"]) for e in listed] == [
        ("doc", True),
        ("doc", False),
        ("doc", False),
    ]
    marker = listed[0]
    assert marker["content_type"] == MARKER_TYPE
    assert marker["bytes"] == 0
    assert [e["version_id"] for e in listed[1:]] == [second, first]
    assert listed[1]["hash"] == "b8a9f715dbb64fd5c56e7783c6820a61"  # md5("two")
    # The marker itself reads as absent.
    assert http.head(f"{box}/doc", params={"version-id": marker["version_id"]}).status_code == 404

    # Deleting the marker by its id brings the object back; no new marker.
    answer = http.delete(f"{box}/doc", params={"version-id": marker["version_id"]})
    assert answer.status_code == 204
    assert http.get(f"{box}/doc").content == b"two"
    assert http.delete(f"{box}/doc", params={"version-id": second}).status_code == 204
    assert http.get(f"{box}/doc").content == b"one"
    assert len(http.get(box, params={"versions": "", "format": "json"}).json()) == 1


def test_writes_to_a_version_are_refused(http: httpx.Client) -> None:
    box = versioned(http)
    first = put(http, f"{box}/o", b"x")
    assert http.put(f"{box}/o", params={"version-id": first}, content=b"y").status_code == 400
    assert http.post(f"{box}/o", params={"version-id": first}).status_code == 400
    assert http.get(f"{box}/o").content == b"x"


def test_copy_of_a_version(http: httpx.Client) -> None:
    box = versioned(http)
    first = put(http, f"{box}/src", b"old")
    put(http, f"{box}/src", b"new")
    answer = http.request(
        "COPY", f"{box}/src", params={"version-id": first}, headers={"Destination": f"/{box}/dst"}
    )
    assert answer.status_code == 201
    assert http.get(f"{box}/dst").content == b"old"


def test_listing_pages_and_formats(http: httpx.Client) -> None:
    box = versioned(http)
    ids = {name: [put(http, f"{box}/{name}", d) for d in (b"1", b"22")] for name in ("a", "b/c")}
    plain = http.get(box, params={"versions": ""}).text.splitlines()
    assert plain == ["a", "a", "b/c", "b/c"]
    page = http.get(box, params={"versions": "", "format": "json", "limit": "3"}).json()
    assert [(e["name"], e["version_id"]) for e in page] == [
        ("a", ids["a"][1]),
        ("a", ids["a"][0]),
        ("b/c", ids["b/c"][1]),
    ]
    rest = http.get(
        box,
        params={
            "versions": "",
            "format": "json",
            "marker": "b/c",
            "version_marker": ids["b/c"][1],
        },
    ).json()
    assert [(e["name"], e["version_id"]) for e in rest] == [("b/c", ids["b/c"][0])]
    rolled = http.get(box, params={"versions": "", "format": "json", "delimiter": "/"}).json()
    assert rolled[-1] == {"subdir": "b/"}
    root = ET.fromstring(http.get(box, params={"versions": "", "format": "xml"}).content)
    objects = list(root.iter("object"))
    assert [o.findtext("version_id") for o in objects][:2] == ids["a"][::-1]
    assert [o.findtext("is_latest") for o in objects][:2] == ["true", "false"]


def test_legacy_modes_do_not_mix(http: httpx.Client) -> None:
    box = versioned(http)
    http.put(f"{box}-archive")
    answer = http.post(box, headers={"X-Versions-Location": f"{box}-archive"})
    assert answer.status_code == 400
    legacy = f"ov-{uuid.uuid4().hex[:10]}"
    http.put(legacy, headers={"X-Versions-Location": f"{box}-archive"})
    assert http.post(legacy, headers={"X-Versions-Enabled": "true"}).status_code == 400
    assert "x-versions-enabled" not in http.head(legacy).headers
    made = f"ov-{uuid.uuid4().hex[:10]}"
    both = {"X-Versions-Enabled": "true", "X-History-Location": f"{box}-archive"}
    assert http.put(made, headers=both).status_code == 400
    assert http.head(made).status_code == 404


def test_a_versioned_container_is_deleted_once_its_versions_are(http: httpx.Client) -> None:
    box = versioned(http)
    first = put(http, f"{box}/o", b"x")
    http.delete(f"{box}/o")
    assert http.delete(box).status_code == 409
    marker = http.get(box, params={"versions": "", "format": "json"}).json()[0]["version_id"]
    http.delete(f"{box}/o", params={"version-id": marker})
    http.delete(f"{box}/o", params={"version-id": first})
    assert http.delete(box).status_code == 204


def test_swiftclient_and_s3_see_the_same_versions(
    server: LiveServer, account: SwiftAccount
) -> None:
    conn = account.connection()
    box = f"ov-{uuid.uuid4().hex[:10]}"
    conn.put_container(box, headers={"X-Versions-Enabled": "true"})
    conn.put_object(box, "k", b"v1")
    conn.put_object(box, "k", b"v2")
    headers, body = conn.get_object(box, "k")
    assert body == b"v2"
    _, listed = conn.get_container(box, query_string="versions")
    assert listed[0]["version_id"] == headers["x-object-version-id"]
    s3 = client(server, account.access_key, account.secret)
    assert s3.get_bucket_versioning(Bucket=box)["Status"] == "Enabled"
    versions = s3.list_object_versions(Bucket=box)["Versions"]
    assert [v["VersionId"] for v in versions] == [e["version_id"] for e in listed]


def test_info_says_so(server: LiveServer) -> None:
    assert httpx.get(f"{server.endpoint}/info").json()["object_versioning"] == {}
