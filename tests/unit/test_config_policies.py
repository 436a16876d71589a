"""Storage policies with module stacks: how the config reads them, and how they open."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dolium.config_load import load_config
from dolium.errors import ConfigError
from dolium.modules.compress import CompressStore
from dolium.modules.encrypt import EncryptStore, check_name
from dolium.modules.replicate import ReplicateStore
from dolium.plugins import open_policies

# The hex file name of the encrypt module's key-check blocks, in each store.
KEY_CHECK = check_name(1).hex()[:16]

STACKED = """
[blob.d1]
use = "fs"
[blob.d2]
use = "fs"
[blob.d3]
use = "fs"
[blob.solo]
use = "memory"
[policy.archive]
modules = [
  "compress",
  { use = "encrypt", mode = "random" },
  { use = "replicate", stores = ["d1", "d2", "d3"] },
]
[policy.small]
modules = [{ use = "compress", level = 9 }]
blob = "solo"
[storage_classes]
GLACIER = "archive"
"""


# A store of the policy's own: one under modules may not be shared.
OWN = '[blob.own]\nuse = "memory"\n'


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "dolium.toml"
    path.write_text(text)
    return load_config(path, {"DOLIUM_DATA": str(tmp_path / "data")}, {})


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert "\n" not in info.value.message
    return info.value.message


def test_a_policy_lists_modules_outermost_first(tmp_path: Path) -> None:
    config = load(tmp_path, STACKED)
    archive = config.policies["archive"]  # type: ignore[attr-defined]
    assert [m.use for m in archive.modules] == ["compress", "encrypt", "replicate"]
    assert archive.modules[1].options == {
        "mode": "random",
        "keyring": str(tmp_path / "data" / "encrypt-keyring.json"),
    }
    assert archive.base_stores == ["d1", "d2", "d3"] and archive.blob is None
    small = config.policies["small"]  # type: ignore[attr-defined]
    assert small.base_stores == ["solo"] and small.modules[0].options == {"level": 9}
    assert config.storage_classes == {"GLACIER": "archive"}  # type: ignore[attr-defined]


async def test_open_policies_builds_the_stacks(tmp_path: Path) -> None:
    config = load(tmp_path, STACKED)
    policies = await open_policies(config)  # type: ignore[arg-type]
    try:
        archive = policies["archive"]
        assert isinstance(archive, CompressStore)
        assert isinstance(archive.inner, EncryptStore)
        assert isinstance(archive.inner.inner, ReplicateStore)
        assert {"compression=zstd", "encryption-keys=random", "replicas=3"} <= (
            archive.capabilities()
        )
        await archive.put(b"\x01" * 32, b"x" * 1000)
        for d in ("d1", "d2", "d3"):
            assert [p for p in (tmp_path / "data" / f"blocks-{d}").rglob("*") if p.is_file()]
    finally:
        for store in policies.values():
            await store.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            OWN + '[policy.p]\nmodules = ["squash"]\nblob = "own"\n',
            "config policy.p.modules[0].use: unknown module 'squash'",
        ),
        (
            OWN + '[policy.p]\nmodules = [{ use = "compress", lvl = 3 }]\nblob = "own"\n',
            "modules[0].lvl: unknown option for module 'compress' (accepted: level)",
        ),
        (
            OWN + '[policy.p]\nmodules = [{ use = "compress", level = 99 }]\nblob = "own"\n',
            "config policy.p.modules[0]: module 'compress': level 99 is not 1..22",
        ),
        (
            '[policy.p]\nmodules = [{ use = "replicate", stores = ["x"] }]\n',
            "config policy.p.modules: no block store 'x'",
        ),
        (
            '[policy.p]\nmodules = [{ use = "replicate", stores = ["default"] }, "compress"]\n',
            "only the last (innermost) module may name stores",
        ),
        (
            '[policy.p]\nmodules = ["compress"]\n',
            "block store 'default' is also used by policy 'standard'",
        ),
        (
            '[policy.p]\nblob = "default"\n[storage_classes]\nGLACIER = "cold"\n',
            "config storage_classes.GLACIER: no storage policy 'cold'",
        ),
        (
            OWN + '[policy.p]\nmodules = [{ use = "compress", options = 5 }]\nblob = "own"\n',
            "config policy.p.modules[0]: options: 5 is not a table",
        ),
        (
            OWN + '[policy.p]\nmodules = [{ use = 3 }]\nblob = "own"\n',
            "config policy.p.modules[0].use: 3 is not a string",
        ),
    ],
)
async def test_policy_errors_are_one_line_naming_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    try:
        config = load(tmp_path, text)
        policies = await open_policies(config)  # type: ignore[arg-type]
        for store in policies.values():
            await store.close()
    except ConfigError as exc:
        assert "\n" not in exc.message
        assert expected in exc.message
    else:
        pytest.fail(f"no error for {text!r}")


async def test_the_archive_policy_stacks_compress_and_encrypt_over_erasure(
    tmp_path: Path,
) -> None:
    stores = "".join(f'[blob.d{i}]\nuse = "fs"\n' for i in range(1, 7))
    config = load(
        tmp_path,
        stores
        + """
[policy.archive]
modules = [
  "compress",
  "encrypt",
  { use = "erasure", k = 4, m = 2, stores = ["d1", "d2", "d3", "d4", "d5", "d6"] },
]
""",
    )
    policies = await open_policies(config)  # type: ignore[arg-type]
    try:
        archive = policies["archive"]
        assert {"compression=zstd", "encryption=AES_GCM_256", "erasure"} <= archive.capabilities()
        data = b"an archived block " * 4000
        digest = hashlib.sha256(data).digest()
        await archive.put(digest, data)
        assert await archive.get(digest) == data
        for i in range(1, 7):  # a share in each store, none of it plaintext
            (share,) = [
                p
                for p in (tmp_path / "data" / f"blocks-d{i}").rglob("*")
                if p.is_file() and p.name[0] != "." and not p.name.startswith(KEY_CHECK)
            ]
            assert data[:64] not in share.read_bytes()
    finally:
        for store in policies.values():
            await store.close()


def test_two_s3_stores_on_one_bucket_need_prefixes_of_their_own(tmp_path: Path) -> None:
    def store(name: str, prefix: str) -> str:
        return (
            f'[blob.{name}]\nuse = "s3"\noptions = {{ endpoint = "http://127.0.0.1:9100/", '
            f'bucket = "b", prefix = "{prefix}", access_key = "k", secret_key = "s" }}\n'
        )

    message = error_of(tmp_path, store("one", "blocks/") + store("two", "blocks/"))
    assert message.startswith("config blob.two: the same bucket ('b') and prefix ('blocks/')")
    assert "blob.one" in message
    load(tmp_path, store("one", "blocks/") + store("two", "other/"))
