"""A client of the admin API: signed JSON requests to one server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from dolium.client.sigv4 import sign


class AdminError(Exception):
    """The server refused a request: its status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AdminClient:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    timeout: float = 30.0

    def call(self, method: str, path: str, body: object = None, **query: str | None) -> Any:
        """One request to /admin + `path` (its parts quoted by the caller via `part`);
        the JSON answer."""
        response = self._send(method, path, body, query)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def call_text(self, method: str, path: str, **query: str | None) -> str:
        """One request whose answer is text (a key, a signed note)."""
        return self._send(method, path, None, query).text

    def _send(
        self, method: str, path: str, body: object, query: dict[str, str | None]
    ) -> httpx.Response:
        url = self.endpoint.rstrip("/") + "/admin" + path
        params = {k: v for k, v in query.items() if v is not None}
        if params:
            url += "?" + urlencode(sorted(params.items()), quote_via=quote)
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if body is not None else {}
        signed = sign(
            method, url, headers, data,
            access_key=self.access_key, secret_key=self.secret_key, region=self.region,
        )  # fmt: skip
        try:
            response = httpx.request(
                method, url, content=data, headers=signed, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise AdminError(0, "", f"cannot reach {self.endpoint}: {exc}") from exc
        if response.status_code >= 400:
            try:
                error = response.json()
                raise AdminError(response.status_code, error["error"], error["message"])
            except (ValueError, KeyError, TypeError):
                raise AdminError(response.status_code, "", response.text[:200]) from None
        return response


def part(value: str) -> str:
    """One path segment, quoted."""
    return quote(value, safe="")
