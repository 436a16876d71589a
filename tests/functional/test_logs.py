"""Structured logs: JSON lines, an access record per request, and no secrets in them."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from conftest import ROOT_SECRET, LiveServer, client, own_server

logged = own_server(
    "logged", {"DOLIUM_LOG_FORMAT": "json", "DOLIUM_ACCESS_LOG": "true", "DOLIUM_WORKERS": "2"}
)


def records(server: LiveServer) -> list[dict[str, Any]]:
    lines = server.log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_every_record_is_json_and_requests_are_logged_without_secrets(
    logged: LiveServer,
) -> None:
    s3 = client(logged, signature_version="s3v4")
    s3.create_bucket(Bucket="logged-bucket")
    put = s3.put_object(Bucket="logged-bucket", Key="a b.txt", Body=b"12345")
    request_id = put["ResponseMetadata"]["RequestId"]
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "logged-bucket", "Key": "a b.txt"}, ExpiresIn=60
    )
    assert httpx.get(url).status_code == 200
    login = httpx.get(
        f"{logged.endpoint}/auth/v1.0",
        headers={"X-Auth-User": "root:root", "X-Auth-Key": ROOT_SECRET},
    )
    token = login.headers["x-auth-token"]
    listing = httpx.get(login.headers["x-storage-url"], headers={"X-Auth-Token": token})
    assert listing.status_code == 200
    signature = url.split("X-Amz-Signature=")[1].split("&")[0]

    deadline = time.monotonic() + 10
    while True:
        access = [r for r in records(logged) if r["logger"] == "dolium.access"]
        if len(access) >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    text = logged.log.read_text()
    # What travels in queries and headers never reaches the log.
    for secret in (signature, token, ROOT_SECRET):
        assert secret not in text
    assert "X-Amz-Signature" not in text and "X-Amz-Credential" not in text

    mine = [r for r in access if r["request_id"] == request_id]
    assert len(mine) == 1
    (put_record,) = mine
    assert put_record["api"] == "s3" and put_record["operation"] == "PutObject"
    assert put_record["method"] == "PUT" and put_record["status"] == 200
    assert put_record["path"] == "/logged-bucket/a b.txt"
    assert put_record["received"] == 5
    assert put_record["caller"] == "root:root"
    assert put_record["level"] == "info" and put_record["time"].endswith("Z")
    presigned = [r for r in access if r["operation"] == "GetObject"]
    assert presigned and presigned[0]["sent"] == 5
    swift = [r for r in access if r["api"] == "swift" and r["operation"] == "GET account"]
    assert swift and swift[0]["caller"] == "root:root" and swift[0]["request_id"].startswith("tx")
    # The server's own records are JSON too (uvicorn's start-up included).
    assert any(r["logger"].startswith("uvicorn") for r in records(logged))
