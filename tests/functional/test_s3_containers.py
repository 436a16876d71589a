"""Containers made by another API, reached through S3 by a real client.

A container claims the global bucket name equal to its own when that is a
valid bucket name and free; otherwise S3 reaches it as `account:container`
in the path. Containers here are made with `dolium container create`.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.handlers import validate_bucket_name
from conftest import OTHER_KEY, OTHER_SECRET, ROOT_KEY, ROOT_SECRET, LiveServer, client
from signed import signed


def _tenant_client(server: LiveServer, key: str = OTHER_KEY, secret: str = OTHER_SECRET) -> Any:
    """boto3 as a tenant ("other" by default), letting through bucket names S3
    itself would refuse, as `account:container` addresses are."""
    s3 = client(server, key, secret)
    s3.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
    return s3


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_a_valid_free_name_becomes_the_global_bucket_name(server: LiveServer, s3: Any) -> None:
    name = f"pithos-{uuid.uuid4().hex[:12]}"
    assert server.admin("container", "create", "other", name).strip() == name
    theirs = _tenant_client(server)
    theirs.put_object(Bucket=name, Key="k", Body=b"global")
    assert theirs.get_object(Bucket=name, Key="k")["Body"].read() == b"global"
    with pytest.raises(ClientError) as taken:
        s3.create_bucket(Bucket=name)
    assert _code(taken) == "BucketAlreadyExists"
    with pytest.raises(ClientError) as mine:
        theirs.create_bucket(Bucket=name)
    assert _code(mine) == "BucketAlreadyOwnedByYou"
    theirs.delete_object(Bucket=name, Key="k")
    theirs.delete_bucket(Bucket=name)


def test_a_taken_name_is_reached_as_account_colon_container(server: LiveServer, s3: Any) -> None:
    name = f"shared-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    address = server.admin("container", "create", "other", name).strip()
    assert address == f"other:{name}"
    theirs = _tenant_client(server)
    theirs.put_object(Bucket=address, Key="doc", Body=b"in other's container")
    assert theirs.get_object(Bucket=address, Key="doc")["Body"].read() == b"in other's container"
    listed = theirs.list_objects_v2(Bucket=address)
    assert [o["Key"] for o in listed["Contents"]] == ["doc"]
    # The global name still names root's bucket, which stays empty.
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    assert address in {b["Name"] for b in theirs.list_buckets()["Buckets"]}
    theirs.delete_object(Bucket=address, Key="doc")
    theirs.delete_bucket(Bucket=address)
    s3.delete_bucket(Bucket=name)


def test_a_name_s3_cannot_hold_is_reached_by_address_only(server: LiveServer) -> None:
    name = f"My Files: {uuid.uuid4().hex[:8]} ünï"
    address = server.admin("container", "create", "other", name).strip()
    assert address == f"other:{name}"
    theirs = _tenant_client(server)
    theirs.put_object(Bucket=address, Key="a/b.txt", Body=b"x" * 100)
    versions = theirs.list_object_versions(Bucket=address)["Versions"]
    assert [(v["Key"], v["Size"]) for v in versions] == [("a/b.txt", 100)]
    # Signed raw HTTP reaches it too, with the address percent-encoded in the path.
    url = f"{server.endpoint}/{quote(address, safe='')}/a/b.txt"
    got = signed("GET", url, credentials=Credentials(OTHER_KEY, OTHER_SECRET))
    assert got.status_code == 200
    assert got.content == b"x" * 100
    # Another tenant is refused, as for any bucket it does not own.
    root = _tenant_client(server, ROOT_KEY, ROOT_SECRET)
    with pytest.raises(ClientError) as refused:
        root.get_object(Bucket=address, Key="a/b.txt")
    assert _code(refused) == "AccessDenied"
    theirs.delete_object(Bucket=address, Key="a/b.txt")
    theirs.delete_bucket(Bucket=address)
    with pytest.raises(ClientError) as gone:
        theirs.list_objects_v2(Bucket=address)
    assert _code(gone) == "NoSuchBucket"
