"""A live server whose default policy stacks compress + encrypt + replicate over 3 stores.

S3 and Swift round trips go through the stack; what lies on disk is neither
the plaintext nor named by its digest; a replica deleted or damaged on disk
is read past and rewritten by the read; and a server given the wrong
encryption keyring refuses to start, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import DOLIUM, LiveServer, client, running, start_server, stop_server
from swift_support import new_account

from dolium.core.content.hashing import block_digests
from dolium.modules.encrypt import check_name
from dolium.modules.encrypt_keyring import add_key
from support.blocks import BLOCK, SMALL_BLOCKS, data_of

STORES = ("d1", "d2", "d3")


def config_file(tmp: Path) -> Path:
    path = tmp / "dolium.toml"
    stores = "".join(
        f'[blob.{d}]\nuse = "fs"\noptions = {{ root = "{tmp / d}" }}\n' for d in STORES
    )
    path.write_text(
        f"""
default_policy = "secure"
{stores}
[policy.secure]
modules = ["compress", "encrypt", {{ use = "replicate", stores = {list(STORES)!r} }}]
""".replace("'", '"')
    )
    return path


def files(root: Path, *, blocks_only: bool = False) -> list[Path]:
    """The files of a block store; with `blocks_only`, not the encryption key check."""
    skip = check_name(1).hex() if blocks_only else None
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name[0] != "." and p.name != skip)


def text_of(size: int, seed: str) -> bytes:
    """Compressible data that still has no block in common with another seed's."""
    return data_of(size // 2 + 1, seed).hex().encode()[:size]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config_file(tmp_path))}
    with running(tmp_path / "data", env) as live:
        yield live, tmp_path


def test_s3_and_swift_round_trip_through_the_stack_and_nothing_plain_is_on_disk(
    setup: tuple[LiveServer, Path],
) -> None:
    live, tmp = setup
    s3 = client(live)
    bucket = f"mod-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    body = text_of(5 * BLOCK + 123, "s3")
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body

    account = new_account(live)
    swift = account.connection()
    try:
        swift.put_container("box")
        assert swift.head_container("box")["x-storage-policy"] == "secure"
        swift_body = text_of(3 * BLOCK + 7, "swift")
        swift.put_object("box", "obj", swift_body)
        assert swift.get_object("box", "obj")[1] == swift_body
    finally:
        swift.close()  # its socket, not the collector's business in a later test

    # Readiness asks the stack for a block, as it asks any store.
    assert httpx.get(f"{live.endpoint}/health/ready").status_code == 200
    # The stack's own figures reach /metrics, the compression ratio among them.
    metrics = httpx.get(f"{live.endpoint}/metrics").text.splitlines()
    ratio = [m for m in metrics if "compression_ratio" in m and 'policy="secure"' in m]
    assert ratio and float(ratio[0].rsplit(" ", 1)[1]) > 1.5

    digests = {d.hex() for data in (body, swift_body) for d in block_digests(data, BLOCK)}
    for store in STORES:
        stored = files(tmp / store)
        # Every block in every replica, plus one key-check block.
        assert len(stored) == len(digests) + 1
        assert not digests & {p.name for p in stored}
        for path in stored:
            content = path.read_bytes()
            assert body[:48] not in content and swift_body[:48] not in content
            assert len(content) < BLOCK  # compressed before it was sealed


def test_a_lost_or_damaged_replica_is_read_past_and_repaired(
    setup: tuple[LiveServer, Path],
) -> None:
    live, tmp = setup
    s3 = client(live)
    bucket = f"mod-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    body = text_of(4 * BLOCK, "replicas")
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    first, second = files(tmp / "d1", blocks_only=True), files(tmp / "d2", blocks_only=True)
    good = {p.relative_to(tmp / "d1"): p.read_bytes() for p in first}
    for path in first:
        path.unlink()
    for path in second:
        path.write_bytes(path.read_bytes()[:-3] + b"bad")

    # A copy shares the blocks, which are still there (one good copy is enough).
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    # The blocks read were put back in both stores, as they were.
    for store in ("d1", "d2"):
        found = files(tmp / store, blocks_only=True)
        assert {p.relative_to(tmp / store): p.read_bytes() for p in found} == good


def test_a_wrong_keyring_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config_file(tmp_path))}
    data = tmp_path / "data"
    live = start_server(data, env)
    try:
        s3 = client(live)
        s3.create_bucket(Bucket="keyed")
        s3.put_object(Bucket="keyed", Key="k", Body=text_of(2 * BLOCK, "keyed"))
    finally:
        stop_server(live)
    ring = data / "encrypt-keyring.json"
    ring.unlink()
    add_key(ring)  # a keyring of its own: key 1, but not the one the data was written with
    with pytest.raises(RuntimeError) as info:
        start_server(data, env)
    message = str(info.value)
    assert f"encrypt keyring {ring}: key 1 is not the key this store's data" in message
    assert "Traceback" not in message
    ring.unlink()
    with pytest.raises(RuntimeError, match="missing, and the store holds data"):
        start_server(data, env)


