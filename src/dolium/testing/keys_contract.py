"""Contract suite for KeyStore implementations (where access keys are looked up).

A test module imports `TestKeyStore` and provides a `key_source` fixture: a
`KeySource`, which holds the store under test open and can add, revoke and
remove keys where that store reads them (the meta store's tables, a key
file, a lookup service). Its `bound` is how long, in seconds, the store may
go on answering as before a change: the bound its documentation promises.
The suite uses only the protocol, so a third-party store runs it as it is.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Protocol

from dolium.protocols.keys import KeyStore

# How much later than its bound a store is looked at again: the margin
# covers the scheduling of a busy machine, not the store's own delay.
MARGIN = 0.25


@dataclass(frozen=True)
class KeyRecord:
    access_key: str
    secret_key: str
    tenant: str
    user: str
    admin: bool = False
    active: bool = True


class KeySource(Protocol):
    store: KeyStore
    bound: float

    async def add(self, record: KeyRecord) -> None:
        """Make `record` known to the store (replacing one of the same id)."""

    async def revoke(self, access_key: str) -> None:
        """Keep the key but mark it inactive."""

    async def remove(self, access_key: str) -> None:
        """Forget the key altogether."""


def new_record(admin: bool = False, active: bool = True, secret: str | None = None) -> KeyRecord:
    tail = secrets.token_hex(6)
    return KeyRecord(
        access_key=f"DKCONTRACT{tail.upper()}",
        secret_key=secret or secrets.token_urlsafe(30),
        tenant=f"t-{tail}",
        user=f"u-{tail}",
        admin=admin,
        active=active,
    )


async def after_bound(source: KeySource) -> None:
    await asyncio.sleep(source.bound + MARGIN)


class TestKeyStore:
    async def test_found_key_gives_its_secret_and_principal(self, key_source: KeySource) -> None:
        record = new_record()
        await source_add(key_source, record)
        found = await key_source.store.lookup(record.access_key)
        assert found is not None
        key, principal = found
        assert key.access_key == record.access_key
        assert key.secret_key == record.secret_key
        assert (key.tenant, key.user, key.active) == (record.tenant, record.user, True)
        assert principal.tenant == record.tenant
        assert principal.user == record.user
        assert principal.access_key == record.access_key
        assert principal.admin is False

    async def test_unknown_key_is_none(self, key_source: KeySource) -> None:
        await source_add(key_source, new_record())
        assert await key_source.store.lookup("DKNOSUCHKEY000000001") is None
        assert await key_source.store.lookup("dk-" + secrets.token_hex(8)) is None

    async def test_an_inactive_key_is_none(self, key_source: KeySource) -> None:
        record = new_record(active=False)
        await source_add(key_source, record)
        assert await key_source.store.lookup(record.access_key) is None

    async def test_secrets_come_back_byte_for_byte(self, key_source: KeySource) -> None:
        # Every printable ASCII character a secret may hold, AWS's "+" and "/" among them.
        odd = "aZ09+/=!\"#$%&'()*,-.:;<>?@[\\]^_`{|}~" + secrets.token_hex(4)
        record = new_record(secret=odd)
        await source_add(key_source, record)
        found = await key_source.store.lookup(record.access_key)
        assert found is not None and found[0].secret_key == odd

    async def test_admin_flag_and_users_of_one_tenant(self, key_source: KeySource) -> None:
        admin = new_record(admin=True)
        plain = KeyRecord(
            access_key=admin.access_key + "B",
            secret_key=secrets.token_urlsafe(30),
            tenant=admin.tenant,
            user=admin.user + "-b",
        )
        await source_add(key_source, admin)
        await source_add(key_source, plain)
        found_admin = await key_source.store.lookup(admin.access_key)
        found_plain = await key_source.store.lookup(plain.access_key)
        assert found_admin is not None and found_plain is not None
        assert found_admin[1].admin is True and found_plain[1].admin is False
        assert found_admin[1].tenant == found_plain[1].tenant == admin.tenant
        assert (found_admin[1].user, found_plain[1].user) == (admin.user, plain.user)
        assert found_admin[0].secret_key != found_plain[0].secret_key

    async def test_a_revoked_key_stops_within_the_bound(self, key_source: KeySource) -> None:
        record, other = new_record(), new_record()
        await source_add(key_source, record)
        await source_add(key_source, other)
        assert await key_source.store.lookup(record.access_key) is not None
        await key_source.revoke(record.access_key)
        await after_bound(key_source)
        assert await key_source.store.lookup(record.access_key) is None
        assert await key_source.store.lookup(other.access_key) is not None

    async def test_a_removed_key_stops_within_the_bound(self, key_source: KeySource) -> None:
        record = new_record()
        await source_add(key_source, record)
        assert await key_source.store.lookup(record.access_key) is not None
        await key_source.remove(record.access_key)
        await after_bound(key_source)
        assert await key_source.store.lookup(record.access_key) is None

    async def test_a_key_added_later_is_found_within_the_bound(self, key_source: KeySource) -> None:
        record = new_record()
        assert await key_source.store.lookup(record.access_key) is None
        await key_source.add(record)
        await after_bound(key_source)
        found = await key_source.store.lookup(record.access_key)
        assert found is not None and found[0].secret_key == record.secret_key


async def source_add(source: KeySource, record: KeyRecord) -> None:
    """Add a key and wait out the bound, so that the store's first look sees it."""
    await source.add(record)
    await after_bound(source)
