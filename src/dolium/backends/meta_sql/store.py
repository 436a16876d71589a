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
import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import blocks, codec
from dolium.backends.meta_sql.accounts import AccountQueries
from dolium.backends.meta_sql.addresses import CID, add_usage, container_id, params, resolve
from dolium.backends.meta_sql.blocks import BlockQueries
from dolium.backends.meta_sql.changelog import (
    ChangeLogQueries,
    append,
    record,
    record_version,
)
from dolium.backends.meta_sql.paths import PathQueries
from dolium.backends.meta_sql.schema import LISTED, parts, paths, uploads, versions
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
# Reads name the container by address (CID); writes resolve it first and
# use its id ("c").
_GET_LATEST = (
    versions.select().where(_V.bucket == CID, _V.key == _P("k")).order_by(_V.serial.desc()).limit(1)
)
_GET_VERSION = versions.select().where(
    _V.bucket == CID, _V.key == _P("k"), _V.version_id == _P("v")
)
# The current latest version and any version the write replaces, in one round trip.
_PROBE_COLS = (_V.serial, _V.version_id, _V.etag, _V.delete_marker, _V.size)
_PROBE = sa.union_all(
    sa.select(
        sa.select(*_PROBE_COLS)
        .where(_V.bucket == _P("c"), _V.key == _P("k"))
        .order_by(_V.serial.desc())
        .limit(1)
        .subquery()
    ),
    sa.select(*_PROBE_COLS).where(
        _V.bucket == _P("c"), _V.key == _P("k"), _V.version_id == _P("v")
    ),
)
_DELETE_SERIAL = versions.delete().where(_V.serial == _P("s")).returning(_V.policy, _V.extents)
_DEMOTE = versions.update().where(_V.serial == _P("s")).values(is_latest=False)
_PROMOTE = versions.update().where(_V.serial == _P("s")).values(is_latest=True)
_INSERT_VERSION = versions.insert()
_NEWEST = (
    sa.select(_V.serial, _V.delete_marker)
    .where(_V.bucket == _P("c"), _V.key == _P("k"))
    .order_by(_V.serial.desc())
    .limit(1)
)
_UPLOAD = uploads.select().where(_U.bucket == CID, _U.upload_id == _P("u"))
# Completing an upload locks it: of two concurrent completions the second waits,
# then finds it gone (a row lock on a server database; SQLite locks the file).
_UPLOAD_LOCKED = _UPLOAD.with_for_update()
_NEW_PATH = paths.insert()
_DROP_PATH = paths.delete().where(paths.c.bucket == _P("c"), paths.c.key == _P("k"))


def _of_upload(container: int, upload_id: str) -> Any:
    return sa.and_(parts.c.bucket == container, parts.c.upload_id == upload_id)


def _current(row: Any) -> int:
    """1 if the version row is a current object (not a delete marker), else 0."""
    return 0 if row is None or row.delete_marker else 1


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


