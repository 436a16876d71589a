"""Container addresses as SQL: the id behind a global name or `account:container`.

Calls name a container by its address (see protocols.meta); tables refer
to it by id. These expressions resolve one into the other inside the
statement that uses it, so a read needs no extra statement. Statements
take the address as the bind parameters `params` gives. Here too is
how a write counts a container's usage, in the write's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from dolium import quotas
from dolium.backends.meta_sql.schema import bucket_names, buckets
from dolium.model import Limits, Usage, container_address, split_address

_P = sa.bindparam

# Both lookups are constant subqueries: exactly one can match, since global
# names have no ":" and `account:container` addresses always do.
CID: sa.ColumnElement[Any] = sa.func.coalesce(
    sa.select(bucket_names.c.bucket).where(bucket_names.c.name == _P("ba")).scalar_subquery(),
    sa.select(buckets.c.id)
    .where(buckets.c.owner == _P("bo"), buckets.c.name == _P("bn"))
    .scalar_subquery(),
)


def params(address: str) -> dict[str, Any]:
    """The bind parameters of CID for `address`."""
    split = split_address(address)
    if split is None:
        return {"ba": address, "bo": None, "bn": None}
    return {"ba": None, "bo": split[0], "bn": split[1]}


_RESOLVE = sa.select(CID)


def resolve(conn: Connection, address: str) -> int | None:
    """The id of the container at `address`, or None."""
    found = conn.execute(_RESOLVE, params(address)).scalar()
    return None if found is None else int(found)


def address_of(owner: str, name: str, global_name: str | None) -> str:
    """A container's address: its global name if it holds one."""
    return global_name if global_name is not None else container_address(owner, name)


_ADD_TO_CONTAINER = (
    buckets.update()
    .where(buckets.c.id == _P("c"))
    .values(bytes=buckets.c.bytes + _P("db"), objects=buckets.c.objects + _P("do"))
)
# An account's usage: the sum over its containers (uq_buckets_owner_name).
ACCOUNT_USAGE = sa.select(
    sa.func.coalesce(sa.func.sum(buckets.c.bytes), 0).label("bytes"),
    sa.func.coalesce(sa.func.sum(buckets.c.objects), 0).label("objects"),
).where(buckets.c.owner == _P("a"))


_CONTAINER_USAGE = sa.select(
    buckets.c.owner, buckets.c.name, buckets.c.bytes, buckets.c.objects
).where(buckets.c.id == _P("c"))


def keep_limits(
    conn: Connection,
    container: int,
    limits: Limits,
    lock_account: Callable[[Connection, str], None],
) -> None:
    """QuotaExceeded if the container's or its account's usage, with this
    transaction's write counted, is past `limits` (see dolium.quotas)."""
    row = conn.execute(_CONTAINER_USAGE, {"c": container}).one()
    quotas.check("bucket", limits.bucket, Usage(row.bytes, row.objects), name=row.name)
    if not limits.account.unlimited:
        lock_account(conn, row.owner)
        total = conn.execute(ACCOUNT_USAGE, {"a": row.owner}).one()
        usage = Usage(int(total.bytes), int(total.objects))
        quotas.check("account", limits.account, usage, name=row.owner)


def add_usage(conn: Connection, container: int, size: int, objects: int) -> None:
    """Count `size` bytes and `objects` current objects more (or fewer) in the container."""
    if size or objects:
        conn.execute(_ADD_TO_CONTAINER, {"c": container, "db": size, "do": objects})
