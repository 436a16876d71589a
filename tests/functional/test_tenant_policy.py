"""A tenant's default storage policy: set by an operator (admin API, `dolium admin
tenant policy`), taken by the tenant's new buckets whose creation names none,
through S3 and Swift alike; a policy named at creation still wins, and the
tenant's owner can neither see nor change it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from admin_support import admin_call, run_admin
from conftest import LiveServer, client, running
from swift_support import SwiftAccount


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("tenant-policy")
    config = tmp / "dolium.toml"
    config.write_text(
        f'[blob.cold]\nuse = "fs"\noptions = {{ root = "{tmp / "cold"}" }}\n'
        '[policy.archive]\nmodules = ["compress"]\nblob = "cold"\n'
    )
    with running(tmp / "data", {"DOLIUM_CONFIG": str(config)}) as server:
        yield server


def new_account(server: LiveServer) -> SwiftAccount:
    """A fresh tenant and its admin user, made through the admin API (quicker
    than a CLI process per call)."""
    tenant = f"tp{uuid.uuid4().hex[:10]}"
    key, secret = "DK" + uuid.uuid4().hex[:18].upper(), f"secret-{uuid.uuid4().hex}"
    assert admin_call(server, "POST", "/tenants", {"name": tenant}).status_code == 201
    user = {"name": "owner", "admin": True, "access_key": key, "secret_key": secret}
    assert admin_call(server, "POST", f"/tenants/{tenant}/users", user).status_code == 201
    return SwiftAccount(server, tenant, "owner", key, secret)


def bucket_policy(server: LiveServer, name: str) -> str:
    found = admin_call(server, "GET", f"/buckets/{name}")
    assert found.status_code == 200, found.text
    return str(found.json()["policy"])


def s3_of(account: SwiftAccount, policy: str | None = None) -> Any:
    """An S3 client of the account's user, naming `policy` when it creates buckets."""
    s3 = client(account.server, account.access_key, account.secret)
    if policy is not None:

        def choose(request: Any, **_: Any) -> None:
            request.headers["x-dolium-storage-policy"] = policy

        s3.meta.events.register("before-sign.s3.CreateBucket", choose)
    return s3


def test_the_admin_api_sets_a_tenants_policy_and_refuses_unknown_ones(live: LiveServer) -> None:
    account = new_account(live)
    path = f"/tenants/{account.tenant}/policy"
    assert admin_call(live, "GET", f"/tenants/{account.tenant}").json()["policy"] is None
    unknown = admin_call(live, "PUT", path, {"policy": "gold"})
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "NoSuchPolicy"
    assert "'gold'" in unknown.json()["message"]
    nobody = admin_call(live, "PUT", "/tenants/nobody-here/policy", {"policy": "archive"})
    assert nobody.status_code == 404
    set_ = admin_call(live, "PUT", path, {"policy": "archive"})
    assert set_.status_code == 200 and set_.json() == {"policy": "archive"}
    assert admin_call(live, "GET", f"/tenants/{account.tenant}").json()["policy"] == "archive"
    # Only administrators: the tenant's own admin user is refused.
    own = admin_call(live, "PUT", path, {"policy": "standard"}, key=account.access_key,
                     secret=account.secret)  # fmt: skip
    assert own.status_code == 403
    removed = admin_call(live, "DELETE", path)
    assert removed.status_code == 200 and removed.json() == {"policy": None}
    assert admin_call(live, "GET", f"/tenants/{account.tenant}").json()["policy"] is None


def test_new_buckets_and_containers_take_it_unless_they_name_one(live: LiveServer) -> None:
    account = new_account(live)
    other = new_account(live)
    assert admin_call(live, "PUT", f"/tenants/{account.tenant}/policy",
                      {"policy": "archive"}).status_code == 200  # fmt: skip
    suffix = uuid.uuid4().hex[:10]
    s3_of(account).create_bucket(Bucket=f"plain-{suffix}")
    s3_of(account, "standard").create_bucket(Bucket=f"named-{suffix}")
    s3_of(other).create_bucket(Bucket=f"others-{suffix}")
    assert bucket_policy(live, f"plain-{suffix}") == "archive"
    assert bucket_policy(live, f"named-{suffix}") == "standard"
    assert bucket_policy(live, f"others-{suffix}") == "standard"

    swift = account.connection()
    try:
        swift.put_container(f"box-{suffix}")
        assert swift.head_container(f"box-{suffix}")["x-storage-policy"] == "archive"
        swift.put_container(f"std-{suffix}", headers={"X-Storage-Policy": "standard"})
        assert swift.head_container(f"std-{suffix}")["x-storage-policy"] == "standard"
        # Data goes through the policy: a round trip in the archive bucket.
        s3_of(account).put_object(Bucket=f"plain-{suffix}", Key="k", Body=b"x" * 5000)
        body = s3_of(account).get_object(Bucket=f"plain-{suffix}", Key="k")["Body"].read()
        assert body == b"x" * 5000
    finally:
        swift.close()

    # Removed, the server's default applies again.
    assert admin_call(live, "DELETE", f"/tenants/{account.tenant}/policy").status_code == 200
    s3_of(account).create_bucket(Bucket=f"after-{suffix}")
    assert bucket_policy(live, f"after-{suffix}") == "standard"


def test_the_owner_can_neither_see_nor_change_it(live: LiveServer) -> None:
    account = new_account(live)
    admin_call(live, "PUT", f"/tenants/{account.tenant}/policy", {"policy": "archive"})
    swift = account.connection()
    try:
        headers = swift.head_account()
        assert not [h for h in headers if "policy" in h.lower() or "dolium" in h.lower()]
        # The nearest names a header can spell are the owner's own metadata.
        swift.post_account(
            {"X-Account-Meta-Dolium-Policy": "standard", "X-Remove-Account-Meta-Dolium": "x"}
        )
        headers = swift.head_account()
        assert headers["x-account-meta-dolium-policy"] == "standard"
        assert not [h for h in headers if h.lower().startswith("x-account-meta-dolium:")]
        swift.put_container("still-archive")
        assert swift.head_container("still-archive")["x-storage-policy"] == "archive"
    finally:
        swift.close()
    assert admin_call(live, "GET", f"/tenants/{account.tenant}").json()["policy"] == "archive"


def test_dolium_admin_tenant_policy(live: LiveServer) -> None:
    account = new_account(live)
    done = run_admin(live, "tenant", "policy", account.tenant, "archive", check=True)
    assert done.stdout.strip() == f"tenant {account.tenant}: storage policy archive"
    assert admin_call(live, "GET", f"/tenants/{account.tenant}").json()["policy"] == "archive"
    refused = run_admin(live, "tenant", "policy", account.tenant, "gold")
    assert refused.returncode == 1
    assert "no storage policy 'gold'" in refused.stderr and "Traceback" not in refused.stderr
    unset = run_admin(live, "tenant", "policy", account.tenant, "--unset", check=True)
    assert unset.stdout.strip() == (f"tenant {account.tenant}: storage policy (the server default)")
