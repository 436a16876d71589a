"""Pithos' headers of which version a read got (X-Object-UUID,
X-Object-Version, X-Object-Version-Timestamp, X-Object-Modified-By) on
HEAD and GET, and their x_object_* fields in JSON and XML listings,
against a live server."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import httpx
from conftest import LiveServer
from swift_support import SwiftAccount, add_user


def new_box(client: httpx.Client, **headers: str) -> str:
    name = f"info-{uuid.uuid4().hex[:10]}"
    assert client.put(name, headers=headers).status_code == 201
    return name


def put(client: httpx.Client, path: str, data: bytes) -> None:
    answer = client.put(path, content=data, headers={"Content-Type": "text/plain"})
    assert answer.status_code == 201, answer.text


def test_uuid_stays_through_overwrites_and_moves_and_not_copies(owner: httpx.Client) -> None:
    box = new_box(owner)
    put(owner, f"{box}/a", b"one")
    first = owner.head(f"{box}/a").headers
    the_uuid = first["x-object-uuid"]
    assert len(the_uuid) >= 32
    put(owner, f"{box}/a", b"two")
    second = owner.get(f"{box}/a").headers
    assert second["x-object-uuid"] == the_uuid
    # Without history the one version is S3's "null" version.
    assert second["x-object-version"] == first["x-object-version"] == "null"

    copied = owner.request("COPY", f"{box}/a", headers={"Destination": f"/{box}/c"})
    assert copied.status_code == 201
    assert owner.head(f"{box}/c").headers["x-object-uuid"] != the_uuid

    moved = owner.request("MOVE", f"{box}/a", headers={"Destination": f"/{box}/b"})
    assert moved.status_code == 201
    assert owner.head(f"{box}/b").headers["x-object-uuid"] == the_uuid

    # Deleted and made again, it is another object.
    assert owner.delete(f"{box}/b").status_code == 204
    put(owner, f"{box}/b", b"three")
    assert owner.head(f"{box}/b").headers["x-object-uuid"] != the_uuid


def test_version_timestamp_and_writer(
    server: LiveServer, alice: SwiftAccount, owner: httpx.Client
) -> None:
    box = new_box(owner)
    put(owner, f"{box}/doc", b"by the owner")
    head = owner.head(f"{box}/doc").headers
    assert head["x-object-modified-by"] == alice.user
    assert head["x-object-version-timestamp"] == head["last-modified"]
    parsedate_to_datetime(head["x-object-version-timestamp"])

    # A member with write access to the container writes the next version.
    bob = add_user(server, alice.tenant, f"bob{uuid.uuid4().hex[:6]}", admin=False)
    acl = {"X-Container-Write": f"{alice.tenant}:{bob.user}"}
    acl["X-Container-Read"] = acl["X-Container-Write"]
    assert owner.post(box, headers=acl).status_code == 204
    with bob.http() as member:
        put(member, f"{box}/doc", b"by a member")
    again = owner.head(f"{box}/doc").headers
    assert again["x-object-modified-by"] == bob.user
    assert again["x-object-uuid"] == head["x-object-uuid"]


def test_a_chosen_version_shows_its_own(owner: httpx.Client) -> None:
    box = new_box(owner, **{"X-Container-Policy-Versioning": "auto"})
    put(owner, f"{box}/v", b"old")
    old = owner.head(f"{box}/v").headers
    put(owner, f"{box}/v", b"new")
    assert owner.head(f"{box}/v").headers["x-object-version"] != old["x-object-version"]
    asked = owner.head(f"{box}/v?version={old['x-object-version']}").headers
    assert asked["x-object-version"] == old["x-object-version"]
    assert asked["x-object-version-timestamp"] == old["x-object-version-timestamp"]
    assert asked["x-object-uuid"] == old["x-object-uuid"]


def test_listings_carry_the_fields(alice: SwiftAccount, owner: httpx.Client) -> None:
    box = new_box(owner)
    for name in ("a", "b/c"):
        put(owner, f"{box}/{name}", b"data")
    heads = {n: owner.head(f"{box}/{n}").headers for n in ("a", "b/c")}

    listed = owner.get(box, params={"format": "json"}).json()
    assert [e["name"] for e in listed] == ["a", "b/c"]
    for entry in listed:
        head = heads[entry["name"]]
        assert entry["x_object_uuid"] == head["x-object-uuid"]
        assert entry["x_object_version"] == head["x-object-version"]
        assert entry["x_object_modified_by"] == alice.user
        stamp = float(entry["x_object_version_timestamp"])
        assert int(stamp) == int(parsedate_to_datetime(head["last-modified"]).timestamp())

    root = ET.fromstring(owner.get(box, params={"format": "xml"}).content)
    objects = {o.findtext("name"): o for o in root.iter("object")}
    assert objects["a"].findtext("x_object_uuid") == heads["a"]["x-object-uuid"]
    assert objects["b/c"].findtext("x_object_version") == heads["b/c"]["x-object-version"]
    assert objects["a"].findtext("x_object_modified_by") == alice.user

    # Subdirectories have none; plain text is names only.
    rolled = owner.get(box, params={"format": "json", "delimiter": "/"}).json()
    assert rolled[1] == {"subdir": "b/"}
    assert "x_object_uuid" in rolled[0]
    assert owner.get(box).text == "a\nb/c\n"
