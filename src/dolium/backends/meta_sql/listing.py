"""Statements of the listings of the SQL meta store, built once per shape.

Keys are compared as UTF-8 bytes, and prefixes as a byte range
[prefix, successor(prefix)), never with LIKE, so a listing is an index
range scan whose cost follows its limit. The range of one call has one of
a few shapes (from a key or strictly after it, with an upper bound or
none); each shape is one statement, built on first use and kept, with the
values as bind parameters: each function here gives the statement and the
values of its range; the caller adds the container's address
(`addresses.params`) and the limit :n.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Executable

from dolium.backends.meta_sql import codec
from dolium.backends.meta_sql.addresses import CID
from dolium.backends.meta_sql.schema import LISTED
from dolium.backends.meta_sql.schema import uploads as _uploads
from dolium.backends.meta_sql.schema import versions as _versions

_P = sa.bindparam
_V = _versions.c
_U = _uploads.c
_LIMIT = _P("n", type_=sa.Integer())


Shaped = tuple[Executable, dict[str, Any]]  # a statement and its values


def _range(column: Any, *, strict: bool, bounded: bool) -> list[Any]:
    """Clauses for keys from :lo (strictly after it if `strict`), below :hi if `bounded`."""
    clauses = [column > _P("lo") if strict else column >= _P("lo")]
    if bounded:
        clauses.append(column < _P("hi"))
    return clauses


def _bounds(prefix: bytes, after: bytes) -> tuple[bool, bool, dict[str, Any]]:
    """(strict, bounded, bind parameters) of `_range` for keys starting with
    `prefix` and strictly after `after`."""
    hi = codec.successor(prefix)
    strict = bool(after) and after >= prefix
    return strict, hi is not None, {"lo": after if strict else prefix, "hi": hi}


def objects(prefix: bytes, after: bytes) -> Shaped:
    """The current objects of the container :ba/:bo/:bn from `prefix`, after `after`."""
    strict, bounded, values = _bounds(prefix, after)
    return _objects(strict, bounded), values


def next_key_at(prefix: bytes, after: bytes) -> Shaped:
    """The version as of :until of the next key after `after`: one seek of
    ix_versions_bucket_key_serial, past only the versions written after it."""
    strict, bounded, values = _bounds(prefix, after)
    return _next_key_at(strict, bounded), values


def versions(prefix: bytes, after: tuple[bytes, int] | None) -> Shaped:
    """Versions from `prefix`, after `after` (a key, and a serial in it or 0)."""
    key = b"" if after is None else after[0]
    strict, bounded, values = _bounds(prefix, key)
    # Resuming within the key we stopped in: then :lo is that key.
    resume = after is not None and after[1] > 0 and key.startswith(prefix)
    if resume and after is not None:
        values["s"] = after[1]
    return _versions_from(strict, bounded, resume), values


def uploads(prefix: bytes, after_key: bytes, after_upload_id: str) -> Shaped:
    """Uploads from `prefix`, after the upload `after_upload_id` of `after_key`."""
    strict, bounded, values = _bounds(prefix, after_key)
    # Resuming within the key we stopped in: then :lo is that key.
    resume = bool(after_upload_id) and bool(after_key) and after_key.startswith(prefix)
    values["u"] = after_upload_id
    return _uploads_from(strict, bounded, resume), values


# The columns of a ListedObject: reading the rest would cost a page of a
# thousand objects more than the rest of its work.
_LISTED_COLUMNS = (
    _V.key,
    _V.version_id,
    _V.size,
    _V.etag,
    _V.modified,
    _V.owner,
    _V.content_type,
    _V.checksums,
    _V.checksum_type,
    _V.user_name,
    _V.top_hash,
)


@cache
def _objects(strict: bool, bounded: bool) -> Executable:
    return (
        sa.select(*_LISTED_COLUMNS)
        .where(_V.bucket == CID, LISTED, *_range(_V.key, strict=strict, bounded=bounded))
        .order_by(_V.key)
        .limit(_LIMIT)
    )


@cache
def _next_key_at(strict: bool, bounded: bool) -> Executable:
    return (
        _versions.select()
        .where(
            _V.bucket == CID,
            _V.modified <= _P("until"),
            *_range(_V.key, strict=strict, bounded=bounded),
        )
        .order_by(_V.key, _V.serial.desc())
        .limit(1)
    )


@cache
def _versions_from(strict: bool, bounded: bool, resume: bool) -> Executable:
    rest = (
        _versions.select()
        .where(_V.bucket == CID, *_range(_V.key, strict=strict, bounded=bounded))
        .order_by(_V.key, _V.serial.desc())
        .limit(_LIMIT)
    )
    if not resume:
        return rest
    # The older versions of the key we stopped in, then the next keys: two
    # index range scans, each bounded by the limit.
    same = (
        _versions.select()
        .where(_V.bucket == CID, _V.key == _P("lo"), _V.serial < _P("s"))
        .order_by(_V.serial.desc())
        .limit(_LIMIT)
    )
    return sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))


@cache
def _uploads_from(strict: bool, bounded: bool, resume: bool) -> Executable:
    rest = (
        _uploads.select()
        .where(_U.bucket == CID, *_range(_U.key, strict=strict, bounded=bounded))
        .order_by(_U.key, _U.serial)
        .limit(_LIMIT)
    )
    if not resume:
        return rest
    marker = (
        sa.select(_U.serial)
        .where(_U.bucket == CID, _U.key == _P("lo"), _U.upload_id == _P("u"))
        .scalar_subquery()
    )
    same = (
        _uploads.select()
        .where(_U.bucket == CID, _U.key == _P("lo"), _U.serial > marker)
        .order_by(_U.serial)
        .limit(_LIMIT)
    )
    return sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))
