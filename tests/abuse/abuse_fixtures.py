"""Fixtures of the abuse tests: one live server, checked after every test.

Test modules load this module as a plugin (`pytest_plugins`), not as a
conftest: the functional tests `import conftest`, and a second module of
that name would shadow theirs. Tests never import it themselves, so that
pytest can rewrite its asserts.

Hostile input must never take the server down or leave it unable to serve
the next, ordinary client: `still_serving` follows every test with a normal
write and read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from support.blocks import SMALL_BLOCKS
from support.live import client, running


@pytest.fixture(scope="session")
def abuse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # A directory of its own, so that tests can check nothing appears beside `data`.
    data = tmp_path_factory.mktemp("abuse") / "box" / "data"
    data.parent.mkdir()
    with running(data, SMALL_BLOCKS) as server:
        yield server


@pytest.fixture(scope="session")
def abuse_s3(abuse_server: Any) -> Any:
    return client(abuse_server)


@pytest.fixture(scope="session")
def abuse_bucket(abuse_s3: Any) -> str:
    name = f"abuse-{uuid.uuid4().hex[:12]}"
    abuse_s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def server_process(abuse_server: Any) -> psutil.Process:
    return psutil.Process(abuse_server.process.pid)


@pytest.fixture
def still_serving(abuse_server: Any, abuse_s3: Any, abuse_bucket: str) -> Iterator[None]:
    yield
    assert abuse_server.process.poll() is None, "the server died"
    body = uuid.uuid4().bytes * 4096  # 64 KiB: goes through the block store
    abuse_s3.put_object(Bucket=abuse_bucket, Key="canary", Body=body)
    assert abuse_s3.get_object(Bucket=abuse_bucket, Key="canary")["Body"].read() == body
