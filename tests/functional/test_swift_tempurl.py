"""TempURL against a live server: URLs made by swiftclient's generate_temp_url,
account and container keys, every digest and form, prefixes, expiry, and the
refusals, which are all the same 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount, new_account
from swiftclient.utils import generate_temp_url

ACCOUNT_KEY = "account-secret"
CONTAINER_KEY = "container-secret"


@pytest.fixture(scope="module")
def account(server: LiveServer) -> SwiftAccount:
    made = new_account(server)
    with made.http() as http:
        assert (
            http.post("", headers={"X-Account-Meta-Temp-URL-Key": ACCOUNT_KEY}).status_code == 204
        )
        http.put("box")
        http.put("keyed", headers={"X-Container-Meta-Temp-URL-Key-2": CONTAINER_KEY})
        http.put(
            "box/docs/report.txt",
            content=b"report",
            headers={"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Tag": "t"},
        )
        http.put("keyed/file.bin", content=b"keyed data")
    return made


@pytest.fixture
def anon(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.endpoint) as client:
        yield client


def path(account: SwiftAccount, rest: str) -> str:
    return f"/v1/AUTH_{account.tenant}/{rest}"


def test_get_and_head_with_an_account_key(account: SwiftAccount, anon: httpx.Client) -> None:
    url = generate_temp_url(path(account, "box/docs/report.txt"), 60, ACCOUNT_KEY, "GET")
    got = anon.get(url)
    assert got.status_code == 200
    assert got.content == b"report"
    disposition = got.headers["content-disposition"]
    assert disposition == "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
    assert "expires" in got.headers
    # User metadata stays private, but for the names Swift lets out.
    assert "x-object-meta-secret" not in got.headers
    assert got.headers["x-object-meta-public-tag"] == "t"
    # A URL for GET also allows HEAD.
    head = anon.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == "6"


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_every_allowed_digest(account: SwiftAccount, anon: httpx.Client, digest: str) -> None:
    url = generate_temp_url(
        path(account, "box/docs/report.txt"), 60, ACCOUNT_KEY, "GET", digest=digest
    )
    assert anon.get(url).status_code == 200


def test_base64_prefixed_signatures(account: SwiftAccount, anon: httpx.Client) -> None:
    p = path(account, "box/docs/report.txt")
    expires = int(time.time()) + 60
    mac = hmac.new(ACCOUNT_KEY.encode(), f"GET\n{expires}\n{p}".encode(), hashlib.sha512)
    for encoded in (
        base64.b64encode(mac.digest()).decode(),
        base64.urlsafe_b64encode(mac.digest()).decode().rstrip("="),
    ):
        params = {"temp_url_sig": f"sha512:{encoded}", "temp_url_expires": str(expires)}
        assert anon.get(p, params=params).status_code == 200
    params = {"temp_url_sig": "md5:AAAA", "temp_url_expires": str(expires)}
    assert anon.get(p, params=params).status_code == 401


def test_iso8601_expiry_and_inline(account: SwiftAccount, anon: httpx.Client) -> None:
    url = generate_temp_url(
        path(account, "box/docs/report.txt"), 60, ACCOUNT_KEY, "GET", iso8601=True
    )
    assert "Z" in url
    got = anon.get(url + "&inline")
    assert got.status_code == 200
    assert got.headers["content-disposition"] == "inline"
    named = anon.get(url + "&filename=my report.txt")
    assert named.headers["content-disposition"].startswith('attachment; filename="my report.txt"')


def test_container_key_reaches_its_own_container_only(
    account: SwiftAccount, anon: httpx.Client
) -> None:
    url = generate_temp_url(path(account, "keyed/file.bin"), 60, CONTAINER_KEY, "GET")
    assert anon.get(url).content == b"keyed data"
    other = generate_temp_url(path(account, "box/docs/report.txt"), 60, CONTAINER_KEY, "GET")
    assert anon.get(other).status_code == 401


def test_put_through_a_temp_url(account: SwiftAccount, anon: httpx.Client) -> None:
    url = generate_temp_url(path(account, "box/uploaded"), 60, ACCOUNT_KEY, "PUT")
    assert anon.put(url, content=b"from afar").status_code == 201
    with account.http() as http:
        assert http.get("box/uploaded").content == b"from afar"
    # The URL grants PUT, not GET; a manifest header is refused outright.
    assert anon.get(url).status_code == 401
    answer = anon.put(url, content=b"", headers={"X-Object-Manifest": "box/docs"})
    assert answer.status_code == 400


def test_prefix_urls(account: SwiftAccount, anon: httpx.Client) -> None:
    url = generate_temp_url(path(account, "box/docs/"), 60, ACCOUNT_KEY, "GET", prefix=True)
    query = url.split("?", 1)[1]
    assert anon.get(path(account, "box/docs/report.txt") + "?" + query).status_code == 200
    assert anon.get(path(account, "box/uploaded") + "?" + query).status_code == 401


def test_refusals_are_401(account: SwiftAccount, anon: httpx.Client) -> None:
    p = path(account, "box/docs/report.txt")
    good = generate_temp_url(p, 60, ACCOUNT_KEY, "GET")
    query = dict(part.split("=", 1) for part in good.split("?", 1)[1].split("&"))
    cases = [
        generate_temp_url(p, 60, "wrong key", "GET"),
        generate_temp_url(p, 60, ACCOUNT_KEY, "PUT"),  # a GET with a PUT URL
        f"{p}?temp_url_sig={query['temp_url_sig']}",  # no expiry
        f"{p}?temp_url_expires={query['temp_url_expires']}",  # no signature
        f"{p}?temp_url_sig=zz&temp_url_expires={query['temp_url_expires']}",
        f"{p}?temp_url_sig={query['temp_url_sig']}&temp_url_expires=soon",
    ]
    for url in cases:
        answer = anon.get(url)
        assert answer.status_code == 401, url
        assert answer.text == "401 Unauthorized: Temp URL invalid\n"
    # Expired: signed for a time already past.
    expires = int(time.time()) - 10
    mac = hmac.new(ACCOUNT_KEY.encode(), f"GET\n{expires}\n{p}".encode(), hashlib.sha256)
    params = {"temp_url_sig": mac.hexdigest(), "temp_url_expires": str(expires)}
    assert anon.get(p, params=params).status_code == 401


def test_container_keys_are_hidden_from_readers(server: LiveServer) -> None:
    owner = new_account(server)
    with owner.http() as http:
        http.put(
            "c",
            headers={"X-Container-Meta-Temp-URL-Key": "k", "X-Container-Read": ".r:*,.rlistings"},
        )
        assert http.head("c").headers["x-container-meta-temp-url-key"] == "k"
    stranger = httpx.head(f"{owner.url}/c")
    assert stranger.status_code == 204
    assert "x-container-meta-temp-url-key" not in stranger.headers


def test_info_lists_tempurl(server: LiveServer) -> None:
    info = httpx.get(f"{server.endpoint}/info").json()["tempurl"]
    assert set(info["methods"]) == {"GET", "HEAD", "PUT", "POST", "DELETE"}
    assert set(info["allowed_digests"]) == {"sha1", "sha256", "sha512"}
