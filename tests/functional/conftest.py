"""A live `dolium serve` process and real clients pointed at it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

DOLIUM = str(Path(sys.executable).parent / "dolium")
ROOT_KEY = "DKROOTTESTKEY0000001"
ROOT_SECRET = "root-secret-for-tests-only-0000000000000"
OTHER_KEY = "DKOTHERTESTKEY000001"
OTHER_SECRET = "other-secret-for-tests-only-000000000000"


@dataclass
class LiveServer:
    endpoint: str
    host: str
    port: int
    data: Path
    process: subprocess.Popen[bytes]
    log: Path

    def admin(self, *args: str) -> str:
        result = subprocess.run(
            [DOLIUM, *args, "--data", str(self.data)],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dolium serve exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dolium serve did not start: {log.read_text()}")


def start_server(data: Path, extra_env: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    log = data.parent / f"{data.name}.log"
    env = dict(os.environ)
    env.update(
        {
            "DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY,
            "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET,
            "DOLIUM_GC_INTERVAL": "0",
        }
    )
    env.update(extra_env or {})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DOLIUM, "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    wait_listening(port, process, log)
    return LiveServer(f"http://127.0.0.1:{port}", "127.0.0.1", port, data, process, log)


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live") / "data"
    live = start_server(data)
    live.admin(
        "tenant",
        "create",
        "other",
        "--display-name",
        "Other Tenant",
        "--email",
        "other@example.com",
    )
    live.admin(
        "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
    )
    yield live
    stop_server(live)


def client(
    server: LiveServer, key: str = ROOT_KEY, secret: str = ROOT_SECRET, **config: Any
) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )


@pytest.fixture(scope="session")
def s3(server: LiveServer) -> Any:
    return client(server)


@pytest.fixture(scope="session")
def other_s3(server: LiveServer) -> Any:
    return client(server, OTHER_KEY, OTHER_SECRET)


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    empty_bucket(s3, name)


def empty_bucket(s3: Any, name: str) -> None:
    try:
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    except ClientError:
        pass  # cleanup must not hide the test's own failure


def have(binary: str) -> bool:
    return shutil.which(binary) is not None
