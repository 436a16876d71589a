"""rclone's `swift` backend against the live server (v1 auth), through a
remote defined by environment variables: copy, check, sync, segmented
uploads, server-side copies and purge, with the results read back through
swiftclient."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from swift_support import SwiftAccount
from swiftclient.exceptions import ClientException
from trees import MIB, make_tree, read_tree, run_tool, sha256

RCLONE = shutil.which("rclone")

pytestmark = [
    pytest.mark.client,
    pytest.mark.skipif(RCLONE is None, reason="rclone not on PATH (`make test-deps` installs it)"),
]

Run = Callable[..., subprocess.CompletedProcess[str]]
# Files past 5 MiB go up in 5 MiB segments (a manifest and its segments container).
SEGMENTED = ("--swift-chunk-size=5M",)


@pytest.fixture(scope="module")
def rclone(account: SwiftAccount, tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = tmp_path_factory.mktemp("rclone-swift-home")
    config = home / "rclone.conf"
    config.write_text("")
    # OS_* and ST_* variables of the machine would reach rclone's swift backend.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_", "OS_", "ST_"))
    }
    env.update(
        HOME=str(home),
        RCLONE_CONFIG=str(config),
        RCLONE_CONFIG_SW_TYPE="swift",
        RCLONE_CONFIG_SW_AUTH=account.auth_url,
        RCLONE_CONFIG_SW_USER=f"{account.tenant}:{account.user}",
        RCLONE_CONFIG_SW_KEY=account.secret,
        RCLONE_CONFIG_SW_AUTH_VERSION="1",
    )

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert RCLONE is not None
        return run_tool([RCLONE, *args], env, check=check)

    return run


def swift_tree(account: SwiftAccount, container: str, prefix: str) -> dict[str, bytes]:
    """The objects under `prefix`, by name without the prefix, read with swiftclient."""
    conn = account.connection()
    _, listing = conn.get_container(container, prefix=prefix, full_listing=True)
    return {
        entry["name"][len(prefix) :]: conn.get_object(container, entry["name"])[1]
        for entry in listing
    }


def test_tree_roundtrip_check_sync_purge(
    rclone: Run, account: SwiftAccount, tmp_path: Path
) -> None:
    remote = "sw:rctree"
    rclone("mkdir", remote)
    conn = account.connection()
    conn.head_container("rctree")

    local = tmp_path / "local"
    files = make_tree(local)
    big = local / "big" / "twelve.bin"
    big.parent.mkdir()
    big.write_bytes(os.urandom(12 * MIB))
    files["big/twelve.bin"] = big.read_bytes()

    rclone("copy", *SEGMENTED, str(local), f"{remote}/t")
    head = conn.head_object("rctree", "t/big/twelve.bin")
    assert int(head["content-length"]) == 12 * MIB
    assert "x-object-manifest" in head or "x-static-large-object" in head
    assert swift_tree(account, "rctree", "t/") == files

    listed = json.loads(rclone("lsjson", "-R", "--files-only", f"{remote}/t").stdout)
    assert {e["Path"]: e["Size"] for e in listed} == {k: len(v) for k, v in files.items()}

    # check compares MD5s (the ETag; a segmented file has none and is
    # compared by size); --download compares the bytes themselves.
    rclone("check", str(local), f"{remote}/t")
    rclone("check", "--download", str(local), f"{remote}/t")

    down = tmp_path / "down"
    rclone("copy", f"{remote}/t", str(down))
    assert sha256(down / "big" / "twelve.bin") == sha256(big)
    assert read_tree(down) == read_tree(local)

    (local / "top.txt").write_bytes(b"changed, and longer than before\n")
    (local / "a" / "one.bin").unlink()
    (local / "new.txt").write_bytes(b"new\n")
    rclone("sync", *SEGMENTED, str(local), f"{remote}/t")
    assert swift_tree(account, "rctree", "t/") == read_tree(local)
    rclone("check", str(local), f"{remote}/t")

    # A tampered remote copy is caught by check.
    conn.put_object("rctree", "t/top.txt", b"changed, and longer than befor!\n")
    assert rclone("check", str(local), f"{remote}/t", check=False).returncode != 0

    rclone("purge", remote)
    with pytest.raises(ClientException) as exc:
        conn.head_container("rctree")
    assert exc.value.http_status == 404
    # The segments went with their manifest (rclone leaves their container).
    assert conn.get_container("rctree_segments")[1] == []


def test_modtime_update_and_server_side_copy(
    rclone: Run, account: SwiftAccount, tmp_path: Path
) -> None:
    local = tmp_path / "one"
    local.mkdir()
    (local / "f.txt").write_bytes(b"same content\n")
    rclone("copy", str(local), "sw:rcmod/d")
    # Only the modification time changes: rclone sets it with a POST of metadata.
    os.utime(local / "f.txt", (1_600_000_000, 1_600_000_000))
    rclone("sync", str(local), "sw:rcmod/d")
    conn = account.connection()
    head = conn.head_object("rcmod", "d/f.txt")
    assert float(head["x-object-meta-mtime"]) == 1_600_000_000
    rclone("copyto", "sw:rcmod/d/f.txt", "sw:rcmod/e/g.txt")
    assert conn.get_object("rcmod", "e/g.txt")[1] == b"same content\n"
    listed = json.loads(rclone("lsjson", "sw:rcmod/e").stdout)
    assert [(e["Name"], e["ModTime"][:19]) for e in listed] == [("g.txt", "2020-09-13T12:26:40")]
    rclone("moveto", "sw:rcmod/e/g.txt", "sw:rcmod/e/h.txt")
    assert [e["name"] for e in conn.get_container("rcmod", prefix="e/")[1]] == ["e/h.txt"]
    rclone("purge", "sw:rcmod")


def test_listing_of_the_account_and_directories(rclone: Run, account: SwiftAccount) -> None:
    conn = account.connection()
    conn.put_container("rclist")
    for name in ("x/1", "x/y/2", "z"):
        conn.put_object("rclist", name, b"data")
    assert "rclist" in rclone("lsd", "sw:").stdout
    dirs = rclone("lsf", "sw:rclist").stdout.split()
    assert sorted(dirs) == ["x/", "z"]
    assert sorted(rclone("lsf", "-R", "sw:rclist").stdout.split()) == [
        "x/",
        "x/1",
        "x/y/",
        "x/y/2",
        "z",
    ]
    assert rclone("size", "--json", "sw:rclist").stdout.count('"count":3') == 1
