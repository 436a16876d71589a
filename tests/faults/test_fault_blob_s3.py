"""The `s3` block store over a faulty network: retries, timeouts, translated errors.

A live Dolium server is the S3 service; a fault-injecting proxy
(support.fault_proxy) stands between it and the store, answering 503
SlowDown, resetting connections mid-request or holding requests back.
Transient faults are retried away; persistent ones end, after a bounded
number of attempts, in `StorageUnavailable`, which a front server answers
with 503 ServiceUnavailable, never a hang or a 500.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dolium import errors
from dolium.backends.blob_s3 import S3BlobStore
from support.fault_proxy import FaultProxy
from support.live import DOLIUM, ROOT_KEY, ROOT_SECRET, LiveServer, client, free_port, running

BUCKET = "blocks"
# Short waits between attempts: the tests count attempts, they do not time them.
FAST_RETRY = {"backoff": 0.01, "backoff_max": 0.05}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("s3-service") / "data") as live:
        client(live).create_bucket(Bucket=BUCKET)
        yield live


@pytest.fixture
def proxy(service: LiveServer) -> Iterator[FaultProxy]:
    started = FaultProxy(service.port).start()
    yield started
    started.stop()


def options(proxy: FaultProxy, prefix: str, **more: Any) -> dict[str, Any]:
    return {
        "endpoint": proxy.endpoint,
        "bucket": BUCKET,
        "prefix": prefix,
        "access_key": ROOT_KEY,
        "secret_key": ROOT_SECRET,
        **FAST_RETRY,
        **more,
    }


@pytest.fixture
async def store(proxy: FaultProxy, request: pytest.FixtureRequest) -> AsyncIterator[S3BlobStore]:
    opened = await S3BlobStore.open(**options(proxy, f"{request.node.name}/", attempts=4))
    yield opened
    await opened.close()


def block(seed: str, size: int = 100_000) -> tuple[bytes, bytes]:
    data = hashlib.shake_256(seed.encode()).digest(size)
    return hashlib.sha256(data).digest(), data


async def test_put_and_get_succeed_after_transient_slowdowns(
    store: S3BlobStore, proxy: FaultProxy
) -> None:
    digest, data = block("slowdown")
    proxy.slowdown(3)
    await store.put(digest, data)
    assert proxy.faults("refused") == 3
    assert [done for method, _, done in proxy.seen if method == "PUT"][-1] == "forward"
    proxy.slowdown(2)
    assert await store.get(digest) == data
    assert await store.has(digest)
    stats = await store.statistics()
    assert stats["retries"] == 5
    assert stats["blocks"] == 1


async def test_put_and_get_succeed_after_connection_resets(
    store: S3BlobStore, proxy: FaultProxy
) -> None:
    digest, data = block("reset")
    proxy.reset(2)
    await store.put(digest, data)
    proxy.reset(3)
    assert await store.get(digest) == data
    assert proxy.faults("reset") == 5
    proxy.reset(1)
    await store.delete(digest)
    assert not await store.has(digest)


async def test_slowdowns_past_the_attempts_are_storage_unavailable(proxy: FaultProxy) -> None:
    opened = await S3BlobStore.open(**options(proxy, "exhausted/", attempts=3))
    try:
        digest, data = block("exhausted")
        proxy.slowdown(100)
        before = len(proxy.seen)
        with pytest.raises(errors.StorageUnavailable) as raised:
            await opened.put(digest, data)
        assert len(proxy.seen) - before == 3  # bounded: exactly `attempts` requests
        assert "503 SlowDown" in str(raised.value)
        assert ROOT_SECRET not in str(raised.value)
        with pytest.raises(errors.StorageUnavailable):
            await opened.get(digest)
        proxy.slowdown(0)
        proxy.reset(100)
        with pytest.raises(errors.StorageUnavailable) as raised:
            await opened.has(digest)
        assert "connection failed" in str(raised.value)
        proxy.reset(0)
        await opened.put(digest, data)  # the service is back: so is the store
        assert await opened.get(digest) == data
    finally:
        await opened.close()


async def test_a_slow_service_times_out_as_storage_unavailable(proxy: FaultProxy) -> None:
    opened = await S3BlobStore.open(**options(proxy, "slow/", attempts=2, read_timeout=1.0))
    try:
        digest, data = block("slow")
        proxy.slow(10)
        with pytest.raises(errors.StorageUnavailable) as raised:
            await opened.get(digest)
        assert "timed out" in str(raised.value)
        assert proxy.faults("slow") == 2
        proxy.slow(0)
        await opened.put(digest, data)
        assert await opened.get(digest) == data
    finally:
        await opened.close()


async def test_refusals_are_translated_at_once_and_damage_is_retried(
    store: S3BlobStore, proxy: FaultProxy
) -> None:
    digest, data = block("refused")
    proxy.refuse(1, 507, "InsufficientStorage")
    with pytest.raises(errors.StorageFull):
        await store.put(digest, data)
    proxy.refuse(1, 403, "QuotaExceeded")
    with pytest.raises(errors.StorageFull):
        await store.put(digest, data)
    proxy.refuse(1, 403, "AccessDenied")
    with pytest.raises(errors.StorageUnavailable, match="check access_key, secret_key"):
        await store.put(digest, data)
    assert proxy.faults("refused") == 3  # each once: a refusal is not retried
    proxy.refuse(2, 400, "BadDigest")  # damaged on the way: sent again
    await store.put(digest, data)
    assert proxy.faults("refused") == 5
    proxy.refuse(1, 404, "NoSuchBucket")  # the bucket is gone, not the block
    with pytest.raises(errors.StorageUnavailable):
        await store.get(digest)
    assert await store.get(digest) == data


async def test_a_missing_bucket_or_wrong_secret_refuses_to_open(proxy: FaultProxy) -> None:
    with pytest.raises(errors.ConfigError, match="does not exist"):
        await S3BlobStore.open(**{**options(proxy, "x/"), "bucket": "no-such-bucket"})
    with pytest.raises(errors.ConfigError, match="refuses these credentials") as raised:
        await S3BlobStore.open(**{**options(proxy, "x/"), "secret_key": "wrong-secret-0000"})
    assert "wrong-secret" not in str(raised.value)


def test_serve_refuses_to_start_over_a_missing_bucket(proxy: FaultProxy, tmp_path: Path) -> None:
    blob = {**options(proxy, "x/"), "bucket": "no-such-bucket"}
    env = {
        **os.environ,
        "DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY,
        "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET,
        "DOLIUM_BLOB": "s3",
        "DOLIUM_BLOB_OPTIONS": json.dumps(blob),
    }
    listen = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [DOLIUM, "serve", "--data", str(tmp_path / "data"), "--listen", listen],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if "blob s3: bucket" in line]
    assert said, result.stderr
    assert all("does not exist (create it, or fix the bucket option)" in line for line in said)
    assert "Traceback" not in result.stderr
    assert ROOT_SECRET not in result.stderr + result.stdout


# -- through a front server ------------------------------------------------------
@pytest.fixture
def front(proxy: FaultProxy, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose blocks go to the service through the proxy."""
    blob = options(proxy, "front/", attempts=3, read_timeout=1.5)
    env = {
        "DOLIUM_BLOB": "s3",
        "DOLIUM_BLOB_OPTIONS": json.dumps(blob),
        "DOLIUM_WORKERS": "1",
        # Every object in blocks: nothing small enough to keep inline in the meta store.
        "DOLIUM_INLINE_THRESHOLD": "0",
    }
    with running(tmp_path / "front", env) as live:
        yield live


def test_a_front_server_answers_503_while_the_service_fails_and_recovers(
    front: LiveServer, proxy: FaultProxy
) -> None:
    s3 = client(front)
    s3.create_bucket(Bucket="faulty")
    body = os.urandom(300_000)

    proxy.slowdown(2)  # within the attempts: retried, the client sees nothing
    s3.put_object(Bucket="faulty", Key="retried", Body=body)
    assert proxy.faults("refused") == 2

    proxy.slow(5)  # longer than read_timeout on every attempt
    with pytest.raises(ClientError) as raised:
        s3.put_object(Bucket="faulty", Key="slow", Body=body)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert proxy.faults("slow") >= 3  # every attempt of the store timed out
    proxy.slow(0)

    proxy.slowdown(100)  # past the attempts
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="faulty", Key="retried")["Body"].read()
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    proxy.slowdown(0)

    proxy.reset(1)
    assert s3.get_object(Bucket="faulty", Key="retried")["Body"].read() == body
    log = front.log.read_text()
    assert "s3 blob store" in log  # the retries and failures are logged ...
    assert ROOT_SECRET not in log  # ... without the secret or a signature
    assert "Signature=" not in log
    assert "Traceback" not in log
