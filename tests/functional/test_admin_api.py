"""The admin API over HTTP: who may call it, and what it manages."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import httpx
import pytest
from admin_support import admin_call, run_admin
from botocore.exceptions import ClientError
from conftest import DOLIUM, OTHER_KEY, OTHER_SECRET, LiveServer, client


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_unsigned_requests_are_refused(server: LiveServer) -> None:
    response = httpx.get(f"{server.endpoint}/admin/tenants")
    assert response.status_code == 401
    assert response.json()["error"] == "MissingAuthentication"


def test_a_tenant_user_is_not_an_administrator(server: LiveServer) -> None:
    response = admin_call(server, "GET", "/tenants", key=OTHER_KEY, secret=OTHER_SECRET)
    assert response.status_code == 403
    assert response.json()["error"] == "AccessDenied"


def test_a_wrong_secret_is_refused(server: LiveServer) -> None:
    response = admin_call(server, "GET", "/tenants", secret="not-the-secret-at-all-000000000")
    assert response.status_code == 403
    assert response.json()["error"] == "SignatureDoesNotMatch"


def test_a_body_that_does_not_match_its_signature_is_refused(server: LiveServer) -> None:
    body = json.dumps({"name": unique("t")}).encode()
    signed = admin_call(
        server, "POST", "/tenants", raw=body, headers={"content-type": "application/json"}
    )
    assert signed.status_code == 201  # the same request, untouched, is accepted
    tampered = {**dict(signed.request.headers), "content-length": str(len(body))}
    forged = body.replace(b'"name": "t', b'"name": "x')
    response = httpx.post(f"{server.endpoint}/admin/tenants", content=forged, headers=tampered)
    assert response.status_code == 400
    assert response.json()["error"] == "XAmzContentSHA256Mismatch"


def test_an_oversized_body_is_refused_before_it_is_read(server: LiveServer) -> None:
    response = admin_call(server, "POST", "/tenants", raw=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert response.status_code == 413


def test_an_invalid_document_is_a_400_naming_the_field(server: LiveServer) -> None:
    response = admin_call(server, "POST", "/tenants", {"name": "Not A Name"})
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidArgument"
    assert "name" in response.json()["message"]
    unknown = admin_call(server, "POST", "/tenants", {"name": unique("t"), "colour": "red"})
    assert unknown.status_code == 400


def test_tenants_users_and_keys_round_trip(server: LiveServer) -> None:
    tenant = unique("acme")
    made = admin_call(server, "POST", "/tenants", {"name": tenant, "email": "ops@example.com"})
    assert made.status_code == 201
    assert made.json()["name"] == tenant
    again = admin_call(server, "POST", "/tenants", {"name": tenant})
    assert (again.status_code, again.json()["error"]) == (409, "TenantExists")
    names = [t["name"] for t in admin_call(server, "GET", "/tenants").json()]
    assert tenant in names

    user = admin_call(server, "POST", f"/tenants/{tenant}/users", {"name": "alice"})
    assert user.status_code == 201
    key = user.json()["key"]
    assert key["secret_key"]
    # The key works on the S3 API at once, and is listed without its secret.
    s3 = client(server, key["access_key"], key["secret_key"])
    bucket = unique("adm-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    listed = admin_call(server, "GET", "/keys", None).json()
    mine = [k for k in listed if k["access_key"] == key["access_key"]]
    assert mine and mine[0]["secret_key"] is None

    shown = admin_call(server, "GET", f"/tenants/{tenant}").json()
    assert shown["usage"] == {"bytes": 5, "objects": 1}
    buckets = admin_call(server, "GET", "/buckets?owner=" + tenant).json()
    assert [(b["name"], b["owner"], b["usage"]["objects"]) for b in buckets] == [
        (bucket, tenant, 1)
    ]
    # A tenant that owns a bucket stays.
    refused = admin_call(server, "DELETE", f"/tenants/{tenant}")
    assert (refused.status_code, refused.json()["error"]) == (409, "TenantNotEmpty")

    revoked = admin_call(server, "DELETE", f"/keys/{key['access_key']}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_missing_things_are_404s(server: LiveServer) -> None:
    for path in ("/tenants/nobody-here", "/buckets/no-such-bucket-here", "/tenants/root/users/zz"):
        response = admin_call(server, "GET", path)
        assert response.status_code == 404, path
    assert admin_call(server, "DELETE", "/keys/NOSUCHKEY").status_code == 404


def test_a_bucket_moves_only_to_a_configured_policy(server: LiveServer, s3: Any) -> None:
    bucket = unique("pol-")
    s3.create_bucket(Bucket=bucket)
    try:
        refused = admin_call(server, "PUT", f"/buckets/{bucket}/policy", {"policy": "nowhere"})
        assert (refused.status_code, refused.json()["error"]) == (404, "NoSuchPolicy")
        assert "nowhere" in refused.json()["message"]
        same = admin_call(server, "PUT", f"/buckets/{bucket}/policy", {"policy": "standard"})
        assert same.json()["policy"] == "standard"
        policies = admin_call(server, "GET", "/policies").json()
        assert [p["policy"] for p in policies] == ["standard"]
        assert "durable" in policies[0]["capabilities"]
    finally:
        s3.delete_bucket(Bucket=bucket)


def test_groups_are_set_listed_and_removed(server: LiveServer) -> None:
    path = "/tenants/other/groups"
    assert (
        admin_call(server, "PUT", f"{path}/team", {"members": ["other:alice", "root"]}).status_code
        == 204
    )
    assert admin_call(server, "GET", path).json()["team"] == ["other:alice", "root"]
    bad = admin_call(server, "PUT", f"{path}/team", {"members": ["Not Valid"]})
    assert bad.status_code == 400
    assert admin_call(server, "PUT", f"{path}/team", {"members": []}).status_code == 204
    assert "team" not in admin_call(server, "GET", path).json()


def test_status_and_usage(server: LiveServer) -> None:
    status = admin_call(server, "GET", "/status").json()
    assert status["ready"] is True
    assert {c["name"] for c in status["checks"]} == {"meta", "blob"}
    usage = admin_call(server, "GET", "/usage").json()
    assert "root" in usage and set(usage["root"]) == {"bytes", "objects"}


def test_the_openapi_document_describes_every_route(server: LiveServer) -> None:
    document = httpx.get(f"{server.endpoint}/admin/openapi.json").json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/admin/tenants", "/admin/tenants/{tenant}/users", "/admin/keys/{access_key}",
                 "/admin/buckets/{bucket}/policy", "/admin/status"):  # fmt: skip
        assert path in paths


def test_reserved_names_cannot_be_buckets(s3: Any) -> None:
    for name in ("admin", "metrics", "health"):
        with pytest.raises(ClientError) as caught:
            s3.create_bucket(Bucket=name)
        assert caught.value.response["Error"]["Code"] == "InvalidBucketName"


def test_the_cli_drives_a_remote_server(server: LiveServer) -> None:
    tenant = unique("cli")
    made = run_admin(server, "tenant", "create", tenant, "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["name"] == tenant
    user = run_admin(server, "user", "create", f"{tenant}:bob", "--json")
    assert user.returncode == 0, user.stderr
    key = json.loads(user.stdout)["key"]
    listed = run_admin(server, "key", "list", "--tenant", tenant, "--json")
    assert [k["access_key"] for k in json.loads(listed.stdout)] == [key["access_key"]]
    table = run_admin(server, "tenant", "list")
    assert tenant in table.stdout and "CANONICAL ID" in table.stdout
    missing = run_admin(server, "tenant", "delete", "no-such-tenant-here")
    assert missing.returncode == 1
    assert "NoSuchTenant" in missing.stderr and "Traceback" not in missing.stderr


def test_the_cli_refuses_a_non_administrator(server: LiveServer) -> None:
    result = subprocess.run(
        [
            DOLIUM,
            "admin",
            "tenant",
            "list",
            "--endpoint",
            server.endpoint,
            "--access-key",
            OTHER_KEY,
            "--secret-key",
            OTHER_SECRET,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "AccessDenied" in result.stderr


def wait_for_report(server: LiveServer, job: str, after: float) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        last = admin_call(server, "GET", "/jobs").json()[job]["last"]
        if last is not None and last["ended"] > after:
            report: dict[str, Any] = last
            return report
        time.sleep(0.2)
    raise AssertionError(f"no {job} report after {after}")


def test_jobs_are_started_and_report(server: LiveServer, s3: Any) -> None:
    jobs = admin_call(server, "GET", "/jobs").json()
    assert set(jobs) == {"gc", "scrub"}
    before = time.time()
    started = admin_call(server, "POST", "/jobs/gc")
    assert started.status_code == 202 and started.json()["running"] is True
    report = wait_for_report(server, "gc", before)
    assert {"candidates", "deleted", "failed"} <= set(report)
    bucket = unique("scrub-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"s" * 100_000)
    assert admin_call(server, "POST", "/jobs/scrub").status_code == 202
    scrubbed = wait_for_report(server, "scrub", before)
    assert scrubbed["blocks"] >= 1 and scrubbed["lost"] == 0
    text = httpx.get(f"{server.endpoint}/metrics").text
    assert 'dolium_job_last_report{job="scrub",name="blocks"}' in text
    assert 'dolium_job_last_end_timestamp_seconds{job="gc"}' in text
    missing = admin_call(server, "POST", "/jobs/defragment")
    assert (missing.status_code, missing.json()["error"]) == (404, "NoSuchJob")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
