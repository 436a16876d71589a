"""The SQL meta store: object versions, multipart uploads, block references.

Each call is one function of a synchronous SQLAlchemy `Connection`, run
whole by `SqlBase`; what one database needs (pragmas, how a write
transaction begins, where the function runs) is set by its own module.
Statements are built once, here, with bind parameters: building one per
call would cost more than running it. This module decides no rule of the
object model, and never imports the core or a front end.

Listings are index range scans whose cost follows `limit` (see `listing`).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, exc

from dolium import quotas
from dolium.backends.meta_sql import blocks, codec, listing
from dolium.backends.meta_sql.accounts import AccountQueries
from dolium.backends.meta_sql.addresses import CID, add_usage, keep_limits, params, resolve
from dolium.backends.meta_sql.base import all_rows, first_row
from dolium.backends.meta_sql.blocks import BlockQueries
from dolium.backends.meta_sql.changelog import (
    ChangeLogQueries,
    append,
    record,
    record_version,
)
from dolium.backends.meta_sql.identity import IdentityQueries
from dolium.backends.meta_sql.leases import LeaseQueries
from dolium.backends.meta_sql.paths import PathQueries
from dolium.backends.meta_sql.schema import parts, paths, uploads, versions
from dolium.conditions import WriteCondition, check_condition
from dolium.errors import (
    ConditionalRequestConflict,
    Conflict,
    NoSuchBucket,
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
    Limits,
    ListedObject,
    MultipartUpload,
    ObjectVersion,
    Part,
    part_change,
    with_mutable,
)
from dolium.protocols.meta import Guard, MetaStore

_P = sa.bindparam
_V = versions.c
_U = uploads.c
_PT = parts.c
_LIMIT = _P("n", type_=sa.Integer())

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
_PROBE_COLS = (_V.serial, _V.version_id, _V.etag, _V.delete_marker, _V.size, _V.modified)
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
# One version, by address (update) or by container id (delete).
_LOCK_VERSION = _GET_VERSION.with_for_update()
_SET_ATTRS = (
    versions.update()
    .where(_V.bucket == CID, _V.key == _P("k"), _V.version_id == _P("v"))
    .values(attrs=_P("a"))
)
_THE_VERSION = (_V.bucket == _P("c"), _V.key == _P("k"), _V.version_id == _P("v"))
_LOCK_VERSION_OF = versions.select().where(*_THE_VERSION).with_for_update()
_DELETE_VERSION = versions.delete().where(*_THE_VERSION).returning(*versions.c)
_UPLOAD = uploads.select().where(_U.bucket == CID, _U.upload_id == _P("u"))
# Completing an upload locks it: of two concurrent completions the second waits,
# then finds it gone (a row lock on a server database; SQLite locks the file).
_UPLOAD_LOCKED = _UPLOAD.with_for_update()
_INSERT_UPLOAD = uploads.insert()
_DROP_UPLOAD = uploads.delete().where(_U.bucket == _P("c"), _U.upload_id == _P("u"))
_ABORT_UPLOAD = _DROP_UPLOAD.returning(_U.key)
_UPLOAD_KEY = sa.select(_U.key).where(_U.bucket == _P("c"), _U.upload_id == _P("u"))
_THE_PART = (_PT.bucket == _P("c"), _PT.upload_id == _P("u"), _PT.number == _P("p"))
_DROP_PART = parts.delete().where(*_THE_PART).returning(_PT.policy, _PT.extents)
_INSERT_PART = parts.insert()
_PARTS = (
    parts.select()
    .where(_PT.bucket == CID, _PT.upload_id == _P("u"), _PT.number > _P("after"))
    .order_by(_PT.number)
    .limit(_LIMIT)
)
_NEW_PATH = paths.insert()
_DROP_PATH = paths.delete().where(paths.c.bucket == _P("c"), paths.c.key == _P("k"))


def _current(row: Any) -> int:
    """1 if the version row is a current object (not a delete marker), else 0."""
    return 0 if row is None or row.delete_marker else 1


class SqlMetaStore(
    PathQueries, AccountQueries, IdentityQueries, BlockQueries, LeaseQueries, ChangeLogQueries
):
    # -- object versions ---------------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        values = {**params(bucket), "k": key.encode(), "v": version_id}
        query = _GET_LATEST if version_id is None else _GET_VERSION
        row = await self._query(first_row(query, values), point=True)
        return None if row is None else codec.to_version(row, bucket)

    def _put(
        self,
        conn: Connection,
        v: ObjectVersion,
        condition: WriteCondition | None,
        actor: Actor,
        action: ChangeAction,
        name: str = "",
        limits: Limits | None = None,
    ) -> ObjectVersion:
        cid = resolve(conn, v.bucket)
        if cid is None:
            check_condition(condition, None)  # the condition first, as for a missing key
            raise NoSuchBucket(f"no bucket {v.bucket!r}", bucket=v.bucket)
        key = v.key.encode()
        self._lock_key(conn, cid, key)
        rows = conn.execute(_PROBE, {"c": cid, "k": key, "v": v.version_id}).all()
        latest = max(rows, key=lambda r: r.serial, default=None)  # the newest is the latest
        check_condition(condition, latest)
        same = next((r for r in rows if r.version_id == v.version_id), None)
        if same is not None:
            replaced = conn.execute(_DELETE_SERIAL, {"s": same.serial}).all()
            blocks.count_packed(conn, replaced, -1)
        if latest is not None and (same is None or latest.serial != same.serial):
            conn.execute(_DEMOTE, {"s": latest.serial})
        values = codec.version_values(v, cid)
        values["is_latest"] = True
        inserted = conn.execute(_INSERT_VERSION, values).inserted_primary_key
        if inserted is None:
            raise StorageError("meta store: the database assigned no serial")
        blocks.count(conn, v.policy, v.extents, +1)
        if latest is None:  # the key's first version
            conn.execute(_NEW_PATH, {"bucket": cid, "key": key, "uuid": str(uuid.uuid4())})
        size = v.size - (same.size if same is not None else 0)
        objects = (not v.delete_marker) - _current(latest)
        add_usage(conn, cid, size, objects)
        if limits is not None and not limits.unlimited and quotas.grows(size, objects):
            keep_limits(conn, cid, limits, self._lock_account)
        action = ChangeAction.OBJECT_MARKER if v.delete_marker else action
        record_version(conn, action, v, actor, name)
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
        limits: Limits | None = None,
    ) -> ObjectVersion:
        def op(conn: Connection) -> ObjectVersion:
            return self._put(conn, version, condition, actor, action, limits=limits)

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
        at = {**params(version.bucket), "k": version.key.encode(), "v": version.version_id}

        def op(conn: Connection) -> ObjectVersion:
            # Read and write in one write transaction, so that attributes not
            # named here keep what a concurrent call stored.
            row = conn.execute(_LOCK_VERSION, at).first()
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
            attrs = codec.dump_attrs(
                new.tags, new.acl, new.lock, new.sse, new.part_checksums, new.hashmap
            )
            conn.execute(_SET_ATTRS, {**at, "a": attrs})
            named = ",".join(sorted(fields))
            record_version(conn, ChangeAction.OBJECT_UPDATE, new, actor, named)
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

        def op(conn: Connection) -> Any:
            cid = resolve(conn, bucket)
            # Recorded also when nothing was there (see MetaStore.delete_version).
            gone = ObjectVersion(bucket, key, version_id, delete_marker=True)
            if cid is None:
                record_version(conn, ChangeAction.OBJECT_DELETE, gone, actor)
                return None
            # Deleting the latest version promotes the newest remaining one,
            # which a concurrent write of this key must not change meanwhile.
            self._lock_key(conn, cid, raw)
            at = {"c": cid, "k": raw, "v": version_id}
            if guard is not None:
                found = conn.execute(_LOCK_VERSION_OF, at).first()
                if found is not None:
                    guard(codec.to_version(found, bucket))
            row = conn.execute(_DELETE_VERSION, at).first()
            if row is None:
                record_version(conn, ChangeAction.OBJECT_DELETE, gone, actor)
                return None
            blocks.count_packed(conn, [row], -1)
            objects = 0
            if row.is_latest:
                newest = conn.execute(_NEWEST, at).first()
                if newest is not None:
                    conn.execute(_PROMOTE, {"s": newest.serial})
                objects = _current(newest) - _current(row)
                if newest is None:  # the key's last version: its path record goes too
                    conn.execute(_DROP_PATH, at)
            add_usage(conn, cid, -row.size, objects)
            record_version(conn, ChangeAction.OBJECT_DELETE, codec.to_version(row, bucket), actor)
            return row

        row = await self._transact(op)
        return None if row is None else codec.to_version(row, bucket)

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListedObject]:
        if limit <= 0:
            return []
        query, values = listing.objects(prefix.encode(), start_after.encode())
        rows = await self._query(all_rows(query, {**values, **params(bucket), "n": limit}))
        return [codec.to_listed(r) for r in rows]

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
        where = {**params(bucket), "until": until}

        def op(conn: Connection) -> list[ObjectVersion]:
            # A seek per key, all in this one call.
            out: list[ObjectVersion] = []
            after = start_after.encode()
            while len(out) < limit:
                query, values = listing.next_key_at(low, after)
                row = conn.execute(query, {**where, **values}).first()
                if row is None:
                    break
                after = row.key
                if not row.delete_marker:
                    out.append(dataclasses.replace(codec.to_version(row, bucket), is_latest=False))
            return out

        return await self._query(op)

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
        marker = None if after is None else (after[0].encode(), after[1])
        query, values = listing.versions(prefix.encode(), marker)
        rows = list(await self._query(all_rows(query, {**values, **params(bucket), "n": limit})))
        rows.sort(key=lambda r: (r.key, -r.serial))
        return [codec.to_version(r, bucket) for r in rows[:limit]]

    # -- multipart uploads -------------------------------------------------------
    async def create_upload(self, upload: MultipartUpload, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            cid = resolve(conn, upload.bucket)
            if cid is None:
                raise NoSuchBucket(f"no bucket {upload.bucket!r}", bucket=upload.bucket)
            conn.execute(_INSERT_UPLOAD, codec.upload_values(upload, cid))
            record(
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
        values = {**params(bucket), "u": upload_id}
        row = await self._query(first_row(_UPLOAD, values), point=True)
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
        query, values = listing.uploads(prefix.encode(), after_key.encode(), after_upload_id)
        rows = list(await self._query(all_rows(query, {**values, **params(bucket), "n": limit})))
        rows.sort(key=lambda r: (r.key, r.serial))
        return [codec.to_upload(r, bucket) for r in rows[:limit]]

    async def put_part(self, bucket: str, part: Part, *, actor: Actor = SERVER) -> None:
        gone = NoSuchUpload(f"no upload {part.upload_id!r}", upload_id=part.upload_id)

        def op(conn: Connection) -> None:
            cid = resolve(conn, bucket)
            if cid is None:
                raise gone
            at = {"c": cid, "u": part.upload_id, "p": part.number}
            replaced = conn.execute(_DROP_PART, at).all()
            blocks.count_packed(conn, replaced, -1)
            # The foreign key to the upload refuses a part of an aborted upload.
            conn.execute(_INSERT_PART, codec.part_values(cid, part))
            blocks.count(conn, part.policy, part.extents, +1)
            key = bytes(conn.execute(_UPLOAD_KEY, at).scalar_one()).decode()
            append(conn, part_change(bucket, key, part, actor, time.time()))

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
        values = {**params(bucket), "u": upload_id, "after": after, "n": limit}
        rows = await self._query(all_rows(_PARTS, values))
        return [codec.to_part(r) for r in rows]

    async def complete_upload(
        self,
        bucket: str,
        upload_id: str,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
        limits: Limits | None = None,
    ) -> ObjectVersion:
        gone = NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
        at = {**params(bucket), "u": upload_id}

        def op(conn: Connection) -> ObjectVersion:
            found = conn.execute(_UPLOAD_LOCKED, at).first()
            if found is None:
                raise gone
            done = self._put(
                conn, version, condition, actor, ChangeAction.OBJECT_COMPLETE, upload_id, limits
            )
            blocks.uncount_parts(conn, found.bucket, upload_id)
            # Its parts go with it (ON DELETE CASCADE).
            conn.execute(_DROP_UPLOAD, {"c": found.bucket, "u": upload_id})
            return done

        try:
            return await self._transact(op)
        except exc.IntegrityError as e:
            raise await self._put_failed(version.bucket, condition) from e

    async def abort_upload(self, bucket: str, upload_id: str, *, actor: Actor = SERVER) -> None:
        def op(conn: Connection) -> None:
            cid = resolve(conn, bucket)
            if cid is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            # The parts' references first: the parts go with the upload
            # (ON DELETE CASCADE).
            blocks.uncount_parts(conn, cid, upload_id)
            dropped = conn.execute(_ABORT_UPLOAD, {"c": cid, "u": upload_id}).first()
            if dropped is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            record(
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
