"""Key records as the `file` and `http` key stores read them.

A record is a JSON object (or a TOML table) describing one access key:

    access_key   the key id (in a file; the HTTP service is asked by it)
    secret_key   the secret the client signs with
    tenant       the account the key acts for
    user         the user within it (default: the tenant's name)
    admin        true for an administrator of the tenant (default false)
    active       false for a revoked key (default true)

The store only reads records. Which tenants and users exist is the meta
store's business: the server creates a tenant or user a record names on
its first use (core.access.outside_keys). A record never reaches a log: it
holds a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from dolium.model import AccessKey, Principal

Found = tuple[AccessKey, Principal]


class BadRecord(ValueError):
    """A record misses a field or has one of the wrong type (the text never holds a secret)."""


def _text(record: Mapping[str, object], field: str, default: str | None = None) -> str:
    value = record.get(field, default)
    if not isinstance(value, str) or not value:
        raise BadRecord(f"field {field!r} must be a non-empty string")
    return value


def _flag(record: Mapping[str, object], field: str, default: bool) -> bool:
    value = record.get(field, default)
    if not isinstance(value, bool):
        raise BadRecord(f"field {field!r} must be true or false")
    return value


def parse_record(record: object, access_key: str | None = None) -> tuple[Found, bool]:
    """The key and principal a record describes, and whether the key is active.

    `access_key` is the id the record was asked for (HTTP); a record that
    names another id is refused, as an answer to some other question.
    """
    if not isinstance(record, Mapping):
        raise BadRecord("a key record must be an object")
    key_id = _text(record, "access_key", access_key)
    if access_key is not None and key_id != access_key:
        raise BadRecord("the record is for another access key")
    tenant = _text(record, "tenant")
    user = _text(record, "user", tenant)
    admin = _flag(record, "admin", False)
    active = _flag(record, "active", True)
    key = AccessKey(
        access_key=key_id,
        secret_key=_text(record, "secret_key"),
        tenant=tenant,
        user=user,
        active=active,
    )
    principal = Principal(tenant=tenant, user=user, access_key=key_id, admin=admin)
    return (key, principal), active
