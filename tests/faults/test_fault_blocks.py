"""Block files damaged on disk, beyond tests/functional/test_durability.py.

That module covers a flipped byte in a block (500 before the body, or a body
cut short) and a deleted block. Here: the failure is logged with the block
it concerns; a block truncated, swapped for another block's bytes, or
replaced by a directory or by a symlink to a file elsewhere; and copies
made from a damaged source. In every case a client gets an error or a body
cut short, never a wrong byte.
"""

from __future__ import annotations

import http.client
import shutil
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_support import bucket_with, failure

from dolium.core.content.hashing import block_digests
from support.blocks import BLOCK, SMALL_BLOCKS, data_of
from support.live import LiveServer, client, running


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # One server for the module: each test damages data of its own.
    with running(tmp_path_factory.mktemp("blocks") / "data", SMALL_BLOCKS) as server:
        yield server


def block_files(server: LiveServer, data: bytes) -> list[Path]:
    names = [d.hex() for d in block_digests(data, BLOCK)]
    return [server.data / "blocks" / n[0:2] / n[2:4] / n for n in names]


def flip(block: Path, offset: int, mask: int) -> None:
    """Flip bits of one byte of a block file, in place."""
    raw = bytearray(block.read_bytes())
    raw[offset] ^= mask
    block.write_bytes(bytes(raw))


def fetch(server: LiveServer, bucket: str, key: str, range_: str | None = None) -> Any:
    """(status, body received, whether it was cut short), over a raw connection."""
    s3 = client(server, signature_version="s3v4")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300
    )
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request(
            "GET", f"{parts.path}?{parts.query}", headers={"Range": range_} if range_ else {}
        )
        resp = conn.getresponse()
        try:
            return resp.status, resp.read(), False
        except http.client.IncompleteRead as exc:
            return resp.status, exc.partial, True
    finally:
        conn.close()


def assert_never_wrong(server: LiveServer, bucket: str, key: str, expected: bytes) -> None:
    """An error before any byte, or a correct prefix cut short; whole or ranged."""
    for range_, want in ((None, expected), (f"bytes={BLOCK // 2}-", expected[BLOCK // 2 :])):
        status, received, cut = fetch(server, bucket, key, range_)
        if status == 500:
            assert b"<Code>InternalError</Code>" in received
            assert expected[:32] not in received
        else:
            assert status in (200, 206), status
            assert cut, "a damaged object was served whole"
            assert received == want[: len(received)]


Damage = Callable[[Path, Path], None]


def truncate(block: Path, _: Path) -> None:
    block.write_bytes(block.read_bytes()[: BLOCK // 3])


def empty(block: Path, _: Path) -> None:
    block.write_bytes(b"")


def swap_for_other_block(block: Path, other: Path) -> None:
    block.write_bytes(other.read_bytes())


def directory(block: Path, _: Path) -> None:
    block.unlink()
    block.mkdir()


def symlink_to_outside(block: Path, _: Path) -> None:
    elsewhere = block.parents[3] / f"elsewhere-{block.name}"
    elsewhere.write_bytes(b"not the block at all " * 4000)
    block.unlink()
    block.symlink_to(elsewhere)


def symlink_to_a_copy(block: Path, _: Path) -> None:
    """Even the right bytes are not read through a link out of the store."""
    copy = block.parents[3] / f"copy-{block.name}"
    shutil.copyfile(block, copy)
    block.unlink()
    block.symlink_to(copy)


DAMAGES: dict[str, Damage] = {
    "truncated": truncate,
    "emptied": empty,
    "other-block": swap_for_other_block,
    "directory": directory,
    "symlink-outside": symlink_to_outside,
    "symlink-to-copy": symlink_to_a_copy,
}


@pytest.mark.parametrize("index", [0, 2], ids=["first-block", "third-block"])
@pytest.mark.parametrize("how", sorted(DAMAGES))
def test_damaged_block_is_never_served(live: LiveServer, how: str, index: int) -> None:
    bucket = f"damaged-{how}-{index}"
    data = data_of(4 * BLOCK + 10, f"victim-{bucket}")
    other = data_of(BLOCK, f"bystander-{bucket}")
    s3 = bucket_with(live, bucket, "obj", data)
    s3.put_object(Bucket=bucket, Key="bystander", Body=other)
    target = block_files(live, data)[index]
    DAMAGES[how](target, block_files(live, other)[0])

    assert_never_wrong(live, bucket, "obj", data)
    digest = target.name
    logged = [line for line in live.log.read_text().splitlines() if digest in line]
    assert logged, f"no log line names block {digest}"
    assert "Traceback" not in live.log.read_text()
    # The rest of the store is unaffected.
    assert s3.get_object(Bucket=bucket, Key="bystander")["Body"].read() == other


def test_damage_is_logged_with_the_request_id(live: LiveServer) -> None:
    data = data_of(4 * BLOCK, "logged")
    s3 = bucket_with(live, "logged", "corrupt-first", data)
    first = block_files(live, data)[0]
    flip(first, 100, 0xFF)

    try:
        s3.get_object(Bucket="logged", Key="corrupt-first")
    except Exception as exc:
        request_id = exc.response["ResponseMetadata"]["RequestId"]  # type: ignore[attr-defined]
    else:
        raise AssertionError("a corrupt first block was served")
    log = live.log.read_text()
    assert any(request_id in line and first.name in line for line in log.splitlines())

    # A later block found bad mid-body: the cut is logged too.
    s3.put_object(Bucket="logged", Key="missing-third", Body=data_of(4 * BLOCK, "third"))
    third_block = block_files(live, data_of(4 * BLOCK, "third"))[2]
    third_block.unlink()
    status, _, cut = fetch(live, "logged", "missing-third")
    assert (status, cut) == (200, True)
    lines = live.log.read_text().splitlines()
    assert any("aborted mid-body" in line and third_block.name in line for line in lines)


def test_copies_from_a_damaged_source_never_carry_wrong_bytes(live: LiveServer) -> None:
    data = data_of(4 * BLOCK, "source")
    s3 = bucket_with(live, "copies", "source", data)
    flip(block_files(live, data)[1], 7, 0x01)

    copied = True
    try:
        s3.copy_object(
            Bucket="copies", Key="copy", CopySource={"Bucket": "copies", "Key": "source"}
        )
    except Exception:
        copied = False
    if copied:
        assert_never_wrong(live, "copies", "copy", data)

    upload = s3.create_multipart_upload(Bucket="copies", Key="assembled")["UploadId"]
    status, _ = failure(
        lambda: s3.upload_part_copy(
            Bucket="copies",
            Key="assembled",
            UploadId=upload,
            PartNumber=1,
            CopySource={"Bucket": "copies", "Key": "source"},
            CopySourceRange=f"bytes={BLOCK}-{2 * BLOCK - 1}",
        )
    )
    assert status == 500
