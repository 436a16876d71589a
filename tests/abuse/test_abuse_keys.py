"""Keys that look like paths, carry NULs or invalid UTF-8, or are too long.


A key is an opaque string to S3: `../x` is stored as `../x`, never resolved
against a directory. Each test checks the file system around the data
directory, and the shape of the block store inside it, before and after.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from abuse_support import error_code, exchange, signed, statuses

from support.live import LiveServer

pytest_plugins = ("abuse_fixtures",)
pytestmark = pytest.mark.usefixtures("still_serving")

ESCAPE = f"dolium-escape-{uuid.uuid4().hex[:8]}"

PATH_LIKE = [
    "../x",
    f"../../../../../../../../tmp/{ESCAPE}",
    f"/{ESCAPE}",
    "//double//slash",
    "a\\b",
    f"..\\..\\..\\{ESCAPE}",
    "a\x00b",
    "\x00",
    ".",
    "..",
    "a/./b",
    "a/../../b",
    "blocks/../meta.sqlite3",
    "~/.ssh/authorized_keys",
    "C:\\Windows\\x",
    "%2e%2e%2fx",
    "\u00e9/\u00fc/\U0001f600",
]

BLOCK_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/(\.)?[0-9a-f]+(\.[0-9a-f]+\.(tmp|trash))?")


def outside(server: LiveServer) -> set[Path]:
    """Everything beside the data directory, in the directory that holds it."""
    box = server.data.parent
    return {p for p in box.rglob("*") if server.data not in p.parents and p != server.data}


def check_data_dir(server: LiveServer, top_level: set[str]) -> None:
    assert {p.name for p in server.data.iterdir()} == top_level
    blocks = server.data / "blocks"
    for path in blocks.rglob("*"):
        if path.is_file():
            assert BLOCK_FILE.fullmatch(path.relative_to(blocks).as_posix()), path


@pytest.fixture
def fenced(abuse_server: LiveServer) -> Any:
    """Fails the test if anything appears outside the data directory."""
    before = outside(abuse_server)
    top_level = {p.name for p in abuse_server.data.iterdir()}
    yield
    assert outside(abuse_server) == before
    check_data_dir(abuse_server, top_level)
    for place in (Path("/tmp") / ESCAPE, Path("/") / ESCAPE):
        assert not place.exists()


@pytest.mark.usefixtures("fenced")
def test_path_like_keys_are_opaque(abuse_s3: Any, abuse_bucket: str) -> None:
    prefix = f"paths-{uuid.uuid4().hex[:6]}/"
    bodies = {}
    for n, name in enumerate(PATH_LIKE):
        key = prefix + name
        # Some inline in the meta store, some in blocks.
        bodies[key] = f"{n}:{name}".encode() * (1 if n % 2 else 5000)
        abuse_s3.put_object(Bucket=abuse_bucket, Key=key, Body=bodies[key])
    for key, body in bodies.items():
        assert abuse_s3.get_object(Bucket=abuse_bucket, Key=key)["Body"].read() == body, key
    listed = abuse_s3.list_objects_v2(Bucket=abuse_bucket, Prefix=prefix)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(bodies)
    # Copies between them stay opaque too.
    source = prefix + "../x"
    abuse_s3.copy_object(
        Bucket=abuse_bucket,
        Key=prefix + "a/../../copied",
        CopySource={"Bucket": abuse_bucket, "Key": source},
    )
    got = abuse_s3.get_object(Bucket=abuse_bucket, Key=prefix + "a/../../copied")
    assert got["Body"].read() == bodies[source]
    # XML 1.0 cannot carry a NUL: those keys go one by one.
    keys = [*bodies, prefix + "a/../../copied"]
    batch = [{"Key": k} for k in keys if "\x00" not in k]
    deleted = abuse_s3.delete_objects(Bucket=abuse_bucket, Delete={"Objects": batch})
    assert len(deleted["Deleted"]) == len(batch)
    for key in keys:
        if "\x00" in key:
            abuse_s3.delete_object(Bucket=abuse_bucket, Key=key)
    assert abuse_s3.list_objects_v2(Bucket=abuse_bucket, Prefix=prefix)["KeyCount"] == 0


@pytest.mark.usefixtures("fenced")
@pytest.mark.parametrize(
    "encoded", ["%FF", "%C0%AF", "%ED%A0%80", "a%80b", "%F4%90%80%80", "%E2%82"]
)
def test_invalid_utf8_in_the_path_is_invalid_uri(
    abuse_server: LiveServer, abuse_bucket: str, encoded: str
) -> None:
    host = f"{abuse_server.host}:{abuse_server.port}"
    for method in ("PUT", "GET", "DELETE"):
        request = f"{method} /{abuse_bucket}/{encoded} HTTP/1.1\r\nHost: {host}\r\n"
        request += "Content-Length: 4\r\nConnection: close\r\n\r\ndata"
        received = exchange(abuse_server, request.encode())
        assert statuses(received) == [400], received[:200]
        assert error_code(received.partition(b"\r\n\r\n")[2]) == "InvalidURI"


@pytest.mark.usefixtures("fenced")
def test_key_length_is_counted_in_utf8_bytes(abuse_s3: Any, abuse_bucket: str) -> None:
    from botocore.exceptions import ClientError

    for fits in ("k" * 1024, "\u00e9" * 512):
        abuse_s3.put_object(Bucket=abuse_bucket, Key=fits, Body=b"fits")
        assert abuse_s3.get_object(Bucket=abuse_bucket, Key=fits)["Body"].read() == b"fits"
        abuse_s3.delete_object(Bucket=abuse_bucket, Key=fits)
    for too_long in ("k" * 1025, "\u00e9" * 513, "k" * 10_000):
        with pytest.raises(ClientError) as info:
            abuse_s3.put_object(Bucket=abuse_bucket, Key=too_long, Body=b"x")
        assert info.value.response["Error"]["Code"] == "KeyTooLongError"


@pytest.mark.usefixtures("fenced")
def test_very_long_keys_on_every_method(abuse_server: LiveServer, abuse_bucket: str) -> None:
    key = "k" * 40_000
    put = signed(abuse_server, "PUT", f"/{abuse_bucket}/{key}", b"x")
    assert put.status == 400
    assert error_code(put.body) == "KeyTooLongError"
    for method in ("GET", "HEAD", "DELETE"):
        reply = signed(abuse_server, method, f"/{abuse_bucket}/{key}")
        assert 400 <= reply.status < 500, (method, reply.status)
    upload = signed(abuse_server, "POST", f"/{abuse_bucket}/{key}?uploads")
    assert (upload.status, error_code(upload.body)) == (400, "KeyTooLongError")
