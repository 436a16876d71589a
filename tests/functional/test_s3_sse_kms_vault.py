"""SSE-KMS through the `vault` key service, on a live server, with boto3.

Vault cannot be installed on the machine these tests run on: the server
talks to a stand-in for Vault's transit engine written from its API
documentation (tests/support/transit_standin.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer, client, fresh_bucket, running

from support.transit_standin import transit_standin

KMS = {"ServerSideEncryption": "aws:kms"}


@pytest.fixture(scope="module")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("vault")
    with transit_standin("s3cr3t-token") as address:
        config = home / "dolium.toml"
        config.write_text(
            f'[kms]\nuse = "vault"\n[kms.options]\naddress = "{address}"\n'
            f'token_file = "{home / "token"}"\n',
            encoding="utf-8",
        )
        (home / "token").write_text("s3cr3t-token\n", encoding="utf-8")
        env = {"DOLIUM_CONFIG": str(config), "DOLIUM_SSE_KMS_REQUIRE_TLS": "false"}
        with running(home / "data", env) as live:
            yield live


@pytest.fixture
def s3v(vault_server: LiveServer) -> Any:
    return client(vault_server)


def test_objects_round_trip_under_a_vault_key(s3v: Any, vault_server: LiveServer) -> None:
    with fresh_bucket(s3v, "vault") as name:
        put = s3v.put_object(Bucket=name, Key="k", Body=b"sealed by vault", **KMS)
        assert put["ServerSideEncryption"] == "aws:kms"
        assert put["SSEKMSKeyId"].endswith(":key/dolium-default")
        got = s3v.get_object(Bucket=name, Key="k")
        assert got["Body"].read() == b"sealed by vault"
        assert got["SSEKMSKeyId"] == put["SSEKMSKeyId"]
        # A multipart upload's parts use the same key.
        upload = s3v.create_multipart_upload(Bucket=name, Key="mp", **KMS)["UploadId"]
        part = s3v.upload_part(Bucket=name, Key="mp", UploadId=upload, PartNumber=1, Body=b"p")
        s3v.complete_multipart_upload(
            Bucket=name,
            Key="mp",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
        )
        assert s3v.get_object(Bucket=name, Key="mp")["Body"].read() == b"p"
        # A key Vault does not have is S3's KMS.NotFoundException.
        with pytest.raises(ClientError) as exc:
            s3v.put_object(Bucket=name, Key="x", Body=b"x", SSEKMSKeyId="alias/none", **KMS)
        assert exc.value.response["Error"]["Code"] == "KMS.NotFoundException"
    # The local keyring was never used: the keys are Vault's.
    assert not (vault_server.data / "kms-keys.json").exists()
