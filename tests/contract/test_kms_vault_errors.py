"""How the `vault` key service answers what goes wrong with Vault: a refused
token, an unreachable server, a ciphertext of another key, missing options.

It talks to a stand-in for Vault's transit engine
(tests/support/transit_standin.py): Vault cannot be installed here.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dolium.backends.kms_vault import VaultKeyService
from dolium.errors import ConfigError, KmsKeyDisabled, StorageError
from support.transit_standin import transit_standin


async def test_a_refused_token_is_a_storage_error_never_naming_it(tmp_path: Path) -> None:
    with transit_standin("right-token") as address:
        service = await VaultKeyService.open(tmp_path, address=address, token="wrong-token")
        try:
            with pytest.raises(StorageError) as info:
                await service.find(None)
            assert "403" in info.value.message
            assert "wrong-token" not in info.value.message
        finally:
            await service.close()


async def test_a_denied_key_is_a_disabled_key(tmp_path: Path) -> None:
    # Vault's 403 on encrypt/ or decrypt/ (a policy denying the key) reads as disabled.
    with transit_standin("t") as address:
        service = await VaultKeyService.open(tmp_path, address=address, token="t")
        try:
            key = await service.create("denied")
            service.client.headers["X-Vault-Token"] = "revoked"
            with pytest.raises(KmsKeyDisabled):
                await service.encrypt(key.id, b"k" * 32, b"{}")
        finally:
            await service.close()


async def test_an_unreachable_vault_is_a_storage_error(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"http://127.0.0.1:{port}"
    service = await VaultKeyService.open(tmp_path, address=address, token="t", timeout_seconds=2)
    try:
        with pytest.raises(StorageError):
            await service.find(None)
    finally:
        await service.close()


async def test_garbage_in_place_of_a_wrapped_key_is_a_storage_error(tmp_path: Path) -> None:
    with transit_standin("t") as address:
        service = await VaultKeyService.open(tmp_path, address=address, token="t")
        try:
            key = await service.find(None)
            for wrapped in (b"vault:v1:AAAA", b"not a ciphertext", b"\xff\xfe"):
                with pytest.raises(StorageError):
                    await service.decrypt(key.id, wrapped, b"{}")
        finally:
            await service.close()


async def test_missing_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="address"):
        await VaultKeyService.open(tmp_path, token="t")
    with pytest.raises(ConfigError, match="token"):
        await VaultKeyService.open(tmp_path, address="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="token_file"):
        await VaultKeyService.open(
            tmp_path, address="http://127.0.0.1:1", token_file=str(tmp_path / "none")
        )
    with pytest.raises(ConfigError, match="ca_file"):
        await VaultKeyService.open(
            tmp_path, address="https://127.0.0.1:1", token="t", ca_file=str(tmp_path / "none")
        )
