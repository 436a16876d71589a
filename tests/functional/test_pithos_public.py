"""Pithos public links on the Swift front end, against a live server: publishing
with `X-Object-Public`, the owner's view of the link, anonymous reads of it
(ranges, conditions, only the headers Pithos gives), and unpublishing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from conftest import LiveServer
from swift_support import new_account

DATA = b"0123456789" * 1000


@pytest.fixture
def box(owner: httpx.Client) -> str:
    name = f"pub-{uuid.uuid4().hex[:10]}"
    assert owner.put(name).status_code == 201
    return name


def publish(owner: httpx.Client, path: str) -> str:
    answer = owner.put(
        path, content=DATA, headers={"Content-Type": "text/plain", "X-Object-Public": "true"}
    )
    assert answer.status_code == 201
    url = owner.head(path).headers["x-object-public"]
    assert "/v1/public/" in url
    return url


def test_a_published_object_is_read_without_a_token(owner: httpx.Client, box: str) -> None:
    url = publish(owner, f"{box}/doc.txt")
    public_id = url.rsplit("/", 1)[1]
    assert len(public_id) == 16 and public_id.isalnum()
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"] == 'inline; filename="doc.txt"'
    assert got.headers["etag"] == owner.head(f"{box}/doc.txt").headers["etag"]
    assert not [name for name in got.headers if name.startswith("x-object-")]
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))
    attached = httpx.get(url, params={"disposition-type": "attachment"})
    assert attached.headers["content-disposition"] == 'attachment; filename="doc.txt"'


def test_ranges_and_conditions_on_a_public_link(owner: httpx.Client, box: str) -> None:
    url = publish(owner, f"{box}/doc")
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == DATA[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(DATA)}"
    several = httpx.get(url, headers={"Range": "bytes=0-0,5-5"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges")
    assert httpx.get(url, headers={"Range": f"bytes={len(DATA)}-"}).status_code == 416
    etag = httpx.head(url).headers["etag"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Match": '"nope"'}).status_code == 412
    assert httpx.put(url, content=b"x").status_code == 405


def test_the_link_follows_new_versions_and_unpublishing_revokes_it(
    owner: httpx.Client, box: str
) -> None:
    url = publish(owner, f"{box}/doc")
    assert (
        owner.put(f"{box}/doc", content=b"v2", headers={"Content-Type": "text/plain"}).status_code
        == 201
    )
    assert owner.head(f"{box}/doc").headers["x-object-public"] == url  # kept by a plain PUT
    assert httpx.get(url).content == b"v2"
    assert owner.post(f"{box}/doc", headers={"X-Object-Public": "false"}).status_code == 202
    assert httpx.get(url).status_code == 404
    assert "x-object-public" not in owner.head(f"{box}/doc").headers
    assert owner.post(f"{box}/doc", headers={"X-Object-Public": "true"}).status_code == 202
    again = owner.head(f"{box}/doc").headers["x-object-public"]
    assert again != url and httpx.get(again).content == b"v2"
    assert owner.delete(f"{box}/doc").status_code == 204
    assert httpx.get(again).status_code == 404


def test_bad_values_and_strangers(server: LiveServer, owner: httpx.Client, box: str) -> None:
    bad = owner.put(
        f"{box}/doc", content=b"x", headers={"Content-Type": "text/plain", "X-Object-Public": "yes"}
    )
    assert bad.status_code == 400
    assert owner.head(f"{box}/doc").status_code == 404
    url = publish(owner, f"{box}/doc")
    bob = new_account(server)
    _, token = bob.login()
    owner_url = str(owner.base_url)
    with httpx.Client(base_url=owner_url, headers={"X-Auth-Token": token}) as stranger:
        refused = stranger.post(f"{box}/doc", headers={"X-Object-Public": "false"})
        assert refused.status_code == 403
    assert httpx.get(url).status_code == 200
    assert httpx.get(f"{server.endpoint}/v1/public/nosuchid").status_code == 404
    assert httpx.get(f"{server.endpoint}/v1/public/").status_code == 404