def test_policy_list_reports_the_stack_and_a_rotated_key_seals_new_blocks(
    tmp_path: Path,
) -> None:
    config = config_file(tmp_path)
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config)}
    data = tmp_path / "data"
    old, new = text_of(2 * BLOCK, "old"), text_of(2 * BLOCK, "new")
    with running(data, env) as live:
        s3 = client(live)
        s3.create_bucket(Bucket="rotated")
        s3.put_object(Bucket="rotated", Key="old", Body=old)
        report = json.loads(dolium(live, config, "policy", "list", "--json"))
        secure = report["policies"]["secure"]
        assert report["default_policy"] == "secure"
        assert secure["stack"] == "compress > encrypt > replicate(d1, d2, d3)"
        assert {"compression=zstd", "encryption=AES_GCM_256", "replicas=3"} <= set(
            secure["capabilities"]
        )
        assert secure["statistics"]["blocks"] == 2
        assert secure["statistics"]["compression_ratio"] > 1.5
        assert report["stores"]["d1"]["statistics"]["blocks"] == 3  # and the key check
        assert "secure (default)" in dolium(live, config, "policy", "list")
        rotated = dolium(live, config, "policy", "rotate-key")
        assert "key 2 seals new blocks" in rotated
    with running(data, env) as live:
        s3 = client(live)
        s3.put_object(Bucket="rotated", Key="new", Body=new)
        assert s3.get_object(Bucket="rotated", Key="old")["Body"].read() == old
        assert s3.get_object(Bucket="rotated", Key="new")["Body"].read() == new
    assert len(files(tmp_path / "d1")) == 4 + 2  # two key checks now


def dolium(live: LiveServer, config: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    result = subprocess.run(
        [str(DOLIUM), *args, "--config", str(config), "--data", str(live.data)],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ranges_multipart_and_collection_through_the_stack(tmp_path: Path) -> None:
    env = {
        **SMALL_BLOCKS,
        "DOLIUM_CONFIG": str(config_file(tmp_path)),
        "DOLIUM_GC_GRACE": "1",
        "DOLIUM_GC_INTERVAL": "1",
    }
    with running(tmp_path / "data", env) as live:
        s3 = client(live)
        s3.create_bucket(Bucket="ops")
        body = text_of(3 * BLOCK + 500, "ranges")
        s3.put_object(Bucket="ops", Key="k", Body=body)
        part = s3.get_object(Bucket="ops", Key="k", Range=f"bytes={BLOCK - 10}-{2 * BLOCK + 9}")
        assert part["Body"].read() == body[BLOCK - 10 : 2 * BLOCK + 10]

        upload = s3.create_multipart_upload(Bucket="ops", Key="multi")["UploadId"]
        # Parts but the last are 5 MiB at least, as S3 wants.
        pieces = [text_of(5 * 1024 * 1024 + 1000, "p1"), text_of(BLOCK // 2, "p2")]
        etags = [
            s3.upload_part(Bucket="ops", Key="multi", UploadId=upload, PartNumber=n, Body=p)["ETag"]
            for n, p in enumerate(pieces, 1)
        ]
        s3.complete_multipart_upload(
            Bucket="ops",
            Key="multi",
            UploadId=upload,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]
            },
        )
        assert s3.get_object(Bucket="ops", Key="multi")["Body"].read() == b"".join(pieces)

        # Deleted, the blocks leave every replica: the collector deletes
        # through the stack, by the names the stack stored them under.
        for key in ("k", "multi"):
            s3.delete_object(Bucket="ops", Key=key)
        deadline = time.monotonic() + 30
        while any(files(tmp_path / d, blocks_only=True) for d in STORES):
            assert time.monotonic() < deadline, "the collector left blocks behind"
            time.sleep(0.2)
        assert all(len(files(tmp_path / d)) == 1 for d in STORES)  # the key check stays
