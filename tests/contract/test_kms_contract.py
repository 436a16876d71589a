"""The KeyService contract against every installed `dolium.kms` key service,
each opened as the server opens it (with a fresh data directory).

The `vault` key service talks to a stand-in for Vault's transit engine
(tests/support/transit_standin.py): Vault cannot be installed here."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dolium.config import Config
from dolium.plugins import KMS_GROUP, installed, open_key_service
from dolium.protocols.kms import KeyService
from dolium.testing.kms_contract import TestKeyService
from support.transit_standin import transit_standin

__all__ = ["TestKeyService"]


@pytest.fixture(params=installed(KMS_GROUP))
async def key_service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyService]:
    with contextlib.ExitStack() as stack:
        options: dict[str, Any] = {}
        if request.param == "vault":  # the one service that needs a server of its own
            options = {"address": stack.enter_context(transit_standin("t0k")), "token": "t0k"}
        config = Config(data_dir=tmp_path, kms={"use": request.param, "options": options})
        service = await open_key_service(config)
        try:
            yield service
        finally:
            await service.close()
