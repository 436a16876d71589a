"""The `s3` block store under a live server, with another live Dolium as its S3 service.

A front server keeps its blocks in a bucket of a back server. Objects
written through the front (plain and multipart) read back whole and in
ranges, their blocks are objects in the back bucket named after their
digests, and the collector deletes them there once the objects are gone.
A storage policy stacks modules (compress, encrypt) over an s3 store
declared as [blob.NAME]: what lands in the back bucket is smaller than
the data and does not hold it in clear.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dolium.core.content.hashing import block_digests
from support.blocks import BLOCK, SMALL_BLOCKS, data_of
from support.live import DOLIUM, ROOT_KEY, ROOT_SECRET, LiveServer, client, running

BACK_BUCKET = "front-blocks"


@pytest.fixture(scope="module")
def back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("s3-back") / "data") as live:
        client(live).create_bucket(Bucket=BACK_BUCKET)
        yield live


def store_options(back: LiveServer, prefix: str) -> dict[str, str]:
    return {
        "endpoint": back.endpoint,
        "bucket": BACK_BUCKET,
        "prefix": prefix,
        "access_key": ROOT_KEY,
        "secret_key": ROOT_SECRET,
        "region": "us-east-1",
    }


def stored(back: LiveServer, prefix: str) -> dict[str, int]:
    """The objects under `prefix` in the back bucket: key -> size."""
    s3 = client(back)
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BACK_BUCKET, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return out


def keys_of(prefix: str, *bodies: bytes) -> set[str]:
    """The back keys the blocks of `bodies` are stored under (fanned out by two hex digits)."""
    return {
        f"{prefix}{d.hex()[:2]}/{d.hex()}" for body in bodies for d in block_digests(body, BLOCK)
    }


def wait_until_empty(back: LiveServer, prefix: str) -> None:
    deadline = time.monotonic() + 30
    while stored(back, prefix):
        assert time.monotonic() < deadline, "the collector left blocks in the back bucket"
        time.sleep(0.2)


def test_objects_through_a_front_server_are_blocks_in_the_back_bucket(
    back: LiveServer, tmp_path: Path
) -> None:
    env = {
        **SMALL_BLOCKS,
        "DOLIUM_BLOB": "s3",
        "DOLIUM_BLOB_OPTIONS": json.dumps(store_options(back, "std/")),
        "DOLIUM_GC_GRACE": "1",
        "DOLIUM_GC_INTERVAL": "1",
    }
    with running(tmp_path / "front", env) as front:
        s3 = client(front)
        s3.create_bucket(Bucket="docs")
        body = data_of(3 * BLOCK + 500, "plain")
        s3.put_object(Bucket="docs", Key="k", Body=body)
        assert s3.get_object(Bucket="docs", Key="k")["Body"].read() == body
        part = s3.get_object(Bucket="docs", Key="k", Range=f"bytes={BLOCK - 10}-{2 * BLOCK + 9}")
        assert part["Body"].read() == body[BLOCK - 10 : 2 * BLOCK + 10]

        upload = s3.create_multipart_upload(Bucket="docs", Key="multi")["UploadId"]
        # Parts but the last are 5 MiB at least, as S3 wants.
        pieces = [data_of(5 * 1024 * 1024 + 1000, "p1"), data_of(BLOCK // 2, "p2")]
        etags = [
            s3.upload_part(Bucket="docs", Key="multi", UploadId=upload, PartNumber=n, Body=p)[
                "ETag"
            ]
            for n, p in enumerate(pieces, 1)
        ]
        s3.complete_multipart_upload(
            Bucket="docs",
            Key="multi",
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]
            },
        )
        assert s3.get_object(Bucket="docs", Key="multi")["Body"].read() == b"".join(pieces)

        objects = stored(back, "std/")
        assert keys_of("std/", body, *pieces) <= set(objects)
        assert objects[min(keys_of("std/", body))] in (BLOCK, 500)  # stored as they are

        for key in ("k", "multi"):
            s3.delete_object(Bucket="docs", Key=key)
        wait_until_empty(back, "std/")


def policy_config(tmp: Path, back: LiveServer) -> Path:
    options = ", ".join(f"{k} = {json.dumps(v)}" for k, v in store_options(back, "packed/").items())
    path = tmp / "dolium.toml"
    path.write_text(
        f"""
default_policy = "packed"

[blob.remote]
use = "s3"
options = {{ {options} }}

[policy.packed]
modules = ["compress", "encrypt"]
blob = "remote"
"""
    )
    return path


def test_a_policy_stacks_compress_and_encrypt_over_an_s3_store(
    back: LiveServer, tmp_path: Path
) -> None:
    config = policy_config(tmp_path, back)
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config)}
    with running(tmp_path / "front", env) as front:
        s3: Any = client(front)
        s3.create_bucket(Bucket="packed")
        line = b"the same line of text, again and again, compresses well\n"
        body = (line * (4 * BLOCK // len(line) + 1))[: 4 * BLOCK]
        s3.put_object(Bucket="packed", Key="text", Body=body)
        assert s3.get_object(Bucket="packed", Key="text")["Body"].read() == body

        objects = stored(back, "packed/")
        # One object a block (encrypt names them apart from their content's digest),
        # and the key-check block of the encrypt module's key.
        assert len(objects) == len(keys_of("packed/", body)) + 1
        assert sum(objects.values()) < len(body) // 4  # compressed before it left
        back_s3 = client(back)
        for key in objects:
            sealed = back_s3.get_object(Bucket=BACK_BUCKET, Key=key)["Body"].read()
            assert line[:20] not in sealed  # and encrypted

        # The CLI opens the stack as the server does, and counts through it.
        plain = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
        listed = subprocess.run(
            [
                DOLIUM,
                "policy",
                "list",
                "--json",
                "--config",
                str(config),
                "--data",
                str(front.data),
            ],
            capture_output=True,
            text=True,
            env=plain,
            timeout=120,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert ROOT_SECRET not in listed.stdout + listed.stderr
        packed = json.loads(listed.stdout)["policies"]["packed"]
        assert "remote" in packed["capabilities"]
        assert packed["statistics"]["blocks"] == len(keys_of("packed/", body))


def test_a_block_damaged_in_the_bucket_is_refused_and_repaired_by_a_new_upload(
    back: LiveServer, tmp_path: Path
) -> None:
    env = {
        **SMALL_BLOCKS,
        "DOLIUM_BLOB": "s3",
        "DOLIUM_BLOB_OPTIONS": json.dumps(store_options(back, "damaged/")),
    }
    with running(tmp_path / "front", env) as front:
        s3 = client(front)
        s3.create_bucket(Bucket="fragile")
        body = data_of(2 * BLOCK, "fragile")
        s3.put_object(Bucket="fragile", Key="k", Body=body)
        first = min(keys_of("damaged/", body[:BLOCK]))
        back_s3 = client(back)
        back_s3.put_object(Bucket=BACK_BUCKET, Key=first, Body=b"not the block" * 100)

        with pytest.raises(ClientError) as raised:
            s3.get_object(Bucket="fragile", Key="k")["Body"].read()
        assert raised.value.response["Error"]["Code"] == "InternalError"

        s3.put_object(Bucket="fragile", Key="again", Body=body)  # the same content
        assert s3.get_object(Bucket="fragile", Key="k")["Body"].read() == body
        assert back_s3.get_object(Bucket=BACK_BUCKET, Key=first)["Body"].read() == body[:BLOCK]
