"""Container and account quotas, as Swift's `container_quotas` and
`account_quotas` middlewares keep them.

A container's owner sets `X-Container-Meta-Quota-Bytes` and
`X-Container-Meta-Quota-Count` (ordinary container metadata, non-negative
integers). A write whose declared length would take the container past
its quota, or one more object past its count, is refused with 413
`Upload exceeds quota.` before any byte is stored. As in Swift, a chunked
upload (no declared length) is judged by what is already stored (so is a
form upload's file), and these quotas are checked, not reserved:
concurrent writes may pass one by what they write together.

An account's `X-Account-Meta-Quota-Bytes` is set by a reseller only (in
Dolium, an admin of the root account), never by the account's owner, who
would otherwise lift it: it is the tenant's quota in bytes
(core.accounts.quotas), which the core keeps for every write of any API,
checked inside the write's commit; ops.account maps the header onto it.
"""

from __future__ import annotations

from collections.abc import Mapping

from dolium.core.accounts.service import ROOT_TENANT
from dolium.core.store import Store
from dolium.errors import NotFound
from dolium.frontends.swift.errors import SwiftError
from dolium.model import Principal, container_address

CONTAINER_BYTES = "quota-bytes"
CONTAINER_COUNT = "quota-count"
ACCOUNT_BYTES = "quota-bytes"

CONTAINER_INFO: dict[str, object] = {}
ACCOUNT_INFO: dict[str, object] = {}


def is_reseller(principal: Principal) -> bool:
    return principal.tenant == ROOT_TENANT and principal.admin


def check_container_settings(headers: Mapping[str, str]) -> None:
    """A container PUT or POST may set only non-negative integer quotas."""
    for header, what in (
        ("x-container-meta-quota-bytes", "bytes"),
        ("x-container-meta-quota-count", "count"),
    ):
        value = headers.get(header)
        if value and not value.isdigit():
            raise SwiftError(400, f"Invalid {what} quota.")


def check_account_settings(principal: Principal, headers: Mapping[str, str]) -> None:
    """An account POST that sets a quota must come from a reseller (403 else)."""
    value = headers.get("x-account-meta-quota-bytes")
    if "x-remove-account-meta-quota-bytes" in headers:
        value = "0"
    if not is_reseller(principal):
        if value is not None:
            raise SwiftError(403)
        return
    if value and not value.isdigit():
        raise SwiftError(400)


def _limit(meta: Mapping[str, str], name: str) -> int | None:
    try:
        value = int(meta.get(name, "-1"))
    except ValueError:
        return None
    return value if value >= 0 else None


async def check_write(store: Store, account: str, container: str, length: int | None) -> None:
    """413 when writing `length` more bytes (one more object) into `container`
    of `account` would pass a quota."""
    size = length or 0
    address = container_address(account, container)
    try:
        meta = await store.containers.stored_meta(address)
    except NotFound:
        return  # the write itself will say the container is missing
    byte_limit, count_limit = _limit(meta, CONTAINER_BYTES), _limit(meta, CONTAINER_COUNT)
    if byte_limit is not None or count_limit is not None:
        usage = await store.containers.stored_usage(address)
        if byte_limit is not None and usage.bytes + size > byte_limit:
            raise SwiftError(413, "Upload exceeds quota.")
        if count_limit is not None and usage.objects + 1 > count_limit:
            raise SwiftError(413, "Upload exceeds quota.")
