"""Signed calls to the admin API, as an administrator or anyone else."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import DOLIUM, ROOT_KEY, ROOT_SECRET, LiveServer


def admin_call(
    server: LiveServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str = ROOT_KEY,
    secret: str = ROOT_SECRET,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """`method` /admin`path`, signed by botocore (an independent SigV4 signer)."""
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    url = f"{server.endpoint}/admin{path}"
    extra = dict(headers or {})
    if body is not None:
        extra.setdefault("content-type", "application/json")
    request = AWSRequest(method=method, url=url, data=data, headers=extra)
    S3SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    return httpx.request(method, url, content=data, headers=dict(request.headers.items()))


def run_admin(
    server: LiveServer, *args: str, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """`dolium admin ARGS` against the server, as its administrator."""
    return subprocess.run(
        [
            DOLIUM,
            "admin",
            *args,
            "--endpoint",
            server.endpoint,
            "--access-key",
            ROOT_KEY,
            "--secret-key",
            ROOT_SECRET,
        ],
        capture_output=True,
        text=True,
        check=check,
    )
