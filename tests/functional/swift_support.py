"""Swift accounts on the live server, and clients of them: raw HTTP and swiftclient."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from conftest import LiveServer
from swiftclient.client import Connection
from swiftclient.service import SwiftService


@dataclass
class SwiftAccount:
    server: LiveServer
    tenant: str
    user: str
    access_key: str
    secret: str

    @property
    def auth_url(self) -> str:
        return f"{self.server.endpoint}/auth/v1.0"

    @property
    def url(self) -> str:
        return f"{self.server.endpoint}/v1/AUTH_{self.tenant}"

    def login(self) -> tuple[str, str]:
        """(storage URL, token) from /auth/v1.0."""
        answer = httpx.get(
            self.auth_url,
            headers={"X-Auth-User": f"{self.tenant}:{self.user}", "X-Auth-Key": self.secret},
        )
        assert answer.status_code == 200, answer.text
        return answer.headers["x-storage-url"], answer.headers["x-auth-token"]

    def http(self) -> httpx.Client:
        """httpx on the storage URL, sending a fresh token."""
        _, token = self.login()
        return httpx.Client(base_url=self.url + "/", headers={"X-Auth-Token": token})

    def service(self, **options: Any) -> Any:
        """swiftclient's SwiftService (what the `swift` command runs) on this account."""
        return SwiftService(
            options={
                "auth": self.auth_url,
                "user": f"{self.tenant}:{self.user}",
                "key": self.secret,
                "auth_version": "1.0",
                "retries": 0,
                **options,
            }
        )

    def connection(self) -> Any:
        return Connection(
            authurl=self.auth_url,
            user=f"{self.tenant}:{self.user}",
            key=self.secret,
            retries=0,
        )


def new_account(server: LiveServer, *, admin: bool = True) -> SwiftAccount:
    """A fresh tenant with one user (its admin unless told otherwise) and a key."""
    tenant = f"sw{uuid.uuid4().hex[:10]}"
    server.admin("tenant", "create", tenant)
    return add_user(server, tenant, "owner", admin=admin)


def add_user(server: LiveServer, tenant: str, user: str, *, admin: bool) -> SwiftAccount:
    access_key = "DK" + uuid.uuid4().hex[:18].upper()
    secret = f"secret-{uuid.uuid4().hex}"
    args = ["user", "create", f"{tenant}:{user}", "--access-key", access_key]
    args += ["--secret-key", secret]
    if admin:
        args.append("--admin")
    server.admin(*args)
    return SwiftAccount(server, tenant, user, access_key, secret)
