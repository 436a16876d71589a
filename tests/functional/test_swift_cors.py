"""CORS on Swift paths from container metadata
(X-Container-Meta-Access-Control-Allow-Origin, -Max-Age, -Expose-Headers)
against a live server: preflight OPTIONS and actual requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from swift_support import SwiftAccount

SITE = "https://app.example.com"


@pytest.fixture(scope="module")
def box(account: SwiftAccount) -> Iterator[str]:
    with account.http() as http:
        name = f"cors-{uuid.uuid4().hex[:10]}"
        settings = {
            "X-Container-Meta-Access-Control-Allow-Origin": f"{SITE} https://other.example.com",
            "X-Container-Meta-Access-Control-Max-Age": "600",
            "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom, Content-Length",
        }
        assert http.put(name, headers=settings).status_code == 201
        headers = {"X-Object-Meta-Color": "red"}
        assert http.put(f"{name}/o", content=b"data", headers=headers).status_code == 201
        yield name


def preflight(account: SwiftAccount, path: str, origin: str | None, method: str) -> httpx.Response:
    headers = {"Access-Control-Request-Method": method}
    if origin is not None:
        headers["Origin"] = origin
    headers["Access-Control-Request-Headers"] = "x-auth-token, content-type"
    return httpx.options(f"{account.url}/{path}", headers=headers)


def test_preflight_of_an_allowed_origin(account: SwiftAccount, box: str) -> None:
    answer = preflight(account, f"{box}/o", SITE, "PUT")
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SITE
    assert "PUT" in answer.headers["access-control-allow-methods"].split(", ")
    assert answer.headers["access-control-allow-headers"] == "x-auth-token, content-type"
    assert answer.headers["access-control-max-age"] == "600"
    on_container = preflight(account, box, "https://other.example.com", "GET")
    assert on_container.status_code == 200
    assert on_container.headers["access-control-allow-origin"] == "https://other.example.com"


def test_preflight_refused(account: SwiftAccount, box: str) -> None:
    assert preflight(account, f"{box}/o", "https://evil.example.com", "GET").status_code == 401
    assert preflight(account, f"{box}/o", SITE, "BREW").status_code == 401
    assert preflight(account, "no-such-container/o", SITE, "GET").status_code == 401
    plain = preflight(account, f"{box}/o", None, "GET")
    assert plain.status_code == 200
    assert "GET" in plain.headers["allow"]
    assert "access-control-allow-origin" not in plain.headers


def test_actual_requests(account: SwiftAccount, box: str) -> None:
    with account.http() as http:
        got = http.get(f"{box}/o", headers={"Origin": SITE})
        assert got.status_code == 200
        assert got.headers["access-control-allow-origin"] == SITE
        exposed = got.headers["access-control-expose-headers"].split(", ")
        assert {"etag", "x-object-meta-color", "x-custom", "content-length"} <= set(exposed)
        # Errors carry them too, so a script can read the status.
        missing = http.get(f"{box}/missing", headers={"Origin": SITE})
        assert missing.status_code == 404
        assert missing.headers["access-control-allow-origin"] == SITE
        other = http.get(f"{box}/o", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        assert "access-control-allow-origin" not in http.get(f"{box}/o").headers


def test_any_origin(account: SwiftAccount) -> None:
    with account.http() as http:
        name = f"cors-{uuid.uuid4().hex[:10]}"
        http.put(name, headers={"X-Container-Meta-Access-Control-Allow-Origin": "*"})
        http.put(f"{name}/o", content=b"x")
        answer = preflight(account, f"{name}/o", "https://anywhere.example", "GET")
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        got = http.get(f"{name}/o", headers={"Origin": "https://anywhere.example"})
        assert got.headers["access-control-allow-origin"] == "*"
        # Without the setting, nothing is allowed.
        http.post(name, headers={"X-Remove-Container-Meta-Access-Control-Allow-Origin": "1"})
        assert preflight(account, f"{name}/o", "https://anywhere.example", "GET").status_code == 401
