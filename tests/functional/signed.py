"""Raw HTTP requests signed with botocore's SigV4 signer, for what SDKs will not send."""

from __future__ import annotations

import base64
import hashlib

import httpx
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from conftest import ROOT_KEY, ROOT_SECRET
from defusedxml import ElementTree

ROOT = Credentials(ROOT_KEY, ROOT_SECRET)


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    credentials: Credentials = ROOT,
) -> httpx.Response:
    """Send `method url` with `body` and `headers`, all of them signed."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return httpx.request(method, url, content=body, headers=dict(request.headers.items()))


def error_fields(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """Check an S3 error answer; return the fields of its XML body."""
    assert response.status_code == status, response.text
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    fields = {child.tag: child.text or "" for child in root}
    assert fields["Code"] == code, fields
    return fields
