"""The KeyStore contract against every installed `dolium.keys` key store, and
what each outside store does when its file or service fails."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dolium.backends.keys_file import FileKeyStore
from dolium.backends.keys_http import HttpKeyStore
from dolium.config import Config
from dolium.errors import ConfigError, KeyStoreUnavailable
from dolium.plugins import KEYS_GROUP, installed, open_keys
from dolium.testing.keys_contract import KeySource, TestKeyStore
from support.key_service import KeyLookupService
from support.key_sources import KEY_SOURCES, write_key_file

__all__ = ["TestKeyStore"]

RECORD = {"access_key": "DKFILEKEY0000000001", "secret_key": "s3cret-s3cret", "tenant": "acme"}


@pytest.fixture(params=installed(KEYS_GROUP))
async def key_source(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeySource]:
    name: str = request.param
    if name not in KEY_SOURCES:
        pytest.skip(f"key store {name!r}: no key source in tests/support/key_sources.py")
    async with KEY_SOURCES[name](tmp_path) as source:
        yield source


@pytest.fixture
def service() -> Any:
    running = KeyLookupService().start()
    yield running
    running.stop()


# -- the key file ----------------------------------------------------------------


async def test_a_toml_key_file_is_read_like_a_json_one(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        '[[keys]]\naccess_key = "DKTOML0001"\nsecret_key = "t0ml-secret"\n'
        'tenant = "acme"\nuser = "bob"\nadmin = true\n\n'
        '[[keys]]\naccess_key = "DKTOML0002"\nsecret_key = "other"\ntenant = "acme"\n'
        "active = false\n"
    )
    store = await FileKeyStore.open(str(path))
    found = await store.lookup("DKTOML0001")
    assert found is not None
    assert (found[0].secret_key, found[1].tenant, found[1].user) == ("t0ml-secret", "acme", "bob")
    assert found[1].admin is True
    assert await store.lookup("DKTOML0002") is None


async def test_the_user_defaults_to_the_tenant(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, [RECORD])
    found = await (await FileKeyStore.open(str(path))).lookup(RECORD["access_key"])
    assert found is not None and found[1].user == "acme" and found[1].admin is False


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not valid"),
        ('{"keys": {}}', 'under "keys"'),
        ('{"keys": [{"access_key": "DK1", "tenant": "acme"}]}', "'secret_key'"),
        (
            '{"keys": [{"access_key": "DK1", "secret_key": "x", "tenant": "a", "admin": 1}]}',
            "'admin'",
        ),
    ],
)
async def test_a_bad_key_file_is_a_config_error_at_start(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        await FileKeyStore.open(str(path))


async def test_a_missing_key_file_is_a_config_error_naming_the_option(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, keys={"use": "file", "options": {"path": "/no/such"}})
    with pytest.raises(ConfigError, match=r"keys\.options\.path"):
        await open_keys(config, meta=None)  # type: ignore[arg-type]  # file takes none


async def test_an_unknown_key_store_names_the_installed_ones(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, keys={"use": "ldap"})
    with pytest.raises(ConfigError, match=r"config keys\.use: unknown key store 'ldap'.*'file'"):
        await open_keys(config, meta=None)  # type: ignore[arg-type]


async def test_an_unknown_option_names_the_accepted_ones(tmp_path: Path) -> None:
    options = {"path": str(tmp_path / "k.json"), "interval": 1}
    config = Config(data_dir=tmp_path, keys={"use": "file", "options": options})
    with pytest.raises(ConfigError, match=r"keys\.options\.interval.*check_interval"):
        await open_keys(config, meta=None)  # type: ignore[arg-type]


async def test_a_key_file_broken_later_fails_lookups_until_fixed(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write_key_file(path, [RECORD])
    store = await FileKeyStore.open(str(path), check_interval=0)
    assert await store.lookup(RECORD["access_key"]) is not None
    tmp = tmp_path / "half.json"
    tmp.write_text('{"keys": [')
    os.replace(tmp, path)
    # The old contents may hold a key the edit revokes: not one is accepted.
    with pytest.raises(KeyStoreUnavailable):
        await store.lookup(RECORD["access_key"])
    with pytest.raises(KeyStoreUnavailable):
        await store.lookup("DKOTHER")
    path.unlink()
    with pytest.raises(KeyStoreUnavailable):
        await store.lookup(RECORD["access_key"])
    write_key_file(path, [RECORD])
    assert await store.lookup(RECORD["access_key"]) is not None


async def test_a_secret_never_appears_in_the_errors_of_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    secret = "very-secret-value-123"
    path.write_text(json.dumps({"keys": [{"access_key": "DK1", "secret_key": secret}]}))
    with pytest.raises(ConfigError) as caught:
        await FileKeyStore.open(str(path))
    assert secret not in str(caught.value)


# -- the lookup service ----------------------------------------------------------


async def test_the_service_is_asked_with_the_token(service: KeyLookupService) -> None:
    service.put(RECORD)
    wrong = await HttpKeyStore.open(service.url, token="not-the-token")
    try:
        with pytest.raises(KeyStoreUnavailable, match="401"):
            await wrong.lookup(RECORD["access_key"])
    finally:
        await wrong.close()


@pytest.mark.parametrize("status", [500, 503, 403])
async def test_a_failing_service_is_unavailable_not_unknown(
    service: KeyLookupService, status: int
) -> None:
    service.put(RECORD)
    store = await HttpKeyStore.open(service.url, token=service.token, cache_ttl=0)
    try:
        service.failing = status
        with pytest.raises(KeyStoreUnavailable, match=str(status)):
            await store.lookup(RECORD["access_key"])
        with pytest.raises(KeyStoreUnavailable):
            await store.lookup("DKUNKNOWN")
        service.failing = None
        assert await store.lookup(RECORD["access_key"]) is not None
    finally:
        await store.close()


async def test_failures_are_not_cached(service: KeyLookupService) -> None:
    service.put(RECORD)
    store = await HttpKeyStore.open(service.url, token=service.token, cache_ttl=60)
    try:
        service.failing = 500
        with pytest.raises(KeyStoreUnavailable):
            await store.lookup(RECORD["access_key"])
        service.failing = None
        assert await store.lookup(RECORD["access_key"]) is not None
    finally:
        await store.close()


async def test_a_service_that_is_gone_is_unavailable(service: KeyLookupService) -> None:
    store = await HttpKeyStore.open(service.url, token=service.token, timeout=1)
    service.stop()
    try:
        with pytest.raises(KeyStoreUnavailable, match="request failed"):
            await store.lookup(RECORD["access_key"])
    finally:
        await store.close()


@pytest.mark.parametrize(
    "body",
    [
        {"secret_key": "x"},
        {"secret_key": "x", "tenant": "acme", "access_key": "DKSOMEONEELSE"},
        {"secret_key": "x", "tenant": "acme", "active": "yes"},
    ],
)
async def test_a_body_that_is_not_a_record_is_unavailable(
    service: KeyLookupService, body: dict[str, Any]
) -> None:
    service.records[RECORD["access_key"]] = body
    store = await HttpKeyStore.open(service.url, token=service.token)
    try:
        with pytest.raises(KeyStoreUnavailable, match="not a key record"):
            await store.lookup(RECORD["access_key"])
    finally:
        await store.close()


async def test_a_body_too_big_for_a_record_is_unavailable(service: KeyLookupService) -> None:
    service.put({**RECORD, "padding": "x" * (100 * 1024)})
    store = await HttpKeyStore.open(service.url, token=service.token)
    try:
        with pytest.raises(KeyStoreUnavailable, match="over 65536 bytes"):
            await store.lookup(RECORD["access_key"])
    finally:
        await store.close()


async def test_answers_are_cached_for_the_ttl(service: KeyLookupService) -> None:
    service.put(RECORD)
    store = await HttpKeyStore.open(service.url, token=service.token, cache_ttl=60)
    try:
        for _ in range(3):
            assert await store.lookup(RECORD["access_key"]) is not None
            assert await store.lookup("DKUNKNOWN") is None
        assert service.asked == 2
    finally:
        await store.close()


async def test_lookups_at_the_same_time_share_one_request(service: KeyLookupService) -> None:
    service.put(RECORD)
    store = await HttpKeyStore.open(service.url, token=service.token, cache_ttl=0)
    try:
        found = await asyncio.gather(*(store.lookup(RECORD["access_key"]) for _ in range(8)))
        assert all(f is not None and f[0].secret_key == RECORD["secret_key"] for f in found)
        assert service.asked == 1
        service.failing = 500
        failed = await asyncio.gather(
            *(store.lookup(RECORD["access_key"]) for _ in range(4)), return_exceptions=True
        )
        assert all(isinstance(f, KeyStoreUnavailable) for f in failed)
        assert service.asked == 2
    finally:
        await store.close()


async def test_key_ids_are_sent_percent_encoded(service: KeyLookupService) -> None:
    odd = {**RECORD, "access_key": "DK.odd_key-1"}
    service.put(odd)
    store = await HttpKeyStore.open(service.url + "/", token=service.token)
    try:
        assert await store.lookup("DK.odd_key-1") is not None
        assert await store.lookup("DK/../odd") is None
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"url": "ftp://x/keys"}, r"keys\.options\.url"),
        ({"url": "http://127.0.0.1/keys", "timeout": 0}, r"keys\.options\.timeout"),
        ({"url": "http://127.0.0.1/keys", "cache_ttl": -1}, r"keys\.options\.cache_ttl"),
        ({}, "'url' is required"),
    ],
)
async def test_bad_service_options_are_config_errors(
    tmp_path: Path, options: dict[str, Any], problem: str
) -> None:
    config = Config(data_dir=tmp_path, keys={"use": "http", "options": options})
    with pytest.raises(ConfigError, match=problem):
        await open_keys(config, meta=None)  # type: ignore[arg-type]  # http takes none