class SqlMetaStore(PathQueries, AccountQueries, BlockQueries, ChangeLogQueries):
    # -- object versions ---------------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        values = {**params(bucket), "k": key.encode(), "v": version_id}
        query = _GET_LATEST if version_id is None else _GET_VERSION
        async with self._read() as conn:
            row = (await conn.execute(query, values)).first()
        return None if row is None else codec.to_version(row, bucket)

    async def _put(
        self,
        conn: AsyncConnection,
        v: ObjectVersion,
        condition: WriteCondition | None,
        actor: Actor,
        action: ChangeAction,
        name: str = "",
    ) -> ObjectVersion:
        cid = await resolve(conn, v.bucket)
        if cid is None:
            check_condition(condition, None)  # the condition first, as for a missing key
            raise NoSuchBucket(f"no bucket {v.bucket!r}", bucket=v.bucket)
        key = v.key.encode()
        await self._lock_key(conn, cid, key)
        rows = (await conn.execute(_PROBE, {"c": cid, "k": key, "v": v.version_id})).all()
        latest = max(rows, key=lambda r: r.serial, default=None)  # the newest is the latest
        check_condition(condition, latest)
        same = next((r for r in rows if r.version_id == v.version_id), None)
        if same is not None:
            replaced = (await conn.execute(_DELETE_SERIAL, {"s": same.serial})).all()
            await blocks.count_packed(conn, replaced, -1)
        if latest is not None and (same is None or latest.serial != same.serial):
            await conn.execute(_DEMOTE, {"s": latest.serial})
        values = codec.version_values(v, cid)
        values["is_latest"] = True
        inserted = (await conn.execute(_INSERT_VERSION, values)).inserted_primary_key
        if inserted is None:
            raise StorageError("meta store: the database assigned no serial")
        await blocks.count(conn, v.policy, v.extents, +1)
        if latest is None:  # the key's first version
            await conn.execute(_NEW_PATH, {"bucket": cid, "key": key, "uuid": str(uuid.uuid4())})
        size = v.size - (same.size if same is not None else 0)
        await add_usage(conn, cid, size, (not v.delete_marker) - _current(latest))
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
            _V.bucket == container_id(version.bucket),
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
            stored = codec.to_version(row, version.bucket)
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

        async def op(conn: AsyncConnection) -> Any:
            cid = await resolve(conn, bucket)
            # Recorded also when nothing was there (see MetaStore.delete_version).
            gone = ObjectVersion(bucket, key, version_id, delete_marker=True)
            if cid is None:
                await record_version(conn, ChangeAction.OBJECT_DELETE, gone, actor)
                return None
            # Deleting the latest version promotes the newest remaining one,
            # which a concurrent write of this key must not change meanwhile.
            await self._lock_key(conn, cid, raw)
            where = (_V.bucket == cid, _V.key == raw, _V.version_id == version_id)
            if guard is not None:
                read = versions.select().where(*where).with_for_update()
                found = (await conn.execute(read)).first()
                if found is not None:
                    guard(codec.to_version(found, bucket))
            query = versions.delete().where(*where).returning(*versions.c)
            row = (await conn.execute(query)).first()
            if row is None:
                await record_version(conn, ChangeAction.OBJECT_DELETE, gone, actor)
                return None
            await blocks.count_packed(conn, [row], -1)
            objects = 0
            if row.is_latest:
                newest = (await conn.execute(_NEWEST, {"c": cid, "k": raw})).first()
                if newest is not None:
                    await conn.execute(_PROMOTE, {"s": newest.serial})
                objects = _current(newest) - _current(row)
                if newest is None:  # the key's last version: its path record goes too
                    await conn.execute(_DROP_PATH, {"c": cid, "k": raw})
            await add_usage(conn, cid, -row.size, objects)
            await record_version(
                conn, ChangeAction.OBJECT_DELETE, codec.to_version(row, bucket), actor
            )
            return row

        row = await self._transact(op)
        return None if row is None else codec.to_version(row, bucket)

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ObjectVersion]:
        if limit <= 0:
            return []
        low = prefix.encode()
        bounds = _bounds(_V.key, low, start_after.encode(), codec.successor(low))
        query = (
            versions.select()
            .where(_V.bucket == container_id(bucket), LISTED, *bounds)
            .order_by(_V.key)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [codec.to_version(r, bucket) for r in rows]

    async def list_objects_at(
        self,
        bucket: str,
        until: float,
        *,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        low = prefix.encode()
        hi = codec.successor(low)
        after = start_after.encode()
        cid = container_id(bucket)
        out: list[ObjectVersion] = []
        async with self._read() as conn:
            while len(out) < limit:
                # The next key's version as of `until`: one seek of
                # ix_versions_bucket_key_serial, past only the versions written after it.
                query = (
                    versions.select()
                    .where(_V.bucket == cid, _V.modified <= until, *_bounds(_V.key, low, after, hi))
                    .order_by(_V.key, _V.serial.desc())
                    .limit(1)
                )
                row = (await conn.execute(query)).first()
                if row is None:
                    break
                after = row.key
                if not row.delete_marker:
                    out.append(dataclasses.replace(codec.to_version(row, bucket), is_latest=False))
        return out

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
        cid = container_id(bucket)
        rest = (
            versions.select()
            .where(_V.bucket == cid, *_bounds(_V.key, low, key, hi))
            .order_by(_V.key, _V.serial.desc())
            .limit(limit)
        )
        query: sa.Select[Any] | sa.CompoundSelect[Any] = rest
        if after is not None and after[1] > 0 and key.startswith(low):
            # The older versions of the key we stopped in, then the next keys:
            # two index range scans, each bounded by `limit`.
            same = (
                versions.select()
                .where(_V.bucket == cid, _V.key == key, _V.serial < after[1])
                .order_by(_V.serial.desc())
                .limit(limit)
            )
            query = sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        rows.sort(key=lambda r: (r.key, -r.serial))
        return [codec.to_version(r, bucket) for r in rows[:limit]]

    # -- multipart uploads -------------------------------------------------------
    async def create_upload(self, upload: MultipartUpload, *, actor: Actor = SERVER) -> None:
        async def op(conn: AsyncConnection) -> None:
            cid = await resolve(conn, upload.bucket)
            if cid is None:
                raise NoSuchBucket(f"no bucket {upload.bucket!r}", bucket=upload.bucket)
            await conn.execute(uploads.insert().values(codec.upload_values(upload, cid)))
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
            raise Conflict(f"upload id {upload.upload_id!r} is taken") from e

    async def get_upload(self, bucket: str, upload_id: str) -> MultipartUpload | None:
        async with self._read() as conn:
            row = (await conn.execute(_UPLOAD, {**params(bucket), "u": upload_id})).first()
        return None if row is None else codec.to_upload(row, bucket)

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
        cid = container_id(bucket)
        rest = (
            uploads.select()
            .where(_U.bucket == cid, *_bounds(_U.key, low, key, codec.successor(low)))
            .order_by(_U.key, _U.serial)
            .limit(limit)
        )
        query: sa.Select[Any] | sa.CompoundSelect[Any] = rest
        if after_upload_id and key and key.startswith(low):
            marker = (
                sa.select(_U.serial)
                .where(_U.bucket == cid, _U.key == key, _U.upload_id == after_upload_id)
                .scalar_subquery()
            )
            same = (
                uploads.select()
                .where(_U.bucket == cid, _U.key == key, _U.serial > marker)
                .order_by(_U.serial)
                .limit(limit)
            )
            query = sa.union_all(sa.select(same.subquery()), sa.select(rest.subquery()))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        rows.sort(key=lambda r: (r.key, r.serial))
        return [codec.to_upload(r, bucket) for r in rows[:limit]]

    async def put_part(self, bucket: str, part: Part, *, actor: Actor = SERVER) -> None:
        gone = NoSuchUpload(f"no upload {part.upload_id!r}", upload_id=part.upload_id)

        async def op(conn: AsyncConnection) -> None:
            cid = await resolve(conn, bucket)
            if cid is None:
                raise gone
            number = sa.and_(
                parts.c.bucket == cid,
                parts.c.upload_id == part.upload_id,
                parts.c.number == part.number,
            )
            replaced = (
                await conn.execute(
                    parts.delete().where(number).returning(parts.c.policy, parts.c.extents)
                )
            ).all()
            await blocks.count_packed(conn, replaced, -1)
            # The foreign key to the upload refuses a part of an aborted upload.
            await conn.execute(parts.insert().values(codec.part_values(cid, part)))
            await blocks.count(conn, part.policy, part.extents, +1)
            upload_key = sa.select(_U.key).where(_U.bucket == cid, _U.upload_id == part.upload_id)
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
            .where(
                parts.c.bucket == container_id(bucket),
                parts.c.upload_id == upload_id,
                parts.c.number > after,
            )
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
        drop = uploads.delete().where(_U.bucket == container_id(bucket), _U.upload_id == upload_id)

        async def op(conn: AsyncConnection) -> ObjectVersion:
            found = (await conn.execute(_UPLOAD_LOCKED, {**params(bucket), "u": upload_id})).first()
            if found is None:
                raise gone
            done = await self._put(
                conn, version, condition, actor, ChangeAction.OBJECT_COMPLETE, upload_id
            )
            await blocks.uncount_parts(conn, _of_upload(found.bucket, upload_id))
            await conn.execute(drop)  # its parts go with it (ON DELETE CASCADE)
            return done

        try:
            return await self._transact(op)
        except exc.IntegrityError as e:
            raise await self._put_failed(version.bucket, condition) from e

    async def abort_upload(self, bucket: str, upload_id: str, *, actor: Actor = SERVER) -> None:
        async def op(conn: AsyncConnection) -> None:
            cid = await resolve(conn, bucket)
            if cid is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            # The parts' references first: the parts go with the upload
            # (ON DELETE CASCADE).
            await blocks.uncount_parts(conn, _of_upload(cid, upload_id))
            drop = uploads.delete().where(_U.bucket == cid, _U.upload_id == upload_id)
            dropped = (await conn.execute(drop.returning(_U.key))).first()
            if dropped is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            await record(
                conn,
                ChangeAction.UPLOAD_ABORT,
                actor,
                bucket=bucket,
                key=bytes(dropped.key).decode(),
                name=upload_id,
            )

        await self._transact(op)


def _conforms(store: SqlMetaStore) -> MetaStore:  # mypy fails here if the store drifts
    return store
