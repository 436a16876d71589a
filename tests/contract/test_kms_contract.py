"""The KeyService contract against every installed `dolium.kms` key service,
each opened as the server opens it (with a fresh data directory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dolium.config import Config
from dolium.plugins import KMS_GROUP, installed, open_key_service
from dolium.protocols.kms import KeyService
from dolium.testing.kms_contract import TestKeyService

__all__ = ["TestKeyService"]


@pytest.fixture(params=installed(KMS_GROUP))
async def key_service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyService]:
    config = Config(data_dir=tmp_path, kms={"use": request.param})
    service = await open_key_service(config)
    try:
        yield service
    finally:
        await service.close()
