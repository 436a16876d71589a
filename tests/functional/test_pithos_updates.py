"""Pithos' partial updates by POST with Content-Range, from a body or from
another object, and cuts with X-Object-Bytes, against a live server; the
requests are the ones kamaki sends for overwrite, append and truncate."""

from __future__ import annotations

import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, add_user, new_account

OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def obj(owner: httpx.Client) -> str:
    box = f"upd-{uuid.uuid4().hex[:10]}"
    assert owner.put(box).status_code == 201
    path = f"{box}/doc"
    answer = owner.put(
        path, content=b"0123456789", headers={"Content-Type": "text/plain", "X-Object-Meta-A": "1"}
    )
    assert answer.status_code == 201
    return path


def post(client: httpx.Client, path: str, data: bytes = b"", **headers: str) -> httpx.Response:
    return client.post(f"{path}?update", content=data, headers={**OCTETS, **headers})


def test_overwrite_a_range(owner: httpx.Client, obj: str) -> None:
    answer = post(owner, obj, b"abc", **{"Content-Range": "bytes 2-4/*"})
    assert answer.status_code == 204, answer.text
    got = owner.get(obj)
    assert got.content == b"01abc56789"
    assert answer.headers["etag"] == got.headers["etag"]
    assert answer.headers["x-object-version"] == got.headers["x-object-version"]
    # The object's type and metadata stay.
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["x-object-meta-a"] == "1"


def test_overwrite_past_the_end_append_and_open_ranges(owner: httpx.Client, obj: str) -> None:
    assert post(owner, obj, b"XYZ", **{"Content-Range": "bytes 8-/*"}).status_code == 204
    assert owner.get(obj).content == b"01234567XYZ"
    assert post(owner, obj, b"++", **{"Content-Range": "bytes */*"}).status_code == 204
    assert owner.get(obj).content == b"01234567XYZ++"


def test_update_from_another_object_and_truncate(owner: httpx.Client, obj: str) -> None:
    box = obj.split("/", maxsplit=1)[0]
    assert owner.put(f"{box}/src", content=b"SOURCE", headers=OCTETS).status_code == 201
    headers = {"Content-Range": "bytes 0-2/*", "X-Source-Object": f"/{box}/src"}
    assert post(owner, obj, **headers).status_code == 204
    assert owner.get(obj).content == b"SOU3456789"
    # kamaki's truncate: itself as the source, range 0-0, and the size to keep.
    cut = {"Content-Range": "bytes 0-0/*", "X-Source-Object": f"/{obj}", "X-Object-Bytes": "4"}
    assert post(owner, obj, **cut).status_code == 204
    assert owner.get(obj).content == b"SOU3"
    assert post(owner, obj, **{"X-Object-Bytes": "2"}).status_code == 204
    assert owner.get(obj).content == b"SO"


@pytest.mark.parametrize(
    ("headers", "data", "status"),
    [
        ({}, b"x", 202),  # no range: a metadata POST, as Swift's
        ({"Content-Range": "bytes 5-2/*"}, b"x", 416),
        ({"Content-Range": "bytes=0-1/*"}, b"xx", 416),
        ({"Content-Range": "bytes 20-21/*"}, b"xx", 416),  # beyond the end
        ({"Content-Range": "bytes 0-1/99"}, b"xx", 416),  # the size is not 99
        ({"Content-Range": "bytes 0-3/*"}, b"xx", 400),  # length and range disagree
        ({"Content-Range": "bytes 0-1/*", "X-Object-Bytes": "a"}, b"xx", 400),
        ({"Content-Range": "bytes 0-1/*", "X-Source-Object": "nocontainer"}, b"", 412),
        ({"Content-Range": "bytes 0-1/*", "X-Source-Object": "/c/none"}, b"", 404),
    ],
)
def test_bad_updates_change_nothing(
    owner: httpx.Client, obj: str, headers: dict[str, str], data: bytes, status: int
) -> None:
    assert post(owner, obj, data, **headers).status_code == status
    assert owner.get(obj).content == b"0123456789"


def test_an_update_of_a_missing_object_is_404(owner: httpx.Client, obj: str) -> None:
    box = obj.split("/", maxsplit=1)[0]
    assert post(owner, f"{box}/none", b"x", **{"Content-Range": "bytes 0-0/*"}).status_code == 404


def test_a_writer_may_update_a_reader_may_not(
    server: LiveServer, alice: SwiftAccount, owner: httpx.Client, obj: str
) -> None:
    bob, carol = new_account(server), new_account(server)
    sharing = {"X-Object-Sharing": f"read={carol.tenant};write={bob.tenant}"}
    assert owner.post(obj, headers=sharing).status_code == 202
    for who, status in ((bob, 204), (carol, 403)):
        _, token = who.login()
        with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as client:
            answer = post(client, obj, b"B", **{"Content-Range": "bytes 0-0/*"})
            assert answer.status_code == status
    assert owner.get(obj).content == b"B123456789"


def test_a_member_needs_read_of_an_update_source(
    server: LiveServer, alice: SwiftAccount, owner: httpx.Client, obj: str
) -> None:
    box = obj.split("/", maxsplit=1)[0]
    secret = f"secret-{uuid.uuid4().hex[:8]}"
    assert owner.put(secret).status_code == 201
    assert owner.put(f"{secret}/s", content=b"SECRET", headers=OCTETS).status_code == 201
    assert (
        owner.post(box, headers={"X-Container-Write": f"{alice.tenant}:{box}"}).status_code == 204
    )
    member = add_user(server, alice.tenant, box, admin=False)
    _, token = member.login()
    with httpx.Client(base_url=alice.url + "/", headers={"X-Auth-Token": token}) as theirs:
        headers = {"Content-Range": "bytes 0-5/*", "X-Source-Object": f"/{secret}/s"}
        assert post(theirs, obj, **headers).status_code == 403
        assert owner.get(obj).content == b"0123456789"
        # A write ACL lets a member delete, so move, within the container.
        moved = theirs.request("MOVE", obj, headers={"Destination": f"{box}/moved"})
        assert moved.status_code == 201
        elsewhere = theirs.request("MOVE", f"{box}/moved", headers={"Destination": f"{secret}/m"})
        assert elsewhere.status_code == 403
    assert owner.get(f"{box}/moved").content == b"0123456789"
