"""Two gateways sharing one PostgreSQL database, one block store and one
directory of secrets behave as one server: what one is told, the other
obeys at once; what one signs or encrypts, the other accepts; and the
background jobs run in one process of the two, taken over when it dies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from botocore.exceptions import ClientError
from conftest import client
from postgres_servers import PostgresServer, servers
from swift_support import new_account

from support.postgres import postgres

# A short lease, so that a dead holder is replaced within seconds.
LEASE = {"DOLIUM_JOBS_LEASE": "2", "DOLIUM_WORKERS": "1"}


@pytest.fixture(scope="module")
def database() -> str:
    return postgres().database()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[list[PostgresServer]]:
    with servers(tmp_path_factory.mktemp("gateways"), database, 2, LEASE) as started:
        yield started


def _error(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def test_a_key_revoked_through_one_gateway_is_refused_by_the_other(
    pair: list[PostgresServer],
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    pair[0].admin("tenant", "create", tenant)
    key, secret = "GW" + uuid.uuid4().hex[:16].upper(), uuid.uuid4().hex
    pair[0].admin("user", "create", f"{tenant}:u", "--access-key", key, "--secret-key", secret)
    on_second = client(pair[1], key, secret)
    on_second.list_buckets()  # cached by the second gateway
    pair[0].admin("key", "revoke", key)
    assert _error(on_second.list_buckets) == "InvalidAccessKeyId"


def test_a_bucket_setting_changed_through_one_gateway_governs_the_other(
    pair: list[PostgresServer],
) -> None:
    first, second = client(pair[0]), client(pair[1])
    bucket = f"gw-{uuid.uuid4().hex[:8]}"
    first.create_bucket(Bucket=bucket)
    second.put_object(Bucket=bucket, Key="k", Body=b"one")
    first.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    second.put_object(Bucket=bucket, Key="k", Body=b"two")
    versions = first.list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 2
    first.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    assert _error(lambda: second.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")) == (
        "AccessDenied"
    )


def test_what_one_gateway_signs_or_encrypts_the_other_accepts(
    pair: list[PostgresServer],
) -> None:
    # A Swift token from one gateway opens the account on the other.
    account = new_account(pair[0])
    _, token = account.login()
    url = f"{pair[1].endpoint}/v1/AUTH_{account.tenant}"
    assert httpx.put(f"{url}/box", headers={"X-Auth-Token": token}).status_code == 201
    # An object encrypted with the server's keys (SSE-S3) through one gateway
    # is decrypted by the other.
    first, second = client(pair[0]), client(pair[1])
    bucket = f"gw-{uuid.uuid4().hex[:8]}"
    first.create_bucket(Bucket=bucket)
    first.put_object(Bucket=bucket, Key="s", Body=b"sealed" * 1000, ServerSideEncryption="AES256")
    got = second.get_object(Bucket=bucket, Key="s")
    assert got["ServerSideEncryption"] == "AES256"
    assert got["Body"].read() == b"sealed" * 1000


def _holder(database: str) -> int | None:
    """The process id of the jobs lease's holder, if it is held."""
    row = (
        postgres()
        .sql(
            "SELECT holder FROM job_leases WHERE name = 'jobs' "
            "AND expires > extract(epoch from clock_timestamp())",
            database,
        )
        .strip()
    )
    return int(row.split(":")[1]) if row else None


def _gateway_of(pid: int, pair: list[PostgresServer]) -> int:
    for n, gateway in enumerate(pair):
        if gateway.process.poll() is not None:
            continue
        parent = psutil.Process(gateway.process.pid)
        if pid in [parent.pid, *(c.pid for c in parent.children(recursive=True))]:
            return n
    raise AssertionError(f"process {pid} is no gateway's")


def _wait(condition: Any, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_the_jobs_run_in_one_gateway_and_the_other_takes_them_when_it_dies(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A pair of its own, on a database of its own: one of them is killed.
    database = postgres().database()
    with servers(tmp_path_factory.mktemp("takeover"), database, 2, LEASE) as own:
        assert _wait(lambda: _holder(database) is not None)
        holder = _holder(database)
        assert holder is not None
        first = _gateway_of(holder, own)
        time.sleep(3)  # longer than the lease: its holder renews it, no one else takes it
        assert _holder(database) == holder
        own[first].process.kill()
        own[first].process.wait()
        assert _wait(lambda: _holder(database) not in (None, holder))
        new = _holder(database)
        assert new is not None and _gateway_of(new, own) == 1 - first
        # The survivor runs the jobs: it seals its own writes into the audit log.
        survivor = own[1 - first]
        bucket = f"sealed-{uuid.uuid4().hex[:8]}"
        client(survivor).create_bucket(Bucket=bucket)
        assert _wait(lambda: bucket in _sealed(database))


def _sealed(database: str) -> str:
    return postgres().sql("SELECT resource FROM audit_entries", database)
