"""Contract suite for KeyService implementations (SSE-KMS key services).

A test module imports `TestKeyService` and provides a `key_service` fixture:
a service open on empty key storage. The suite uses only the protocol, so a
third-party service (Vault transit, a cloud KMS) runs it as it is.
"""

from __future__ import annotations

import secrets

import pytest

from dolium.errors import Conflict, KmsKeyDisabled, KmsKeyNotFound, StorageError
from dolium.protocols.kms import KeyService

DATA_KEY = secrets.token_bytes(32)


class TestKeyService:
    async def test_default_key_is_made_once(self, key_service: KeyService) -> None:
        first = await key_service.find(None)
        assert first.default and first.enabled
        assert (await key_service.find(None)).id == first.id
        assert (await key_service.find(first.id)).id == first.id

    async def test_created_keys_are_found_by_id_and_alias(self, key_service: KeyService) -> None:
        made = await key_service.create("contract")
        assert made.enabled and not made.default and made.alias == "alias/contract"
        assert (await key_service.find("alias/contract")).id == made.id
        assert made.id in [k.id for k in await key_service.keys()]
        with pytest.raises(KmsKeyNotFound):
            await key_service.find("alias/none-such")
        with pytest.raises(KmsKeyNotFound):
            await key_service.encrypt("none-such", DATA_KEY, b"{}")
        with pytest.raises(Conflict):
            await key_service.create("contract")

    async def test_wrapped_keys_open_only_with_their_key_and_context(
        self, key_service: KeyService
    ) -> None:
        a = await key_service.create()
        b = await key_service.create()
        wrapped = await key_service.encrypt(a.id, DATA_KEY, b'{"k":"v"}')
        assert DATA_KEY not in wrapped
        assert await key_service.decrypt(a.id, wrapped, b'{"k":"v"}') == DATA_KEY
        with pytest.raises(StorageError):
            await key_service.decrypt(a.id, wrapped, b'{"k":"w"}')
        with pytest.raises(StorageError):
            await key_service.decrypt(b.id, wrapped, b'{"k":"v"}')

    async def test_rotation_keeps_what_was_wrapped(self, key_service: KeyService) -> None:
        key = await key_service.create()
        old = await key_service.encrypt(key.id, DATA_KEY, b"{}")
        assert (await key_service.rotate(key.id)).rotations == key.rotations + 1
        new = await key_service.encrypt(key.id, DATA_KEY, b"{}")
        assert await key_service.decrypt(key.id, old, b"{}") == DATA_KEY
        assert await key_service.decrypt(key.id, new, b"{}") == DATA_KEY

    async def test_a_disabled_key_neither_wraps_nor_unwraps(self, key_service: KeyService) -> None:
        key = await key_service.create()
        wrapped = await key_service.encrypt(key.id, DATA_KEY, b"{}")
        assert not (await key_service.set_enabled(key.id, False)).enabled
        assert not (await key_service.find(key.id)).enabled
        with pytest.raises(KmsKeyDisabled):
            await key_service.encrypt(key.id, DATA_KEY, b"{}")
        with pytest.raises(KmsKeyDisabled):
            await key_service.decrypt(key.id, wrapped, b"{}")
        await key_service.set_enabled(key.id, True)
        assert await key_service.decrypt(key.id, wrapped, b"{}") == DATA_KEY
