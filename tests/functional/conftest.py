"""A live `dolium serve` process and real clients pointed at it."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import httpx
import psutil
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

DOLIUM = str(Path(sys.executable).parent / "dolium")
ROOT_KEY = "DKROOTTESTKEY0000001"
ROOT_SECRET = "root-secret-for-tests-only-0000000000000"
OTHER_KEY = "DKOTHERTESTKEY000001"
OTHER_SECRET = "other-secret-for-tests-only-000000000000"
# The pip package (CLI v1) of the test extras; v2 presigns and reports differently.
AWS = Path(sys.executable).parent / "aws"
needs_aws = pytest.mark.skipif(
    not AWS.exists(), reason="aws CLI not installed (pip install awscli)"
)

AwsCli = Callable[..., subprocess.CompletedProcess[str]]


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


def server_processes(server: LiveServer) -> list[psutil.Process]:
    """The server's processes: its workers, then the parent that forked them."""
    try:
        parent = psutil.Process(server.process.pid)
        return [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return []


def signal_server(server: LiveServer, signum: int) -> None:
    """Send `signum` to every process of the server at once, as a power cut
    or an out-of-memory kill of the whole service would reach them all: the
    parent first, so that it starts no worker in place of one stopped."""
    for process in reversed(server_processes(server)):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signum)


def kill_server(server: LiveServer) -> None:
    """SIGKILL every process of the server, and wait until none is left (so
    that nothing holds its files)."""
    processes = server_processes(server)
    signal_server(server, signal.SIGKILL)
    server.process.wait(timeout=30)
    psutil.wait_procs(processes, timeout=30)


@contextlib.contextmanager
def running(data: Path, extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A server of its own while the block runs, stopped however the block ends."""
    live = start_server(data, extra_env)
    try:
        yield live
    finally:
        stop_server(live)


def own_server(label: str, extra_env: dict[str, str]) -> Any:
    """A module-scoped fixture: a server on fresh data, started with settings of its own.

    Assign it to the fixture's name: `web = own_server("website", {...})`.
    """

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
        with running(tmp_path_factory.mktemp(label) / "data", extra_env) as live:
            yield live

    return fixture


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running(tmp_path_factory.mktemp("live") / "data") as live:
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


# Every client made, kept until the tests end: one collected mid-run would
# close its pooled sockets in whichever test is running, as a ResourceWarning
# that fails that test.
_CLIENTS: list[Any] = []
atexit.register(lambda: [made.close() for made in _CLIENTS])


def client(
    server: LiveServer, key: str = ROOT_KEY, secret: str = ROOT_SECRET, **config: Any
) -> Any:
    made = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config),
    )
    _CLIENTS.append(made)
    return made


@pytest.fixture(scope="session")
def s3(server: LiveServer) -> Any:
    return client(server)


@pytest.fixture(scope="session")
def other_s3(server: LiveServer) -> Any:
    return client(server, OTHER_KEY, OTHER_SECRET)


@pytest.fixture(scope="session")
def anon(server: LiveServer) -> Any:
    """boto3 that signs nothing: an anonymous caller."""
    return client(server, signature_version=UNSIGNED)


@pytest.fixture(scope="session")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 MiB of random bytes: over the 8 MiB at which clients turn to multipart uploads."""
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(os.urandom(20 * 1024 * 1024))
    return path


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    with fresh_bucket(s3) as name:
        yield name


@contextlib.contextmanager
def fresh_bucket(s3: Any, prefix: str = "test") -> Iterator[str]:
    """A bucket of a new name, emptied and removed after the block."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_bucket(s3, name)


@pytest.fixture
def versioned(s3: Any) -> Iterator[str]:
    """A bucket with versioning enabled; every version goes with it afterwards."""
    name = f"ver-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name
    delete_everything(s3, name)


def delete_everything(s3: Any, name: str) -> None:
    """Remove every version and delete marker, then the bucket, listing as we go.

    One DELETE each: DeleteObjects cannot carry keys with control characters,
    which XML 1.0 has no way to write.
    """
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=name)


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


# --------------------------------------------------------------------------- virtual hosts

vhost_server = own_server("vhost", {"DOLIUM_DOMAINS": "localhost"})


def vhost_client(live: LiveServer, signature_version: str = "s3v4") -> Any:
    """boto3 with virtual-hosted addressing on localhost, connecting to 127.0.0.1.

    `<bucket>.localhost` need not resolve: each request is sent to the server's
    address with the Host header (and signature) of the virtual-hosted name.
    The hosts it addressed are kept in `hosts_seen`.
    """
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://localhost:{live.port}",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        region_name="us-east-1",
        config=BotoConfig(
            s3={"addressing_style": "virtual"},
            signature_version=signature_version,
            retries={"max_attempts": 1},
        ),
    )
    _CLIENTS.append(s3)
    hosts: list[str] = []

    def reroute(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        hosts.append(parts.netloc)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=f"{live.host}:{live.port}"))

    s3.meta.events.register("before-send.s3", reroute)
    s3.hosts_seen = hosts
    return s3


# --------------------------------------------------------------------------- the aws CLI


def aws_cli(endpoint: str, home: Path) -> AwsCli:
    """Run `aws ... --endpoint-url endpoint` as root, blind to the host's AWS settings.

    `config` stands in for the config file, `stdin` is fed to the command, and
    with `check` a failure shows its output. Output is decoded, never strictly.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ROOT_KEY,
        AWS_SECRET_ACCESS_KEY=ROOT_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )

    def run(
        *args: str, config: Path | None = None, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        run_env = env if config is None else {**env, "AWS_CONFIG_FILE": str(config)}
        result = subprocess.run(
            [str(AWS), *args, "--endpoint-url", endpoint],
            input=stdin,
            capture_output=True,
            env=run_env,
            timeout=120,
            check=False,
        )
        decoded = subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )
        if check:
            assert result.returncode == 0, (args, decoded.stdout, decoded.stderr)
        return decoded

    return run


@pytest.fixture
def aws(server: LiveServer, tmp_path: Path) -> AwsCli:
    """The aws CLI against the shared server (mark the test `needs_aws`)."""
    return aws_cli(server.endpoint, tmp_path)


# -- Swift accounts ------------------------------------------------------------------
def _swift_account(server: LiveServer) -> Any:
    """A fresh Swift account on `server` whose owner is its admin user:
    swift_support.SwiftAccount."""
    from swift_support import new_account  # it imports this module

    return new_account(server)


@pytest.fixture(scope="module")
def alice(server: LiveServer) -> Any:
    """A Swift account of the module's own on the shared server."""
    return _swift_account(server)


@pytest.fixture(scope="module")
def account(server: LiveServer) -> Any:
    """A Swift account of the module's own on the shared server (another name
    the modules use for it)."""
    return _swift_account(server)


@pytest.fixture
def owner(alice: Any) -> Iterator[httpx.Client]:
    """httpx on `alice`'s storage URL, with a fresh token."""
    with alice.http() as made:
        yield made


@pytest.fixture
def http(account: Any) -> Iterator[httpx.Client]:
    """httpx on `account`'s storage URL, with a fresh token."""
    with account.http() as made:
        yield made
