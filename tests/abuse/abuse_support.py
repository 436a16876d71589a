"""Helpers for the abuse tests: raw HTTP exchanges, SigV4-signed requests."""

from __future__ import annotations

import contextlib
import http.client
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support.live import ROOT_KEY, ROOT_SECRET, client


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def signed(
    server: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Reply:
    """A request signed with SigV4 as boto3 signs it, sent with `path` exactly as given."""
    url = f"{server.endpoint}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    credentials = Credentials(ROOT_KEY, ROOT_SECRET)
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=dict(request.headers.items()))
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def presigned_path(server: Any, method: str, bucket: str, key: str) -> str:
    """Path and query of a query-signed URL (its payload is UNSIGNED-PAYLOAD)."""
    s3 = client(server, signature_version="s3v4")
    url = s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def exchange(server: Any, data: bytes, idle: float = 2.0) -> bytes:
    """Send `data` on a fresh connection; what comes back until the server
    closes it, or stays silent for `idle` seconds (a kept-alive connection).

    The connection is not half-closed: uvicorn takes that for a client gone
    and drops what it was answering. A reset counts as a close: a server may
    reset a connection whose request it refused before reading all of it.
    """
    with socket.create_connection((server.host, server.port), timeout=idle) as sock:
        with contextlib.suppress(OSError):  # closed on us mid-send: read what it said
            sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
    return received


def statuses(received: bytes) -> list[int]:
    """The status codes of the HTTP/1.1 responses found in a raw byte stream."""
    found = []
    for line in received.split(b"\r\n"):
        if line.startswith(b"HTTP/1.1 ") and line[9:12].isdigit():
            found.append(int(line[9:12]))
    return found


def error_code(body: bytes) -> str:
    start = body.find(b"<Code>")
    end = body.find(b"</Code>")
    return body[start + 6 : end].decode() if 0 <= start < end else ""
