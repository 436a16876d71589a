"""Where each installed key store reads its keys, as the key store contract
(dolium.testing.keys_contract) changes them: the meta store's tables, a key
file rewritten and renamed into place as an operator would, and the records
of a lookup service."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dolium.backends.keys_file import FileKeyStore
from dolium.backends.keys_http import HttpKeyStore
from dolium.backends.keys_meta import MetaKeyStore
from dolium.backends.meta_memory import MemoryMetaStore
from dolium.errors import TenantExists, UserExists
from dolium.model import AccessKey, Tenant, User
from dolium.protocols.keys import KeyStore
from dolium.protocols.meta import MetaStore
from dolium.testing.keys_contract import KeyRecord
from support.key_service import KeyLookupService


def write_key_file(path: Path, records: list[dict[str, Any]]) -> None:
    """Write the whole file elsewhere and rename it into place (never half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"keys": records}, indent=2))
    os.replace(tmp, path)


class MetaSource:
    bound = 0.0

    def __init__(self, meta: MetaStore, store: KeyStore) -> None:
        self.meta = meta
        self.store = store

    async def add(self, record: KeyRecord) -> None:
        tenant = Tenant(record.tenant, canonical_id=f"c-{record.tenant}", display_name="T")
        with suppress(TenantExists):
            await self.meta.create_tenant(tenant)
        with suppress(UserExists):
            await self.meta.create_user(User(record.tenant, record.user, admin=record.admin))
        key = AccessKey(record.access_key, record.secret_key, record.tenant, record.user)
        await self.meta.create_key(key)
        if not record.active:
            await self.meta.revoke_key(record.access_key)

    async def revoke(self, access_key: str) -> None:
        await self.meta.revoke_key(access_key)

    async def remove(self, access_key: str) -> None:
        await self.meta.delete_key(access_key)


class FileSource:
    bound = 1.0  # FileKeyStore's default check_interval

    def __init__(self, path: Path, store: KeyStore) -> None:
        self.path = path
        self.store = store
        self.records: dict[str, dict[str, Any]] = {}

    async def add(self, record: KeyRecord) -> None:
        self.records[record.access_key] = asdict(record)
        write_key_file(self.path, list(self.records.values()))

    async def revoke(self, access_key: str) -> None:
        self.records[access_key]["active"] = False
        write_key_file(self.path, list(self.records.values()))

    async def remove(self, access_key: str) -> None:
        del self.records[access_key]
        write_key_file(self.path, list(self.records.values()))


class HttpSource:
    bound = 1.0  # HttpKeyStore's default cache_ttl

    def __init__(self, service: KeyLookupService, store: KeyStore) -> None:
        self.service = service
        self.store = store

    async def add(self, record: KeyRecord) -> None:
        self.service.put(asdict(record))

    async def revoke(self, access_key: str) -> None:
        self.service.records[access_key]["active"] = False

    async def remove(self, access_key: str) -> None:
        del self.service.records[access_key]


@asynccontextmanager
async def meta_source(tmp: Path) -> AsyncIterator[MetaSource]:
    meta = await MemoryMetaStore.open()
    store = await MetaKeyStore.open(meta=meta)
    try:
        yield MetaSource(meta, store)
    finally:
        await store.close()
        await meta.close()


@asynccontextmanager
async def file_source(tmp: Path) -> AsyncIterator[FileSource]:
    path = tmp / "keys.json"
    write_key_file(path, [])
    store = await FileKeyStore.open(str(path))
    try:
        yield FileSource(path, store)
    finally:
        await store.close()


@asynccontextmanager
async def http_source(tmp: Path) -> AsyncIterator[HttpSource]:
    service = KeyLookupService().start()
    store = await HttpKeyStore.open(service.url, token=service.token)
    try:
        yield HttpSource(service, store)
    finally:
        await store.close()
        service.stop()


KEY_SOURCES: dict[str, Callable[[Path], AbstractAsyncContextManager[Any]]] = {
    "meta": meta_source,
    "file": file_source,
    "http": http_source,
}
