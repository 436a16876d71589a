"""The SQL meta store: object versions, multipart uploads, block references.

Written against any SQLAlchemy `AsyncEngine`; what one database needs
(pragmas, how a write transaction begins) is set on the engine by its own
module. This module decides no rule of the object model, and never imports
the core or a front end.

Keys are compared as UTF-8 bytes, and prefixes as a byte range
[prefix, successor(prefix)), never with LIKE, so listing is an index range
scan whose cost follows `limit`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import blocks, codec
from dolium.backends.meta_sql.accounts import AccountQueries
from dolium.backends.meta_sql.blocks import BlockQueries
from dolium.backends.meta_sql.changelog import (
    ChangeLogQueries,
    append,
    record,
    record_version,
)
from dolium.backends.meta_sql.schema import LISTED, parts, uploads, versions
from dolium.errors import (
    ConditionalRequestConflict,
    Conflict,
    NoSuchBucket,
    NoSuchKey,
    NoSuchUpload,
    NoSuchVersion,
    PreconditionFailed,
    StorageError,
)
from dolium.model import (
    MUTABLE,
    SERVER,
    Actor,
    ChangeAction,
    MultipartUpload,
    ObjectVersion,
    Part,
    WriteCondition,
    part_change,
    with_mutable,
)
from dolium.protocols.meta import Guard, MetaStore

_P = sa.bindparam
_V = versions.c
_U = uploads.c

# The latest version is the newest one (see schema): one seek, first entry.
_GET_LATEST = (
    versions.select()
    .where(_V.bucket == _P("b"), _V.key == _P("k"))
    .order_by(_V.serial.desc())
    .limit(1)
)
_GET_VERSION = versions.select().where(
    _V.bucket == _P("b"), _V.key == _P("k"), _V.version_id == _P("v")
)
# The current latest version and any version the write replaces, in one round trip.
_PROBE_COLS = (_V.serial, _V.version_id, _V.etag, _V.delete_marker)
_PROBE = sa.union_all(
    sa.select(
        sa.select(*_PROBE_COLS)
        .where(_V.bucket == _P("b"), _V.key == _P("k"))
        .order_by(_V.serial.desc())
        .limit(1)
        .subquery()
    ),
    sa.select(*_PROBE_COLS).where(
        _V.bucket == _P("b"), _V.key == _P("k"), _V.version_id == _P("v")
    ),
)
_DELETE_SERIAL = versions.delete().where(_V.serial == _P("s")).returning(_V.policy, _V.extents)
_DEMOTE = versions.update().where(_V.serial == _P("s")).values(is_latest=False)
_PROMOTE = versions.update().where(_V.serial == _P("s")).values(is_latest=True)
_INSERT_VERSION = versions.insert()
_NEWEST = (
    sa.select(_V.serial)
    .where(_V.bucket == _P("b"), _V.key == _P("k"))
    .order_by(_V.serial.desc())
    .limit(1)
)
_UPLOAD = uploads.select().where(_U.bucket == _P("b"), _U.upload_id == _P("u"))
# Completing an upload locks it: of two concurrent completions the second waits,
# then finds it gone (a row lock on a server database; SQLite locks the file).
_UPLOAD_LOCKED = _UPLOAD.with_for_update()


def _of_upload(bucket: str, upload_id: str) -> Any:
    return sa.and_(parts.c.bucket == bucket, parts.c.upload_id == upload_id)


def check_condition(condition: WriteCondition | None, latest: Any) -> None:
    """Raise unless `condition` holds for `latest` (a row, or None)."""
    if condition is None:
        return
    current = latest is not None and not latest.delete_marker
    if condition.if_none_match and current:
        raise PreconditionFailed("an object exists at this key")
    if condition.if_match is not None:
        if not current:
            raise NoSuchKey("no object to match")
        wanted = condition.if_match.strip().strip('"')
        if wanted not in ("*", latest.etag):
            raise PreconditionFailed("the object's ETag does not match")


def _bounds(column: Any, prefix: bytes, after: bytes, hi: bytes | None) -> list[Any]:
    """Clauses for keys starting with `prefix` and strictly after `after`."""
    clauses = [column > after if after >= prefix and after else column >= prefix]
    if hi is not None:
        clauses.append(column < hi)
    return clauses


class SqlMetaStore(AccountQueries, BlockQueries, ChangeLogQueries):
    # -- object versions ---------------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        params = {"b": bucket, "k": key.encode(), "v": version_id}
        query = _GET_LATEST if version_id is None else _GET_VERSION
        async with self._read() as conn:
            row = (await conn.execute(query, params)).first()
        return None if row is None else codec.to_version(row)

    async def _put(
        self,
        conn: AsyncConnection,
        v: ObjectVersion,
        condition: WriteCondition | None,
        actor: Actor,
        action: ChangeAction,
        name: str = "",
    ) -> ObjectVersion:
        key = v.key.encode()
        await self._lock_key(conn, v.bucket, key)
        rows = (await conn.execute(_PROBE, {"b": v.bucket, "k": key, "v": v.version_id})).all()
        latest = max(rows, key=lambda r: r.serial, default=None)  # the newest is the latest
        check_condition(condition, latest)
        same = next((r.serial for r in rows if r.version_id == v.version_id), None)
        if same is not None:
            replaced = (await conn.execute(_DELETE_SERIAL, {"s": same})).all()
            await blocks.count_packed(conn, replaced, -1)
        if latest is not None and latest.serial != same:
            await conn.execute(_DEMOTE, {"s": latest.serial})
        values = codec.version_values(v)
        values["is_latest"] = True
        inserted = (await conn.execute(_INSERT_VERSION, values)).inserted_primary_key
        if inserted is None:
            raise StorageError("meta store: the database assigned no serial")
        await blocks.count(conn, v.policy, v.extents, +1)
        action = ChangeAction.OBJECT_MARKER if v.delete_marker else action
        await record_version(conn, action, v, actor, name)
        return dataclasses.replace(v, serial=inserted[0], is_latest=True)

    async def _put_failed(self, bucket: str, condition: WriteCondition | None) -> Exception:
        """The domain error for a constraint violation while putting a version."""
        if await self.get_bucket(bucket) is None:
            return NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        # Only a concurrent writer on a database without whole-file write
        # locks gets here: it made another version latest first.
        if condition is not None:
            return PreconditionFailed("the object changed during the write")
        return ConditionalRequestConflict("a concurrent write to this key won")

    async def put_version(
        self,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
        action: ChangeAction = ChangeAction.OBJECT_PUT,
    ) -> ObjectVersion:
        async def op(conn: AsyncConnection) -> ObjectVersion:
            return await self._put(conn, version, condition, actor, action)

        try:
            return await self._transact(op)
        except exc.IntegrityError as e:
            raise await self._put_failed(version.bucket, condition) from e

    async def update_version(
        self,
        version: ObjectVersion,
        fields: Collection[str] = MUTABLE,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion:
        where = (
            _V.bucket == version.bucket,
            _V.key == version.key.encode(),
            _V.version_id == version.version_id,
        )
        read = versions.select().where(*where).with_for_update()

        async def op(conn: AsyncConnection) -> ObjectVersion:
            # Read and write in one write transaction, so that attributes not
            # named here keep what a concurrent call stored.
            row = (await conn.execute(read)).first()
            if row is None:
                raise NoSuchVersion(
                    "The specified version does not exist.",
                    key=version.key,
                    version_id=version.version_id,
                )
            stored = codec.to_version(row)
            if guard is not None:
                guard(stored)
            new = with_mutable(stored, version, fields)
            attrs = codec.dump_attrs(new.tags, new.acl, new.lock, new.sse)
            await conn.execute(versions.update().where(*where).values(attrs=attrs))
            named = ",".join(sorted(fields))
            await record_version(conn, ChangeAction.OBJECT_UPDATE, new, actor, named)
            return new

        return await self._transact(op)

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion | None:
        raw = key.encode()
        where = (_V.bucket == bucket, _V.key == raw, _V.version_id == version_id)
        read = versions.select().where(*where).with_for_update()
        query = versions.delete().where(*where).returning(*versions.c)

        async def op(conn: AsyncConnection) -> Any:
            # Deleting the latest version promotes the newest remaining one,
            # which a concurrent write of this key must not change meanwhile.
            await self._lock_key(conn, bucket, raw)
            if guard is not None:
                found = (await conn.execute(read)).first()
                if found is not None:
                    guard(codec.to_version(found))
            row = (await conn.execute(query)).first()
            if row is not None:
                await blocks.count_packed(conn, [row], -1)
            if row is not None and row.is_latest:
                newest = (await conn.execute(_NEWEST, {"b": bucket, "k": raw})).scalar()
                if newest is not None:
                    await conn.execute(_PROMOTE, {"s": newest})
            # Recorded also when nothing was there (see MetaStore.delete_version).
            gone = ObjectVersion(bucket, key, version_id, delete_marker=True)
            await record_version(
                conn,
                ChangeAction.OBJECT_DELETE,
                gone if row is None else codec.to_version(row),
                actor,
            )
            return row

        row = await self._transact(op)
        return None if row is None else codec.to_version(row)

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ObjectVersion]:
        if limit <= 0:
            return []
        low = prefix.encode()
        bounds = _bounds(_V.key, low, start_after.encode(), codec.successor(low))
        query = (
            versions.select()
            .where(_V.bucket == bucket, LISTED, *bounds)
            .order_by(_V.key)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_version(r) for r in rows]

    async def list_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after: tuple[str, int] | None = None,
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        if limit <= 0:
            return []
        low = prefix.encode()
        hi = codec.successor(low)
        key = b"" if after is None else after[0].encode()
        rest = (
            versions.select()
            .where(_V.bucket == bucket, *_bounds(_V.key, low, key, hi))
            .order_by(_V.key, _V.serial.desc())
            .limit(limit)
        )
        query: sa.Select[Any] | sa.CompoundSelect[Any] = rest
        if after is not None and after[1] > 0 and key.startswith(low):
            # The older versions of the key we stopped in, then the next keys:
            # two index range scans, each bounded by `limit`.
            same = (
                versions.select()
                .where(_V.bucket == bucket, _V.key == key, _V.serial < after[1])
                .order_by(_V.serial.desc())
                .limit(limit)
            )
            query = sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        rows.sort(key=lambda r: (r.key, -r.serial))
        return [codec.to_version(r) for r in rows[:limit]]

    # -- multipart uploads -------------------------------------------------------
    async def create_upload(self, upload: MultipartUpload, *, actor: Actor = SERVER) -> None:
        insert = uploads.insert().values(codec.upload_values(upload))

        async def op(conn: AsyncConnection) -> None:
            await conn.execute(insert)
            await record(
                conn,
                ChangeAction.UPLOAD_CREATE,
                actor,
                bucket=upload.bucket,
                key=upload.key,
                name=upload.upload_id,
            )

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            if await self.get_bucket(upload.bucket) is None:
                raise NoSuchBucket(f"no bucket {upload.bucket!r}", bucket=upload.bucket) from e
            raise Conflict(f"upload id {upload.upload_id!r} is taken") from e

    async def get_upload(self, bucket: str, upload_id: str) -> MultipartUpload | None:
        async with self._read() as conn:
            row = (await conn.execute(_UPLOAD, {"b": bucket, "u": upload_id})).first()
        return None if row is None else codec.to_upload(row)

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after_key: str = "",
        after_upload_id: str = "",
        limit: int = 1000,
    ) -> list[MultipartUpload]:
        if limit <= 0:
            return []
        low = prefix.encode()
        key = after_key.encode()
        rest = (
            uploads.select()
            .where(_U.bucket == bucket, *_bounds(_U.key, low, key, codec.successor(low)))
            .order_by(_U.key, _U.serial)
            .limit(limit)
        )
        query: sa.Select[Any] | sa.CompoundSelect[Any] = rest
        if after_upload_id and key and key.startswith(low):
            marker = (
                sa.select(_U.serial)
                .where(_U.bucket == bucket, _U.key == key, _U.upload_id == after_upload_id)
                .scalar_subquery()
            )
            same = (
                uploads.select()
                .where(_U.bucket == bucket, _U.key == key, _U.serial > marker)
                .order_by(_U.serial)
                .limit(limit)
            )
            query = sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        rows.sort(key=lambda r: (r.key, r.serial))
        return [codec.to_upload(r) for r in rows[:limit]]

    async def put_part(self, bucket: str, part: Part, *, actor: Actor = SERVER) -> None:
        number = sa.and_(
            parts.c.bucket == bucket,
            parts.c.upload_id == part.upload_id,
            parts.c.number == part.number,
        )
        upload_key = sa.select(_U.key).where(_U.bucket == bucket, _U.upload_id == part.upload_id)

        async def op(conn: AsyncConnection) -> None:
            replaced = (
                await conn.execute(
                    parts.delete().where(number).returning(parts.c.policy, parts.c.extents)
                )
            ).all()
            await blocks.count_packed(conn, replaced, -1)
            # The foreign key to the upload refuses a part of an aborted upload.
            await conn.execute(parts.insert().values(codec.part_values(bucket, part)))
            await blocks.count(conn, part.policy, part.extents, +1)
            key = bytes((await conn.execute(upload_key)).scalar_one()).decode()
            await append(conn, part_change(bucket, key, part, actor, time.time()))

        try:
            await self._transact(op)
        except exc.IntegrityError as e:
            if await self.get_upload(bucket, part.upload_id) is None:
                raise NoSuchUpload(f"no upload {part.upload_id!r}", upload_id=part.upload_id) from e
            raise ConditionalRequestConflict("a concurrent write to this part won") from e

    async def list_parts(
        self, bucket: str, upload_id: str, *, after: int = 0, limit: int = 10000
    ) -> list[Part]:
        if limit <= 0:
            return []
        query = (
            parts.select()
            .where(parts.c.bucket == bucket, parts.c.upload_id == upload_id, parts.c.number > after)
            .order_by(parts.c.number)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_part(r) for r in rows]

    async def complete_upload(
        self,
        bucket: str,
        upload_id: str,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion:
        gone = NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
        drop = uploads.delete().where(_U.bucket == bucket, _U.upload_id == upload_id)

        async def op(conn: AsyncConnection) -> ObjectVersion:
            if (await conn.execute(_UPLOAD_LOCKED, {"b": bucket, "u": upload_id})).first() is None:
                raise gone
            done = await self._put(
                conn, version, condition, actor, ChangeAction.OBJECT_COMPLETE, upload_id
            )
            await blocks.uncount_parts(conn, _of_upload(bucket, upload_id))
            await conn.execute(drop)  # its parts go with it (ON DELETE CASCADE)
            return done

        try:
            return await self._transact(op)
        except exc.IntegrityError as e:
            raise await self._put_failed(version.bucket, condition) from e

    async def abort_upload(self, bucket: str, upload_id: str, *, actor: Actor = SERVER) -> None:
        drop = (
            uploads.delete().where(_U.bucket == bucket, _U.upload_id == upload_id).returning(_U.key)
        )

        async def op(conn: AsyncConnection) -> None:
            await blocks.uncount_parts(conn, _of_upload(bucket, upload_id))
            key = (await conn.execute(drop)).scalar()
            if key is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            await record(
                conn,
                ChangeAction.UPLOAD_ABORT,
                actor,
                bucket=bucket,
                key=bytes(key).decode(),
                name=upload_id,
            )

        await self._transact(op)


def _conforms(store: SqlMetaStore) -> MetaStore:  # mypy fails here if the store drifts
    return store
