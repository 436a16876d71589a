"""Choosing a storage policy: per bucket at creation, per object by S3 storage class.

One server: `standard` (the data directory's store) and `packed` (compress
over a store of its own), with the S3 storage class GLACIER mapped to
`packed`. Where an object's blocks land on disk says which policy took it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer, client, running
from swift_support import new_account

from support.blocks import BLOCK, SMALL_BLOCKS, data_of


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    tmp = tmp_path_factory.mktemp("policy-choice")
    config = tmp / "dolium.toml"
    config.write_text(
        f"""
[blob.packed]
use = "fs"
options = {{ root = "{tmp / "packed"}" }}
[policy.packed]
modules = ["compress"]
blob = "packed"
[storage_classes]
GLACIER = "packed"
"""
    )
    with running(tmp / "data", {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config)}) as server:
        yield server, tmp


def count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def with_policy(s3: Any, policy: str) -> Any:
    def add(request: Any, **_: Any) -> None:
        request.headers["x-dolium-storage-policy"] = policy

    s3.meta.events.register("before-sign.s3.CreateBucket", add)
    return s3


def test_a_bucket_chooses_its_policy_at_creation(live: tuple[LiveServer, Path]) -> None:
    server, tmp = live
    name = f"pick-{uuid.uuid4().hex[:10]}"
    with_policy(client(server), "packed").create_bucket(Bucket=name)
    s3 = client(server)
    before = count(tmp / "packed")
    body = data_of(3 * BLOCK, name)
    s3.put_object(Bucket=name, Key="k", Body=body)
    assert count(tmp / "packed") == before + 3
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == body


def test_an_unknown_policy_is_invalid_argument_naming_it(live: tuple[LiveServer, Path]) -> None:
    server, _ = live
    s3 = with_policy(client(server), "gold")
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket=f"gold-{uuid.uuid4().hex[:10]}")
    error = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "InvalidArgument"
    assert error["ArgumentName"] == "x-dolium-storage-policy"
    assert error["ArgumentValue"] == "gold"


def test_a_mapped_storage_class_stores_through_its_policy(
    live: tuple[LiveServer, Path],
) -> None:
    server, tmp = live
    s3 = client(server)
    name = f"class-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    before, standard = count(tmp / "packed"), count(server.data / "blocks")
    cold = data_of(2 * BLOCK, f"{name}-cold")
    s3.put_object(Bucket=name, Key="cold", Body=cold, StorageClass="GLACIER")
    assert count(tmp / "packed") == before + 2
    # A class S3 knows and the config does not map: the bucket's policy.
    warm = data_of(2 * BLOCK, f"{name}-warm")
    s3.put_object(Bucket=name, Key="warm", Body=warm, StorageClass="STANDARD_IA")
    assert count(server.data / "blocks") == standard + 2
    assert s3.get_object(Bucket=name, Key="cold")["Body"].read() == cold
    assert s3.get_object(Bucket=name, Key="warm")["Body"].read() == warm
    # A multipart upload names its class when it starts.
    upload = s3.create_multipart_upload(Bucket=name, Key="multi", StorageClass="GLACIER")
    part = data_of(2 * BLOCK, f"{name}-part")
    etag = s3.upload_part(
        Bucket=name, Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=part
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=name,
        Key="multi",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert count(tmp / "packed") == before + 4
    assert s3.get_object(Bucket=name, Key="multi")["Body"].read() == part
    # A copy onto itself naming a class moves the object to that class's policy.
    packed = count(tmp / "packed")
    s3.copy_object(
        Bucket=name, Key="warm", CopySource={"Bucket": name, "Key": "warm"}, StorageClass="GLACIER"
    )
    assert count(tmp / "packed") == packed + 2
    assert s3.get_object(Bucket=name, Key="warm")["Body"].read() == warm
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=name, Key="warm", CopySource={"Bucket": name, "Key": "warm"})
    assert info.value.response["Error"]["Code"] == "InvalidRequest"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=name, Key="bad", Body=b"x", StorageClass="BOGUS")
    assert info.value.response["Error"]["Code"] == "InvalidStorageClass"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_swift_chooses_a_containers_policy_and_lists_them_in_info(
    live: tuple[LiveServer, Path],
) -> None:
    server, _ = live
    account = new_account(server)
    swift = account.connection()
    try:
        swift.put_container("cold", headers={"X-Storage-Policy": "packed"})
        assert swift.head_container("cold")["x-storage-policy"] == "packed"
        swift.put_container("plain")
        assert swift.head_container("plain")["x-storage-policy"] == "standard"
    finally:
        swift.close()  # its socket, not the collector's business in a later test
    with account.http() as http:
        bad = http.put("gold", headers={"X-Storage-Policy": "gold"})
        assert bad.status_code == 400
        assert "Invalid X-Storage-Policy 'gold'" in bad.text
        assert http.put("cold", headers={"X-Storage-Policy": "standard"}).status_code == 409
        assert http.put("cold", headers={"X-Storage-Policy": "packed"}).status_code == 202
    info = httpx.get(f"{server.endpoint}/info").json()
    names = {p["name"] for p in info["swift"]["policies"]}
    assert {"standard", "packed"} <= names
