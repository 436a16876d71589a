"""Path records in the SQL meta store: UUID, sharing, public id, delete-at; moves.

A path record lives exactly while its key has a version: `store` creates it
with the first version and drops it with the last. Here are the calls that
read and change it, and `move`, which carries a key's whole history and its
record to another path in one transaction. No rule of who may share with
whom lives here.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, exc

from dolium.backends.meta_sql import codec
from dolium.backends.meta_sql.addresses import CID, add_usage, address_of, params, resolve
from dolium.backends.meta_sql.base import SqlBase, all_rows, first_row
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.schema import LISTED, bucket_names, buckets, paths, versions
from dolium.errors import Conflict, NoSuchBucket, NoSuchKey
from dolium.model import SERVER, Actor, ChangeAction, PathRecord, Sharing

_V = versions.c
_T = paths.c
_P = sa.bindparam

_AT = (_T.bucket == CID, _T.key == _P("k"))
_GET_PATH = paths.select().where(*_AT)
_GET_PATHS = paths.select().where(_T.bucket == CID, _T.key.in_(_P("keys", expanding=True)))
# One statement per column a call sets, each returning the record.
_SET = {
    column: paths.update().where(*_AT).values({column: _P("value")}).returning(*paths.c)
    for column in ("sharing", "public_id", "delete_at")
}
_PUBLIC = (
    sa.select(
        paths,
        buckets.c.owner,
        buckets.c.name.label("container"),
        bucket_names.c.name.label("global_name"),
    )
    .select_from(
        paths.join(buckets, buckets.c.id == _T.bucket).outerjoin(
            bucket_names, bucket_names.c.bucket == buckets.c.id
        )
    )
    .where(_T.public_id == _P("p"))
)
# A move, from (c, k) to (to_c, to_k).
_SOURCE = (_T.bucket == _P("c"), _T.key == _P("k"))
_MOVED: tuple[sa.BindParameter[Any], ...] = (_P("to_c"), _P("to_k"))
_LOCK_SOURCE = paths.select().where(*_SOURCE).with_for_update()
_OCCUPIED = sa.select(_V.serial).where(_V.bucket == _MOVED[0], _V.key == _MOVED[1]).limit(1)
_MINE = (_V.bucket == _P("c"), _V.key == _P("k"))
_HELD = sa.select(
    sa.func.coalesce(sa.func.sum(_V.size), 0).label("size"),
    sa.select(sa.func.count()).where(*_MINE, LISTED).scalar_subquery().label("objects"),
).where(*_MINE)
_MOVE_VERSIONS = versions.update().where(*_MINE).values(bucket=_MOVED[0], key=_MOVED[1])
_MOVE_PATH = (
    paths.update().where(*_SOURCE).values(bucket=_MOVED[0], key=_MOVED[1]).returning(*paths.c)
)


def _missing(bucket: str, key: str) -> NoSuchKey:
    return NoSuchKey(f"no object {key!r} in {bucket!r}", key=key)


class PathQueries(SqlBase):
    async def get_path(self, bucket: str, key: str) -> PathRecord | None:
        values = {**params(bucket), "k": key.encode()}
        row = await self._query(first_row(_GET_PATH, values), point=True)
        return None if row is None else codec.to_path(row, bucket)

    async def get_paths(self, bucket: str, keys: Collection[str]) -> dict[str, PathRecord]:
        wanted = sorted({key.encode() for key in keys})
        if not wanted:
            return {}
        rows = await self._query(all_rows(_GET_PATHS, {**params(bucket), "keys": wanted}))
        found = (codec.to_path(row, bucket) for row in rows)
        return {record.key: record for record in found}

    async def _update(
        self,
        bucket: str,
        key: str,
        column: str,
        value: Any,
        action: ChangeAction,
        actor: Actor,
    ) -> PathRecord:
        values = {**params(bucket), "k": key.encode(), "value": value}

        def op(conn: Connection) -> Any:
            row = conn.execute(_SET[column], values).first()
            if row is not None:
                record(conn, action, actor, bucket=bucket, key=key)
            return row

        row = await self._transact(op)
        if row is None:
            raise _missing(bucket, key)
        return codec.to_path(row, bucket)

    async def set_sharing(
        self, bucket: str, key: str, sharing: Sharing, *, actor: Actor = SERVER
    ) -> PathRecord:
        value = codec.dump_sharing(sharing)
        return await self._update(
            bucket, key, "sharing", value, ChangeAction.PATH_SHARING_SET, actor
        )

    async def set_public(
        self, bucket: str, key: str, public_id: str | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        try:
            return await self._update(
                bucket, key, "public_id", public_id, ChangeAction.PATH_PUBLIC_SET, actor
            )
        except exc.IntegrityError as e:
            raise Conflict(f"public id {public_id!r} is taken") from e

    async def set_delete_at(
        self, bucket: str, key: str, when: float | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        return await self._update(
            bucket, key, "delete_at", when, ChangeAction.PATH_DELETE_AT_SET, actor
        )

    async def resolve_public(self, public_id: str) -> PathRecord | None:
        row = await self._query(first_row(_PUBLIC, {"p": public_id}), point=True)
        if row is None:
            return None
        return codec.to_path(row, address_of(row.owner, row.container, row.global_name))

    async def move(
        self, bucket: str, key: str, to_bucket: str, to_key: str, *, actor: Actor = SERVER
    ) -> PathRecord:
        raw, to_raw = key.encode(), to_key.encode()

        def log(conn: Connection) -> None:
            name = f"{to_bucket}/{to_key}"
            record(conn, ChangeAction.OBJECT_MOVE, actor, bucket=bucket, key=key, name=name)

        def op(conn: Connection) -> Any:
            source, target = resolve(conn, bucket), resolve(conn, to_bucket)
            if source is None or target is None:
                name = bucket if source is None else to_bucket
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            # Both keys' writers wait, in one order so two moves cannot deadlock;
            # a concurrent move of the same key then finds it gone.
            for container, locked in sorted({(source, raw), (target, to_raw)}):
                self._lock_key(conn, container, locked)
            at = {"c": source, "k": raw, "to_c": target, "to_k": to_raw}
            found = conn.execute(_LOCK_SOURCE, at).first()
            if found is None:
                raise _missing(bucket, key)
            if (source, raw) == (target, to_raw):
                log(conn)
                return found
            if conn.execute(_OCCUPIED, at).first() is not None:
                raise Conflict(f"{to_key!r} in {to_bucket!r} has versions: move refused")
            usage = conn.execute(_HELD, at).one()
            conn.execute(_MOVE_VERSIONS, at)
            row = conn.execute(_MOVE_PATH, at).first()
            if source != target:
                add_usage(conn, source, -usage.size, -usage.objects)
                add_usage(conn, target, usage.size, usage.objects)
            log(conn)
            return row

        return codec.to_path(await self._transact(op), to_bucket)
