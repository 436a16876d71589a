"""A live server whose access keys come from a key file (`DOLIUM_KEYS=file`)
or from an HTTP lookup service (`DOLIUM_KEYS=http`), used with boto3."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from admin_support import admin_call
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import DOLIUM, ROOT_KEY, ROOT_SECRET, LiveServer, client, running

from support.key_service import KeyLookupService
from support.key_sources import write_key_file

# The documented bound of both stores (check_interval, cache_ttl: 1 s), and
# a margin for a busy machine.
BOUND = 1.0 + 0.5

ALICE = {
    "access_key": "DKFILEALICE00000001",
    "secret_key": "alice-secret-from-the-key-file-000001",
    "tenant": "acme",
    "user": "alice",
}
BOB = {
    "access_key": "DKFILEBOB0000000001",
    "secret_key": "bob-secret-from-the-key-file-00000001",
    "tenant": "globex",
    "user": "bob",
}


def error_of(call: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def roundtrip(s3: Any) -> str:
    """Create a bucket, write and read an object in it: the key works."""
    name = f"keys-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"signed with an outside key")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"signed with an outside key"
    return name


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keyfile") / "keys.json"
    write_key_file(path, [ALICE, BOB])
    return path


@pytest.fixture(scope="module")
def file_server(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> Iterator[LiveServer]:
    env = {"DOLIUM_KEYS": "file", "DOLIUM_KEYS_OPTIONS": json.dumps({"path": str(key_file)})}
    with running(tmp_path_factory.mktemp("keys-file") / "data", env) as live:
        yield live


@pytest.fixture(scope="module")
def service() -> Iterator[KeyLookupService]:
    running_service = KeyLookupService().start()
    running_service.put(ALICE)
    running_service.put(BOB)
    yield running_service
    running_service.stop()


@pytest.fixture(scope="module")
def http_server(
    tmp_path_factory: pytest.TempPathFactory, service: KeyLookupService
) -> Iterator[LiveServer]:
    options = {"url": service.url, "token": service.token}
    env = {"DOLIUM_KEYS": "http", "DOLIUM_KEYS_OPTIONS": json.dumps(options)}
    with running(tmp_path_factory.mktemp("keys-http") / "data", env) as live:
        yield live


# -- a key file --------------------------------------------------------------------


def test_file_keys_sign_requests_for_their_tenant(file_server: LiveServer) -> None:
    alice = client(file_server, ALICE["access_key"], ALICE["secret_key"])
    name = roundtrip(alice)
    # The tenant was made on first use; its buckets are its own.
    listed = alice.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert listed["Owner"]["DisplayName"] == "acme"
    bob = client(file_server, BOB["access_key"], BOB["secret_key"])
    assert name not in [b["Name"] for b in bob.list_buckets()["Buckets"]]
    assert error_of(bob.get_object, Bucket=name, Key="k") == (403, "AccessDenied")


def test_unknown_keys_and_wrong_secrets_are_refused(file_server: LiveServer) -> None:
    stranger = client(file_server, "DKNOSUCHKEY00000001", "whatever-secret-0000000000")
    assert error_of(stranger.list_buckets) == (403, "InvalidAccessKeyId")
    wrong = client(file_server, ALICE["access_key"], "not-alices-secret-0000000000000")
    assert error_of(wrong.list_buckets) == (403, "SignatureDoesNotMatch")


def test_the_root_key_of_the_meta_store_still_works(file_server: LiveServer) -> None:
    roundtrip(client(file_server, ROOT_KEY, ROOT_SECRET))


def test_a_key_removed_from_the_file_stops_working(file_server: LiveServer, key_file: Path) -> None:
    carol = {**ALICE, "access_key": "DKFILECAROL00000001", "user": "carol"}
    write_key_file(key_file, [ALICE, BOB, carol])
    time.sleep(BOUND)
    s3 = client(file_server, carol["access_key"], carol["secret_key"])
    s3.list_buckets()
    write_key_file(key_file, [ALICE, BOB])
    time.sleep(BOUND)
    # Every worker process sees the change: a few requests reach them all.
    for _ in range(6):
        assert error_of(s3.list_buckets) == (403, "InvalidAccessKeyId")
    client(file_server, ALICE["access_key"], ALICE["secret_key"]).list_buckets()


def test_a_key_made_inactive_in_the_file_stops_working(
    file_server: LiveServer, key_file: Path
) -> None:
    dave = {**BOB, "access_key": "DKFILEDAVE000000001", "user": "dave"}
    write_key_file(key_file, [ALICE, BOB, dave])
    time.sleep(BOUND)
    s3 = client(file_server, dave["access_key"], dave["secret_key"])
    s3.list_buckets()
    write_key_file(key_file, [ALICE, BOB, {**dave, "active": False}])
    time.sleep(BOUND)
    for _ in range(6):
        assert error_of(s3.list_buckets) == (403, "InvalidAccessKeyId")


def test_a_missing_key_file_stops_the_server_at_start(tmp_path: Path) -> None:
    options = json.dumps({"path": str(tmp_path / "none.json")})
    env = {"DOLIUM_KEYS": "file", "DOLIUM_KEYS_OPTIONS": options, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [DOLIUM, "serve", "--data", str(tmp_path / "data"), "--listen", "127.0.0.1:1"],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY, "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET},
        timeout=60,
    )
    assert result.returncode != 0
    assert "config keys.options.path" in result.stderr
    assert "Traceback" not in result.stderr


# -- an HTTP lookup service --------------------------------------------------------


def test_service_keys_sign_requests(http_server: LiveServer) -> None:
    alice = client(http_server, ALICE["access_key"], ALICE["secret_key"])
    name = roundtrip(alice)
    assert alice.list_buckets()["Owner"]["DisplayName"] == "acme"
    bob = client(http_server, BOB["access_key"], BOB["secret_key"])
    assert error_of(bob.get_object, Bucket=name, Key="k") == (403, "AccessDenied")


def test_keys_the_service_does_not_know_are_refused(http_server: LiveServer) -> None:
    stranger = client(http_server, "DKNOSUCHKEY00000002", "whatever-secret-0000000000")
    assert error_of(stranger.list_buckets) == (403, "InvalidAccessKeyId")


def test_a_key_the_service_deletes_stops_working(
    http_server: LiveServer, service: KeyLookupService
) -> None:
    erin = {**ALICE, "access_key": "DKHTTPERIN000000001", "user": "erin"}
    service.put(erin)
    s3 = client(http_server, erin["access_key"], erin["secret_key"])
    s3.list_buckets()
    del service.records[erin["access_key"]]
    time.sleep(BOUND)
    for _ in range(6):
        assert error_of(s3.list_buckets) == (403, "InvalidAccessKeyId")


def test_a_failing_service_is_a_503_never_an_accept(
    http_server: LiveServer, service: KeyLookupService
) -> None:
    frank = {**BOB, "access_key": "DKHTTPFRANK00000001", "user": "frank"}
    service.put(frank)
    s3 = client(http_server, frank["access_key"], frank["secret_key"])
    service.failing = 500
    try:
        time.sleep(BOUND)  # answers cached before the failure have expired
        for _ in range(4):
            assert error_of(s3.list_buckets) == (503, "ServiceUnavailable")
        # The client is not told where the service is.
        with pytest.raises(ClientError) as caught:
            s3.list_buckets()
        assert service.url not in str(caught.value.response)
    finally:
        service.failing = None
    s3.list_buckets()


def test_a_failing_service_is_a_503_to_iam_requests_too(
    http_server: LiveServer, service: KeyLookupService
) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=http_server.endpoint,
        aws_access_key_id=ALICE["access_key"],
        aws_secret_access_key=ALICE["secret_key"],
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}),
    )
    try:
        service.failing = 502
        time.sleep(BOUND)
        assert error_of(iam.list_users) == (503, "ServiceUnavailable")
    finally:
        service.failing = None
        iam.close()


def test_a_failing_service_is_a_503_to_swift_and_the_admin_api(
    http_server: LiveServer, service: KeyLookupService
) -> None:
    # The root key is the meta store's, and Swift's v1 login finds it there;
    # its token is checked against the key store at each request.
    login = httpx.get(
        f"{http_server.endpoint}/auth/v1.0",
        headers={"X-Auth-User": "root:root", "X-Auth-Key": ROOT_SECRET},
    )
    assert login.status_code == 200
    account = login.headers["x-storage-url"]
    token = {"X-Auth-Token": login.headers["x-auth-token"]}
    assert httpx.get(account, headers=token).status_code in (200, 204)
    assert admin_call(http_server, "GET", "/tenants").status_code == 200
    try:
        service.failing = 500
        time.sleep(BOUND)
        assert httpx.get(account, headers=token).status_code == 503
        answer = admin_call(http_server, "GET", "/tenants")
        assert answer.status_code == 503
        assert "Traceback" not in answer.text
    finally:
        service.failing = None
    # Failures are not cached: the next request asks again.
    assert httpx.get(account, headers=token).status_code in (200, 204)
