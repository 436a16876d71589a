"""The IAM API's user calls on the S3 endpoint, driven by boto3's `iam` client."""

from __future__ import annotations

import atexit
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from admin_support import admin_call
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import ROOT_KEY, ROOT_SECRET, LiveServer, client

# Kept until the tests end, as conftest keeps its S3 clients (a client
# collected mid-run closes its sockets as a ResourceWarning in another test).
_CLIENTS: list[Any] = []
atexit.register(lambda: [made.close() for made in _CLIENTS])


def iam(server: LiveServer, key: str = ROOT_KEY, secret: str = ROOT_SECRET) -> Any:
    made = boto3.client(
        "iam",
        endpoint_url=server.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}),
    )
    _CLIENTS.append(made)
    return made


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def error(call: Callable[[], object]) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return int(response["ResponseMetadata"]["HTTPStatusCode"]), str(response["Error"]["Code"])


@pytest.fixture(scope="module")
def tenant_admin(server: LiveServer) -> tuple[str, Any, Any]:
    """A new tenant, its admin user's IAM and S3 clients."""
    tenant = unique("iam")
    assert admin_call(server, "POST", "/tenants", {"name": tenant}).status_code == 201
    made = admin_call(server, "POST", f"/tenants/{tenant}/users", {"name": "boss", "admin": True})
    key = made.json()["key"]
    return (
        tenant,
        iam(server, key["access_key"], key["secret_key"]),
        client(server, key["access_key"], key["secret_key"]),
    )


def test_a_policy_restricts_a_user_made_through_iam(
    server: LiveServer, tenant_admin: tuple[str, Any, Any]
) -> None:
    tenant, admin, boss_s3 = tenant_admin
    shared, other = unique("iam-a-"), unique("iam-b-")
    for name in (shared, other):
        boss_s3.create_bucket(Bucket=name)
        boss_s3.put_object(Bucket=name, Key="k", Body=b"data")

    user = admin.create_user(UserName="reader")["User"]
    assert user["UserName"] == "reader"
    assert user["Arn"] == f"arn:aws:iam::{tenant}:user/reader"
    key = admin.create_access_key(UserName="reader")["AccessKey"]
    assert key["Status"] == "Active" and key["SecretAccessKey"]
    reader = client(server, key["AccessKeyId"], key["SecretAccessKey"])
    # No policy yet: the tenant's full rights, as every user of a tenant has.
    assert reader.get_object(Bucket=other, Key="k")["Body"].read() == b"data"

    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{shared}/*"},
            {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        ],
    }
    text = json.dumps(document)
    admin.put_user_policy(UserName="reader", PolicyName="read-one", PolicyDocument=text)

    assert reader.get_object(Bucket=shared, Key="k")["Body"].read() == b"data"
    assert error(lambda: reader.get_object(Bucket=other, Key="k")) == (403, "AccessDenied")
    assert error(lambda: reader.put_object(Bucket=shared, Key="x", Body=b"x"))[1] == "AccessDenied"
    assert error(lambda: reader.delete_object(Bucket=shared, Key="k"))[1] == "AccessDenied"
    # The user holds no IAM permission: it may not manage users.
    reader_iam = iam(server, key["AccessKeyId"], key["SecretAccessKey"])
    assert error(reader_iam.list_users) == (403, "AccessDenied")

    got = admin.get_user_policy(UserName="reader", PolicyName="read-one")
    assert got["PolicyDocument"] == document  # boto3 decodes IAM's URL-encoded document
    assert admin.list_user_policies(UserName="reader")["PolicyNames"] == ["read-one"]
    names = [u["UserName"] for u in admin.list_users()["Users"]]
    assert names == ["boss", "reader"]
    keys = admin.list_access_keys(UserName="reader")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]

    # DeleteUser refuses while keys or policies remain.
    assert error(lambda: admin.delete_user(UserName="reader")) == (409, "DeleteConflict")
    admin.delete_user_policy(UserName="reader", PolicyName="read-one")
    assert reader.get_object(Bucket=other, Key="k")["Body"].read() == b"data"
    assert error(lambda: admin.delete_user(UserName="reader")) == (409, "DeleteConflict")
    admin.delete_access_key(UserName="reader", AccessKeyId=key["AccessKeyId"])
    assert error(reader.list_buckets)[1] == "InvalidAccessKeyId"
    admin.delete_user(UserName="reader")
    assert error(lambda: admin.get_user(UserName="reader")) == (404, "NoSuchEntity")


def test_errors_are_iams(server: LiveServer, tenant_admin: tuple[str, Any, Any]) -> None:
    _, admin, _ = tenant_admin
    admin.create_user(UserName="dup")
    assert error(lambda: admin.create_user(UserName="dup")) == (409, "EntityAlreadyExists")
    for call in (
        lambda: admin.get_user(UserName="ghost"),
        lambda: admin.delete_user(UserName="ghost"),
        lambda: admin.list_user_policies(UserName="ghost"),
        lambda: admin.get_user_policy(UserName="dup", PolicyName="none"),
        lambda: admin.delete_user_policy(UserName="dup", PolicyName="none"),
        lambda: admin.delete_access_key(UserName="dup", AccessKeyId="DKNOSUCHKEY000000000"),
    ):
        assert error(call) == (404, "NoSuchEntity")
    for bad in ("not json", "{}", '{"Statement": [{"Effect": "Allow"}]}'):
        put = lambda bad=bad: admin.put_user_policy(  # noqa: E731
            UserName="dup", PolicyName="p", PolicyDocument=bad
        )
        assert error(put) == (400, "MalformedPolicyDocument"), bad
    assert error(lambda: admin.create_user(UserName="Has Space"))[1] == "ValidationError"


def test_unknown_actions_and_bad_signatures(server: LiveServer) -> None:
    wrong = iam(server, ROOT_KEY, "not-the-secret-at-all-0000000000000000")
    assert error(wrong.list_users) == (403, "SignatureDoesNotMatch")
    unknown = iam(server, "DKNOSUCHKEY000000000", "whatever-secret-0000000000")
    assert error(unknown.list_users) == (403, "InvalidClientTokenId")
    root = iam(server)
    root.meta.events.register(
        "before-sign.iam.ListUsers",
        lambda request, **_: setattr(request, "data", b"Action=Frobnicate&Version=2010-05-08"),
    )
    assert error(root.list_users) == (400, "InvalidAction")


def test_root_admins_manage_the_root_tenant_and_s3_posts_still_work(
    server: LiveServer, s3: Any
) -> None:
    root = iam(server)
    assert "root" in [u["UserName"] for u in root.list_users()["Users"]]
    me = root.get_user()["User"]
    assert me["Arn"] == "arn:aws:iam::root:user/root"
    # S3's own POSTs are not IAM's: multi-object delete, and an unsigned POST to /.
    bucket = unique("iam-s3-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}]})
    assert [d["Key"] for d in deleted["Deleted"]] == ["a"]
    s3.delete_bucket(Bucket=bucket)
    response = httpx.post(f"{server.endpoint}/", data={"Action": "ListUsers"})
    assert "iam.amazonaws.com" not in response.text


def test_iam_calls_are_counted_by_action(server: LiveServer) -> None:
    iam(server).list_users()
    # A scrape may reach another worker before this one shares its totals.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{server.endpoint}/metrics").text
        if 'api="iam",operation="ListUsers",status="200"' in metrics:
            return
        time.sleep(0.2)
    raise AssertionError("no IAM ListUsers in the request metrics")
