"""Static web sites from containers (X-Container-Meta-Web-Index, -Web-Error,
-Web-Listings) against a live server, read without a token as a browser
reads them, and with a token and X-Web-Mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer
from swift_support import SwiftAccount


@pytest.fixture(scope="module")
def site(account: SwiftAccount) -> Iterator[str]:
    with account.http() as http:
        name = f"web-{uuid.uuid4().hex[:10]}"
        settings = {
            "X-Container-Read": ".r:*,.rlistings",
            "X-Container-Meta-Web-Index": "index.html",
            "X-Container-Meta-Web-Error": "error.html",
            "X-Container-Meta-Web-Listings": "true",
        }
        assert http.put(name, headers=settings).status_code == 201
        pages = {
            "index.html": b"<h1>home</h1>",
            "404error.html": b"<h1>not here</h1>",
            "docs/index.html": b"<h1>docs</h1>",
            "docs/a.txt": b"a",
            "files/one.txt": b"one",
            "files/sub/two.txt": b"two",
        }
        for key, body in pages.items():
            assert http.put(f"{name}/{key}", content=body).status_code == 201
        yield name


@pytest.fixture
def browser(account: SwiftAccount) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=account.url + "/") as made:
        yield made


def test_index_pages_and_redirects(browser: httpx.Client, site: str) -> None:
    root = browser.get(site)
    assert root.status_code == 301
    assert root.headers["location"].endswith(f"/{site}/")
    assert browser.get(f"{site}/").content == b"<h1>home</h1>"
    assert browser.get(f"{site}/docs/").content == b"<h1>docs</h1>"
    moved = browser.get(f"{site}/docs")
    assert moved.status_code == 301
    assert moved.headers["location"].endswith(f"/{site}/docs/")
    # Objects themselves are served as they are.
    assert browser.get(f"{site}/docs/a.txt").content == b"a"


def test_listings_where_there_is_no_index(browser: httpx.Client, site: str) -> None:
    answer = browser.get(f"{site}/files/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert 'href="sub/"' in page
    assert 'href="one.txt"' in page
    assert 'href="../"' in page
    assert browser.get(f"{site}/files").status_code == 301
    assert browser.head(f"{site}/files/").status_code == 200


def test_error_page(browser: httpx.Client, site: str) -> None:
    missing = browser.get(f"{site}/nothing/here.txt")
    assert missing.status_code == 404
    assert missing.content == b"<h1>not here</h1>"
    assert browser.get(f"{site}/nothing/").status_code == 404


def test_tokens_see_the_api_unless_they_ask(account: SwiftAccount, site: str) -> None:
    with account.http() as http:
        listing = http.get(site)
        assert listing.status_code == 200
        assert "index.html" in listing.text.splitlines()
        web = http.get(f"{site}/docs/", headers={"X-Web-Mode": "true"})
        assert web.content == b"<h1>docs</h1>"


def test_a_private_container_stays_private(account: SwiftAccount, browser: httpx.Client) -> None:
    with account.http() as http:
        name = f"web-{uuid.uuid4().hex[:10]}"
        http.put(name, headers={"X-Container-Meta-Web-Index": "index.html"})
        http.put(f"{name}/index.html", content=b"secret")
    assert browser.get(f"{name}/").status_code == 401
    assert browser.get(f"{name}/index.html").status_code == 401


def test_no_listing_without_the_setting(account: SwiftAccount, browser: httpx.Client) -> None:
    with account.http() as http:
        name = f"web-{uuid.uuid4().hex[:10]}"
        settings = {
            "X-Container-Read": ".r:*,.rlistings",
            "X-Container-Meta-Web-Index": "index.html",
        }
        http.put(name, headers=settings)
        http.put(f"{name}/d/x.txt", content=b"x")
    assert browser.get(f"{name}/d/").status_code == 404
    assert browser.get(f"{name}/d").status_code == 301
    assert browser.get(f"{name}/d/x.txt").content == b"x"


def test_without_listing_rights_a_missing_path_is_refused(
    account: SwiftAccount, browser: httpx.Client
) -> None:
    with account.http() as http:
        name = f"web-{uuid.uuid4().hex[:10]}"
        settings = {"X-Container-Read": ".r:*", "X-Container-Meta-Web-Index": "index.html"}
        http.put(name, headers=settings)
        http.put(f"{name}/index.html", content=b"home")
    assert browser.get(f"{name}/").content == b"home"
    # Who may not list may not tell a missing object from a forbidden one.
    assert browser.get(f"{name}/nothing").status_code == 401


def test_info_says_so(server: LiveServer) -> None:
    assert httpx.get(f"{server.endpoint}/info").json()["staticweb"] == {}
