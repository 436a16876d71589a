"""User and group policies managed through the admin API, and their effect on S3."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from admin_support import admin_call
from botocore.exceptions import ClientError
from conftest import DOLIUM, ROOT_KEY, ROOT_SECRET, LiveServer, client, running


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def code(call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def tenant_with_users(server: LiveServer, *users: str) -> tuple[str, dict[str, Any]]:
    """A new tenant and an S3 client for each of its new users."""
    tenant = unique("pol")
    assert admin_call(server, "POST", "/tenants", {"name": tenant}).status_code == 201
    clients = {}
    for user in users:
        made = admin_call(server, "POST", f"/tenants/{tenant}/users", {"name": user})
        key = made.json()["key"]
        clients[user] = client(server, key["access_key"], key["secret_key"])
    return tenant, clients


def put(server: LiveServer, path: str, text: str) -> int:
    raw = text.encode()
    headers = {"content-type": "application/json"}
    return admin_call(server, "PUT", path, raw=raw, headers=headers).status_code


def test_user_policies_round_trip_and_restrict_the_user(server: LiveServer) -> None:
    tenant, users = tenant_with_users(server, "owner", "reader")
    owner, reader = users["owner"], users["reader"]
    shared, other = unique("pol-a-"), unique("pol-b-")
    for name in (shared, other):
        owner.create_bucket(Bucket=name)
        owner.put_object(Bucket=name, Key="k", Body=b"data")
    # Without a policy, a user has its tenant's full rights.
    assert reader.get_object(Bucket=other, Key="k")["Body"].read() == b"data"

    base = f"/tenants/{tenant}/users/reader/policies"
    text = policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{shared}/*"},
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    )
    assert put(server, f"{base}/read-shared", text) == 204
    assert admin_call(server, "GET", base).json() == ["read-shared"]
    got = admin_call(server, "GET", f"{base}/read-shared")
    assert (got.status_code, got.text) == (200, text)

    assert reader.get_object(Bucket=shared, Key="k")["Body"].read() == b"data"
    assert code(lambda: reader.get_object(Bucket=other, Key="k")) == "AccessDenied"
    assert code(lambda: reader.put_object(Bucket=shared, Key="new", Body=b"x")) == "AccessDenied"
    assert code(lambda: reader.delete_object(Bucket=shared, Key="k")) == "AccessDenied"
    assert code(lambda: reader.create_bucket(Bucket=unique("pol-c-"))) == "AccessDenied"
    assert code(reader.list_buckets) == "AccessDenied"
    # The owner is not touched by another user's policies.
    owner.delete_object(Bucket=other, Key="k")

    assert admin_call(server, "DELETE", f"{base}/read-shared").status_code == 204
    assert reader.get_object(Bucket=shared, Key="k")["Body"].read() == b"data"
    gone = admin_call(server, "DELETE", f"{base}/read-shared")
    assert (gone.status_code, gone.json()["error"]) == (404, "NoSuchPolicy")


def test_group_policies_apply_to_members(server: LiveServer) -> None:
    tenant, users = tenant_with_users(server, "owner", "dev")
    owner, dev = users["owner"], users["dev"]
    bucket = unique("pol-g-")
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="k", Body=b"data")
    deny = policy({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})
    assert put(server, f"/tenants/{tenant}/groups/devs/policies/no-reads", deny) == 204
    # Not yet a member: unaffected.
    assert dev.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    members = {"members": [f"{tenant}:dev"]}
    assert admin_call(server, "PUT", f"/tenants/{tenant}/groups/devs", members).status_code == 204
    assert code(lambda: dev.get_object(Bucket=bucket, Key="k")) == "AccessDenied"
    assert owner.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    listed = admin_call(server, "GET", f"/tenants/{tenant}/groups/devs/policies")
    assert listed.json() == ["no-reads"]
    assert (
        admin_call(server, "GET", f"/tenants/{tenant}/groups/devs/policies/no-reads").text == deny
    )


def test_bad_documents_and_names_are_refused(server: LiveServer) -> None:
    tenant, _ = tenant_with_users(server, "u")
    base = f"/tenants/{tenant}/users/u/policies"
    for text in (
        "not json",
        "{}",
        policy({"Effect": "Allow", "Action": "s3:Nope", "Resource": "*"}),
    ):
        refused = admin_call(server, "PUT", f"{base}/p", raw=text.encode())
        assert (refused.status_code, refused.json()["error"]) == (400, "MalformedPolicy"), text
    bad_name = admin_call(server, "PUT", f"{base}/has%20space", raw=policy().encode())
    assert bad_name.status_code == 400
    missing = admin_call(server, "GET", f"/tenants/{tenant}/users/nobody/policies")
    assert (missing.status_code, missing.json()["error"]) == (404, "NoSuchUser")
    none = admin_call(server, "GET", f"{base}/absent")
    assert (none.status_code, none.json()["error"]) == (404, "NoSuchPolicy")


def test_a_user_with_keys_or_policies_is_not_deleted(server: LiveServer) -> None:
    tenant, _ = tenant_with_users(server, "u")
    refused = admin_call(server, "DELETE", f"/tenants/{tenant}/users/u")
    assert (refused.status_code, refused.json()["error"]) == (409, "UserNotEmpty")


def test_a_policy_change_reaches_every_worker_at_once(tmp_path: Path) -> None:
    with running(tmp_path / "data", {"DOLIUM_WORKERS": "2"}) as live:
        tenant, users = tenant_with_users(live, "owner", "dev")
        made = admin_call(live, "POST", f"/tenants/{tenant}/users", {"name": "dev2"})
        key = made.json()["key"]
        bucket = unique("pol-w-")
        users["owner"].create_bucket(Bucket=bucket)
        users["owner"].put_object(Bucket=bucket, Key="k", Body=b"data")

        def reads() -> list[bool]:
            # Fresh clients: new connections, spread over both processes.
            results = []
            for _ in range(8):
                fresh = client(live, key["access_key"], key["secret_key"])
                try:
                    fresh.get_object(Bucket=bucket, Key="k")
                    results.append(True)
                except ClientError:
                    results.append(False)
            return results

        assert all(reads())  # every process has cached the principal now
        path = f"/tenants/{tenant}/users/dev2/policies/deny"
        deny = policy({"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})
        assert put(live, path, deny) == 204
        assert not any(reads())
        assert admin_call(live, "DELETE", path).status_code == 204
        assert all(reads())


def run_policy(server: LiveServer, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOLIUM, "admin", "policy", *args, "--endpoint", server.endpoint,
         "--access-key", ROOT_KEY, "--secret-key", ROOT_SECRET],
        input=stdin, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_cli_manages_user_and_group_policies(server: LiveServer) -> None:
    tenant, _ = tenant_with_users(server, "u")
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}  # fmt: skip
    put = run_policy(server, "put", f"{tenant}:u", "no-list", "-", stdin=json.dumps(deny))
    assert put.returncode == 0, put.stderr
    listed = run_policy(server, "list", f"{tenant}:u", "--json")
    assert json.loads(listed.stdout) == [{"policy": "no-list"}]
    shown = run_policy(server, "show", f"{tenant}:u", "no-list")
    assert json.loads(shown.stdout) == deny
    group = run_policy(server, "put", f"{tenant}:devs", "g", "-", "--group", stdin=json.dumps(deny))
    assert group.returncode == 0, group.stderr
    assert "g" in run_policy(server, "list", f"{tenant}:devs", "--group").stdout
    bad = run_policy(server, "put", f"{tenant}:u", "bad", "-", stdin='{"Statement": []}')
    assert bad.returncode == 1 and "MalformedPolicy" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run_policy(server, "delete", f"{tenant}:u", "no-list").returncode == 0
    missing = run_policy(server, "delete", f"{tenant}:u", "no-list")
    assert missing.returncode == 1 and "NoSuchPolicy" in missing.stderr


def test_the_cli_deletes_a_user_once_it_holds_nothing(server: LiveServer) -> None:
    tenant, _ = tenant_with_users(server, "u")
    admin = [DOLIUM, "admin", "user", "delete", f"{tenant}:u", "--endpoint", server.endpoint,
             "--access-key", ROOT_KEY, "--secret-key", ROOT_SECRET]  # fmt: skip
    refused = subprocess.run(admin, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "UserNotEmpty" in refused.stderr
    assert "access keys" in refused.stderr
    for key in admin_call(server, "GET", f"/keys?tenant={tenant}").json():
        admin_call(server, "DELETE", f"/keys/{key['access_key']}")
    # Revoked keys sign nothing: they go with the user.
    deleted = subprocess.run(admin, capture_output=True, text=True, check=False)
    assert deleted.returncode == 0, deleted.stderr
    assert admin_call(server, "GET", f"/keys?tenant={tenant}").json() == []
    gone = admin_call(server, "GET", f"/tenants/{tenant}/users/u")
    assert (gone.status_code, gone.json()["error"]) == (404, "NoSuchUser")


def test_across_tenants_the_bucket_and_the_user_policy_must_both_allow(
    server: LiveServer,
) -> None:
    _, owners = tenant_with_users(server, "owner")
    reader_tenant, readers = tenant_with_users(server, "reader")
    owner, reader = owners["owner"], readers["reader"]
    bucket = unique("pol-x-")
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="k", Body=b"data")
    owner.put_bucket_policy(
        Bucket=bucket,
        Policy=policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{reader_tenant}:user/reader"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ),
    )
    # Ungoverned: the bucket policy alone suffices, as before.
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    path = f"/tenants/{reader_tenant}/users/reader/policies/p"
    own_only = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::mine/*"})
    assert put(server, path, own_only) == 204
    assert code(lambda: reader.get_object(Bucket=bucket, Key="k")) == "AccessDenied"
    theirs = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert put(server, path, theirs) == 204
    assert reader.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    owner.delete_bucket_policy(Bucket=bucket)
    assert code(lambda: reader.get_object(Bucket=bucket, Key="k")) == "AccessDenied"
