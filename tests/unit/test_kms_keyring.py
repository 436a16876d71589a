"""The local SSE-KMS key service beyond the contract (tests/contract/test_kms_contract.py):
aliases, processes sharing the file, and a keyring file that is always whole
(written to a temporary file, renamed)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from dolium.backends.kms_keyring import DEFAULT_ALIAS, LocalKeyService
from dolium.config import Config
from dolium.errors import ConfigError, Conflict, KmsKeyDisabled, KmsKeyNotFound
from dolium.plugins import open_key_service

DATA_KEY = secrets.token_bytes(32)


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyService:
    return LocalKeyService(tmp_path / "kms-keys.json")


async def test_default_key_is_made_once(keyring: LocalKeyService, tmp_path: Path) -> None:
    first = await keyring.find(None)
    assert first.default and first.alias == DEFAULT_ALIAS and first.enabled
    # Another process on the same file finds the same key.
    assert (await LocalKeyService(tmp_path / "kms-keys.json").find(None)).id == first.id
    assert (await keyring.find(DEFAULT_ALIAS)).id == first.id
    assert [k.id for k in await keyring.keys()] == [first.id]


async def test_lookup_by_id_and_alias(keyring: LocalKeyService) -> None:
    made = await keyring.create("app")
    assert made.alias == "alias/app"
    assert (await keyring.find("alias/app")).id == made.id
    assert (await keyring.find(made.id)).alias == "alias/app"
    with pytest.raises(KmsKeyNotFound):
        await keyring.find("alias/nope")
    with pytest.raises(Conflict):
        await keyring.create("alias/app")
    with pytest.raises(Conflict):
        await keyring.create("aws/mine")


async def test_rotation_keeps_old_material(keyring: LocalKeyService) -> None:
    key = await keyring.create()
    old = await keyring.encrypt(key.id, DATA_KEY, b"{}")
    assert (await keyring.rotate(key.id)).rotations == 1
    new = await keyring.encrypt(key.id, DATA_KEY, b"{}")
    assert old[:4] != new[:4]  # a different material wrapped it
    assert await keyring.decrypt(key.id, old, b"{}") == DATA_KEY
    assert await keyring.decrypt(key.id, new, b"{}") == DATA_KEY


async def test_disabled_key_neither_wraps_nor_unwraps(keyring: LocalKeyService) -> None:
    key = await keyring.create()
    wrapped = await keyring.encrypt(key.id, DATA_KEY, b"{}")
    assert not (await keyring.set_enabled(key.id, False)).enabled
    with pytest.raises(KmsKeyDisabled):
        await keyring.encrypt(key.id, DATA_KEY, b"{}")
    with pytest.raises(KmsKeyDisabled):
        await keyring.decrypt(key.id, wrapped, b"{}")
    # Another process sees the change at once (the file's identity changed).
    await keyring.set_enabled(key.id, True)
    assert await keyring.decrypt(key.id, wrapped, b"{}") == DATA_KEY


async def test_the_file_is_written_whole(keyring: LocalKeyService, tmp_path: Path) -> None:
    other = LocalKeyService(keyring.path)
    key = await keyring.create("durable")
    before = keyring.path.stat().st_ino
    await other.rotate("alias/durable")
    # Replaced by rename, never rewritten in place; no temporary file is left.
    assert keyring.path.stat().st_ino != before
    assert keyring.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kms-keys.json", "kms-keys.json.lock"]
    doc = json.loads(keyring.path.read_text())
    assert [len(k["material"]) for k in doc["keys"]] == [2]
    assert (await keyring.find(key.id)).rotations == 1


async def test_an_unreadable_file_is_a_config_error(keyring: LocalKeyService) -> None:
    keyring.path.write_text("{not json")
    with pytest.raises(ConfigError, match="kms keyring"):
        await keyring.find(None)


async def test_chosen_by_name_in_config(tmp_path: Path) -> None:
    keys = await open_key_service(Config(data_dir=tmp_path))
    assert isinstance(keys, LocalKeyService) and keys.path == tmp_path / "kms-keys.json"
    with pytest.raises(ConfigError, match=r"kms\.use"):
        await open_key_service(Config(data_dir=tmp_path, kms={"use": "no-such-service"}))
    with pytest.raises(ConfigError, match=r"kms\.options\.bogus"):
        await open_key_service(
            Config(data_dir=tmp_path, kms={"use": "local", "options": {"bogus": 1}})
        )
