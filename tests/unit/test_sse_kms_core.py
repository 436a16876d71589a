"""SSE-KMS in the core: the `sse` record, the context bound to the wrapped
data key, disabled and unknown keys, the bucket default, and SSE-S3 records
read as before beside a key service."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

import pytest
from corekit import ALICE, Core, body, make_core, pattern, read_all

from dolium.backends.kms_keyring import LocalKeyService
from dolium.backends.kms_memory import MemoryMasterKeys
from dolium.core.content.sse import (
    SSE_KMS,
    SSE_S3,
    BucketEncryption,
    DefaultEncryption,
    SseRequest,
    kms_arn,
    kms_key_ref,
)
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import KmsKeyDisabled, KmsKeyNotFound, NotSupported, StorageError
from dolium.model import ObjectVersion

BUCKET = "vault"
CONTEXT = base64.b64encode(json.dumps({"a": "1", "b": "2"}).encode()).decode()


@pytest.fixture
async def core(tmp_path: Path) -> Core:
    c = make_core()
    c.store.ctx.kms = MemoryMasterKeys()
    c.store.ctx.keys = LocalKeyService(tmp_path / "kms-keys.json")
    await c.store.buckets.create(ALICE, BUCKET)
    return c


def keys(core: Core) -> LocalKeyService:
    assert isinstance(core.store.ctx.keys, LocalKeyService)
    return core.store.ctx.keys


async def put(core: Core, key: str, data: bytes, sse: SseRequest | None) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions(sse=sse))


async def read(core: Core, version: ObjectVersion) -> bytes:
    return await read_all(core.store, version)


async def test_record_names_key_context_and_flag(core: Core) -> None:
    made = await keys(core).create("app")
    data = pattern(100_000)
    request = SseRequest(SSE_KMS, kms_key="alias/app", context=CONTEXT, bucket_key=True)
    version = await put(core, "k", data, request)
    assert version.sse["mode"] == SSE_KMS and version.sse["algorithm"] == "aws:kms"
    assert version.sse["kms_key"] == made.id
    assert version.sse["kms_arn"] == kms_arn("us-east-1", made.id)
    assert version.sse["context"] == CONTEXT and version.sse["bucket_key"] == "true"
    assert await read(core, version) == data


async def test_the_context_is_bound_to_the_data_key(core: Core) -> None:
    version = await put(core, "k", b"x" * 1000, SseRequest(SSE_KMS, context=CONTEXT))
    # The same pairs spelt otherwise still open it...
    respelt = base64.b64encode(b'{"b":"2","a":"1"}').decode()
    same = replace(version, sse={**version.sse, "context": respelt})
    assert await read(core, same) == b"x" * 1000
    # ...other pairs, or none, do not.
    other = base64.b64encode(b'{"a":"1"}').decode()
    for sse in (
        {**version.sse, "context": other},
        {k: v for k, v in version.sse.items() if k != "context"},
    ):
        with pytest.raises(StorageError):
            await read(core, replace(version, sse=sse))


async def test_unknown_and_disabled_keys(core: Core) -> None:
    with pytest.raises(KmsKeyNotFound):
        await put(core, "k", b"x", SseRequest(SSE_KMS, kms_key="alias/none"))
    made = await keys(core).create()
    version = await put(core, "k", b"data", SseRequest(SSE_KMS, kms_key=made.id))
    await keys(core).set_enabled(made.id, False)
    with pytest.raises(KmsKeyDisabled):
        await put(core, "k2", b"x", SseRequest(SSE_KMS, kms_key=made.id))
    with pytest.raises(KmsKeyDisabled):
        await read(core, version)


async def test_without_a_key_service_kms_is_refused(core: Core) -> None:
    core.store.ctx.keys = None
    with pytest.raises(NotSupported):
        await put(core, "k", b"x", SseRequest(SSE_KMS))


async def test_bucket_default_and_older_records(core: Core) -> None:
    older = await put(core, "s3", b"sse-s3 data", SseRequest(SSE_S3))
    made = await keys(core).create("dflt")
    settings = BucketEncryption(core.store.ctx)
    arn = f"arn:aws:kms:eu-west-1:123456789012:key/{made.id}"
    await settings.put(ALICE, BUCKET, DefaultEncryption("aws:kms", True, arn))
    assert await settings.get(ALICE, BUCKET) == DefaultEncryption("aws:kms", True, arn)
    version = await put(core, "d", b"by default", None)
    assert version.sse["kms_key"] == made.id and version.sse["bucket_key"] == "true"
    assert await read(core, version) == b"by default"
    # SSE-S3 records are read as they always were.
    assert set(older.sse) == {"algorithm", "mode", "key_id", "key"}
    assert await read(core, older) == b"sse-s3 data"


def test_key_references() -> None:
    assert kms_key_ref("1234") == "1234"
    assert kms_key_ref("alias/app") == "alias/app"
    assert kms_key_ref("arn:aws:kms:us-east-1:111122223333:key/1234") == "1234"
    assert kms_key_ref("arn:aws:kms:us-east-1:111122223333:alias/app") == "alias/app"
    assert kms_key_ref("arn:aws-cn:kms:cn-north-1:111122223333:key/1234") == "1234"
