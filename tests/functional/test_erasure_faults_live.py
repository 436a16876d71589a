"""Faults on disk under a live server whose `archive` policy is compress + encrypt +
erasure 4+2 over six fs stores.

Up to m = 2 shares of a block deleted, truncated or overwritten: every read
returns the right bytes, and `dolium scrub --repair`, run beside the server,
puts every share back as it was. Three shares of a block lost: the read fails
(a 500 before any header when it is the first block, a body cut short of its
Content-Length after it), never wrong bytes, and the scrub names the object
version. Stores that refuse writes, below the write quorum: a PUT (or a part's
upload) is a 503 and leaves neither object, version nor part, while what
was stored still reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import DOLIUM, LiveServer, client, running

from dolium.backends.blob_memory import MemoryBlobStore
from dolium.core.content.hashing import block_digests
from dolium.modules.encrypt import EncryptStore
from dolium.modules.encrypt_keyring import read_keys
from dolium.modules.erasure import share_name
from support.blocks import BLOCK, SMALL_BLOCKS, data_of

K, M = 4, 2
STORES = tuple(f"d{i}" for i in range(1, K + M + 1))


def config_file(tmp: Path) -> Path:
    path = tmp / "dolium.toml"
    stores = "".join(
        f'[blob.{d}]\nuse = "fs"\noptions = {{ root = "{tmp / d}" }}\n' for d in STORES
    )
    erasure = f'{{ use = "erasure", k = {K}, m = {M}, stores = {list(STORES)!r} }}'
    path.write_text(
        f'{stores}\n[policy.archive]\nmodules = ["compress", "encrypt", {erasure}]\n'.replace(
            "'", '"'
        )
    )
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    tmp = tmp_path_factory.mktemp("erasure-faults")
    env = {**SMALL_BLOCKS, "DOLIUM_CONFIG": str(config_file(tmp))}
    with running(tmp / "data", env) as server:
        yield server, tmp


def archive_bucket(server: LiveServer) -> tuple[Any, str]:
    """A client, and a new versioned bucket created with the `archive` policy."""
    s3 = client(server)

    def choose(request: Any, **_: Any) -> None:
        request.headers["x-dolium-storage-policy"] = "archive"

    s3.meta.events.register("before-sign.s3.CreateBucket", choose)
    name = f"arch-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return s3, name


def share_files(server: LiveServer, tmp: Path, data: bytes) -> list[list[Path]]:
    """For each block of `data`, the file of each of its k + m shares, by index.

    The stores below `encrypt` know a block by its sealed name, which the
    keyring gives (the module's own naming, on a store that holds nothing).
    """
    ring = server.data / "encrypt-keyring.json"
    names = EncryptStore(MemoryBlobStore(), ring, "convergent", read_keys(ring))
    out = []
    for digest in block_digests(data, BLOCK):
        sealed = names.inner_name(digest)
        row = []
        for index, store in enumerate(STORES):
            hexname = share_name(sealed, index).hex()
            row.append(tmp / store / hexname[0:2] / hexname[2:4] / hexname)
        out.append(row)
    return out


def snapshot(rows: list[list[Path]]) -> dict[Path, bytes]:
    return {path: path.read_bytes() for row in rows for path in row}


def on_disk(rows: list[list[Path]]) -> dict[Path, bytes]:
    """The share files of `rows` that exist, and their bytes."""
    return snapshot([[p for p in row if p.exists()] for row in rows])


def damage(path: Path, how: str) -> None:
    if how == "deleted":
        path.unlink()
    elif how == "truncated":
        os.truncate(path, path.stat().st_size // 2)
    else:  # bytes in the middle overwritten
        raw = bytearray(path.read_bytes())
        middle = len(raw) // 2
        raw[middle : middle + 16] = bytes(b ^ 0xFF for b in raw[middle : middle + 16])
        path.write_bytes(bytes(raw))


def scrub(server: LiveServer, tmp: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """`dolium scrub --json` on the server's data and config, beside the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLIUM_")}
    config = str(tmp / "dolium.toml")
    done = subprocess.run(
        [DOLIUM, "scrub", "--json", "--config", config, "--data", str(server.data), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


# What is done to which shares of each block: data shares, parity shares, both.
PATTERNS = [
    {0: "deleted"},
    {0: "deleted", 1: "deleted"},
    {2: "truncated", 5: "truncated"},
    {4: "overwritten", 5: "overwritten"},
    {1: "truncated", 3: "overwritten"},
    {0: "overwritten", 4: "deleted"},
]


def test_up_to_m_damaged_shares_read_back_and_scrub_repairs_them(
    live: tuple[LiveServer, Path],
) -> None:
    server, tmp = live
    s3, bucket = archive_bucket(server)
    body = data_of(5 * BLOCK + 777, "up to m")  # six blocks, the last one short
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    rows = share_files(server, tmp, body)
    stored = snapshot(rows)
    for row, pattern in zip(rows, PATTERNS, strict=True):
        for index, how in pattern.items():
            damage(row[index], how)
    damaged = on_disk(rows)

    # Without --repair the scrub reports every block short of a share, and
    # changes nothing (not even by reading the block through the store).
    code, report = scrub(server, tmp, "--bucket", bucket)
    assert code == 1 and not report["clean"]
    assert (report["degraded"], report["lost"], report["unrecoverable"]) == (6, 0, [])
    assert on_disk(rows) == damaged

    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    ranged = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={BLOCK - 5}-{3 * BLOCK + 4}")
    assert ranged["Body"].read() == body[BLOCK - 5 : 3 * BLOCK + 5]
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body

    # The reads healed the shares they met; the repair rebuilds the rest,
    # byte for byte as they were written (the coding and sealing are
    # deterministic).
    code, report = scrub(server, tmp, "--bucket", bucket, "--repair")
    assert code == 0 and report["clean"], report
    assert report["blocks"] == 6 and report["lost"] == report["degraded"] == 0
    assert snapshot(rows) == stored
    code, report = scrub(server, tmp, "--bucket", bucket)
    assert code == 0 and report["clean"] and report["ok"] == 6 and report["repaired"] == 0


def test_m_plus_one_lost_shares_fail_the_read_and_scrub_names_the_version(
    live: tuple[LiveServer, Path],
) -> None:
    server, tmp = live
    s3, bucket = archive_bucket(server)
    head = data_of(4 * BLOCK, "lost first block")
    middle = data_of(4 * BLOCK, "lost third block")
    sound = data_of(2 * BLOCK, "sound")
    v_head = s3.put_object(Bucket=bucket, Key="head", Body=head)["VersionId"]
    v_middle = s3.put_object(Bucket=bucket, Key="middle", Body=middle)["VersionId"]
    s3.put_object(Bucket=bucket, Key="sound", Body=sound)
    head_rows, middle_rows = share_files(server, tmp, head), share_files(server, tmp, middle)
    damage(head_rows[0][0], "deleted")
    damage(head_rows[0][3], "truncated")
    damage(head_rows[0][5], "overwritten")
    for index in (1, 2, 4):
        damage(middle_rows[2][index], "deleted")

    # The first block is read before any header goes out: a plain 500.
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key="head")
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert info.value.response["Error"]["Code"] == "InternalError"
    # A later block fails once the 200 and its Content-Length are sent: the
    # connection is cut short of the length, after the right bytes only.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "middle"})
    received = bytearray()
    with httpx.stream("GET", url, timeout=30) as response:
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(middle)
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_raw():
                received += chunk
    assert len(received) <= 2 * BLOCK
    assert bytes(received) == middle[: len(received)]
    assert s3.get_object(Bucket=bucket, Key="sound")["Body"].read() == sound

    code, report = scrub(server, tmp, "--bucket", bucket, "--repair")
    assert code == 1 and not report["clean"]
    assert report["lost"] == 2 and report["ok"] + report["repaired"] == 8
    named = {(d["bucket"], d["key"], d["version_id"], d["block"]) for d in report["unrecoverable"]}
    assert named == {
        (bucket, "head", v_head, block_digests(head, BLOCK)[0].hex()),
        (bucket, "middle", v_middle, block_digests(middle, BLOCK)[2].hex()),
    }

    # As for any lost block, an upload of the same content stores it again.
    s3.put_object(Bucket=bucket, Key="head-again", Body=head)
    assert s3.get_object(Bucket=bucket, Key="head", VersionId=v_head)["Body"].read() == head


def block_tree(root: Path) -> set[Path]:
    """The share files of a store (not temporaries, not the quarantine)."""
    return {
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and "quarantine" not in p.parts
    }


def unwritable(root: Path) -> Path:
    """Make a store refuse every write (the server runs as root, so modes would not):
    its directory moves aside and a file takes its place. Where it moved."""
    aside = root.with_name(root.name + "-aside")
    root.rename(aside)
    root.write_bytes(b"not a directory")
    return aside


def restore(root: Path, aside: Path) -> None:
    root.unlink()
    aside.rename(root)


def test_below_the_write_quorum_a_put_is_503_and_leaves_nothing(
    live: tuple[LiveServer, Path],
) -> None:
    server, tmp = live
    s3, bucket = archive_bucket(server)
    kept = data_of(3 * BLOCK, "stored before")
    s3.put_object(Bucket=bucket, Key="kept", Body=kept)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    roots = [tmp / d for d in STORES]
    asides = [unwritable(roots[1])]
    try:
        # One store down: five shares of six meet the quorum (k + 1).
        degraded = data_of(2 * BLOCK, "five of six")
        s3.put_object(Bucket=bucket, Key="degraded", Body=degraded)
        assert s3.get_object(Bucket=bucket, Key="degraded")["Body"].read() == degraded

        asides.append(unwritable(roots[4]))
        writable = [r for i, r in enumerate(roots) if i not in (1, 4)]
        before = {r: block_tree(r) for r in writable}
        refused = data_of(3 * BLOCK, "four of six")
        for key in ("refused", "degraded"):
            with pytest.raises(ClientError) as info:
                s3.put_object(Bucket=bucket, Key=key, Body=refused)
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
        with pytest.raises(ClientError) as info:
            s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=refused)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert not s3.list_parts(Bucket=bucket, Key="parts", UploadId=upload).get("Parts")
        # Neither an object nor a version, and the shares that were taken are gone.
        with pytest.raises(ClientError) as missing:
            s3.head_object(Bucket=bucket, Key="refused")
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        versions = s3.list_object_versions(Bucket=bucket)
        assert sorted(v["Key"] for v in versions.get("Versions", [])) == ["degraded", "kept"]
        assert not versions.get("DeleteMarkers")
        after = {r: block_tree(r) for r in writable}
        assert {r.name: sorted(p.name for p in after[r] ^ before[r]) for r in writable} == {
            r.name: [] for r in writable
        }

        # What was stored still reads, from the four stores left.
        assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == kept
        assert s3.get_object(Bucket=bucket, Key="degraded")["Body"].read() == degraded
    finally:
        for root, aside in zip((roots[1], roots[4]), asides, strict=False):
            restore(root, aside)
    # Back in service, the repair fills in what the stores missed.
    code, report = scrub(server, tmp, "--bucket", bucket, "--repair")
    assert code == 0 and report["clean"], report
    assert s3.put_object(Bucket=bucket, Key="refused", Body=refused)
    assert s3.get_object(Bucket=bucket, Key="refused")["Body"].read() == refused
