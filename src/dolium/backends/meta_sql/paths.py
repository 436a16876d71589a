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
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from dolium.backends.meta_sql import codec
from dolium.backends.meta_sql.addresses import add_usage, address_of, container_id, resolve
from dolium.backends.meta_sql.base import SqlBase
from dolium.backends.meta_sql.changelog import record
from dolium.backends.meta_sql.schema import LISTED, bucket_names, buckets, paths, versions
from dolium.errors import Conflict, NoSuchBucket, NoSuchKey
from dolium.model import SERVER, Actor, ChangeAction, PathRecord, Sharing

_V = versions.c


def _missing(bucket: str, key: str) -> NoSuchKey:
    return NoSuchKey(f"no object {key!r} in {bucket!r}", key=key)


class PathQueries(SqlBase):
    async def get_path(self, bucket: str, key: str) -> PathRecord | None:
        query = paths.select().where(
            paths.c.bucket == container_id(bucket), paths.c.key == key.encode()
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else codec.to_path(row, bucket)

    async def get_paths(self, bucket: str, keys: Collection[str]) -> dict[str, PathRecord]:
        wanted = sorted({key.encode() for key in keys})
        if not wanted:
            return {}
        query = paths.select().where(
            paths.c.bucket == container_id(bucket), paths.c.key.in_(wanted)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        found = (codec.to_path(row, bucket) for row in rows)
        return {record.key: record for record in found}

    async def _update(
        self,
        bucket: str,
        key: str,
        values: dict[str, Any],
        action: ChangeAction,
        actor: Actor,
    ) -> PathRecord:
        query = (
            paths.update()
            .where(paths.c.bucket == container_id(bucket), paths.c.key == key.encode())
            .values(values)
            .returning(*paths.c)
        )

        async def op(conn: AsyncConnection) -> Any:
            row = (await conn.execute(query)).first()
            if row is not None:
                await record(conn, action, actor, bucket=bucket, key=key)
            return row

        row = await self._transact(op)
        if row is None:
            raise _missing(bucket, key)
        return codec.to_path(row, bucket)

    async def set_sharing(
        self, bucket: str, key: str, sharing: Sharing, *, actor: Actor = SERVER
    ) -> PathRecord:
        values = {"sharing": codec.dump_sharing(sharing)}
        return await self._update(bucket, key, values, ChangeAction.PATH_SHARING_SET, actor)

    async def set_public(
        self, bucket: str, key: str, public_id: str | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        values = {"public_id": public_id}
        try:
            return await self._update(bucket, key, values, ChangeAction.PATH_PUBLIC_SET, actor)
        except exc.IntegrityError as e:
            raise Conflict(f"public id {public_id!r} is taken") from e

    async def set_delete_at(
        self, bucket: str, key: str, when: float | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        values = {"delete_at": when}
        return await self._update(bucket, key, values, ChangeAction.PATH_DELETE_AT_SET, actor)

    async def resolve_public(self, public_id: str) -> PathRecord | None:
        query = (
            sa.select(
                paths,
                buckets.c.owner,
                buckets.c.name.label("container"),
                bucket_names.c.name.label("global_name"),
            )
            .select_from(
                paths.join(buckets, buckets.c.id == paths.c.bucket).outerjoin(
                    bucket_names, bucket_names.c.bucket == buckets.c.id
                )
            )
            .where(paths.c.public_id == public_id)
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return codec.to_path(row, address_of(row.owner, row.container, row.global_name))

    async def move(
        self, bucket: str, key: str, to_bucket: str, to_key: str, *, actor: Actor = SERVER
    ) -> PathRecord:
        raw, to_raw = key.encode(), to_key.encode()

        async def log(conn: AsyncConnection) -> None:
            name = f"{to_bucket}/{to_key}"
            await record(conn, ChangeAction.OBJECT_MOVE, actor, bucket=bucket, key=key, name=name)

        async def op(conn: AsyncConnection) -> Any:
            source, target = await resolve(conn, bucket), await resolve(conn, to_bucket)
            if source is None or target is None:
                name = bucket if source is None else to_bucket
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            # Both keys' writers wait, in one order so two moves cannot deadlock;
            # a concurrent move of the same key then finds it gone.
            for container, locked in sorted({(source, raw), (target, to_raw)}):
                await self._lock_key(conn, container, locked)
            at = (paths.c.bucket == source, paths.c.key == raw)
            found = (await conn.execute(paths.select().where(*at).with_for_update())).first()
            if found is None:
                raise _missing(bucket, key)
            if (source, raw) == (target, to_raw):
                await log(conn)
                return found
            occupied = sa.select(_V.serial).where(_V.bucket == target, _V.key == to_raw).limit(1)
            if (await conn.execute(occupied)).first() is not None:
                raise Conflict(f"{to_key!r} in {to_bucket!r} has versions: move refused")
            mine = (_V.bucket == source, _V.key == raw)
            held = sa.select(
                sa.func.coalesce(sa.func.sum(_V.size), 0).label("size"),
                sa.select(sa.func.count()).where(*mine, LISTED).scalar_subquery().label("objects"),
            ).where(*mine)
            usage = (await conn.execute(held)).one()
            moved = {"bucket": target, "key": to_raw}
            await conn.execute(versions.update().where(*mine).values(moved))
            row = (
                await conn.execute(paths.update().where(*at).values(moved).returning(*paths.c))
            ).first()
            if source != target:
                await add_usage(conn, source, -usage.size, -usage.objects)
                await add_usage(conn, target, usage.size, usage.objects)
            await log(conn)
            return row

        return codec.to_path(await self._transact(op), to_bucket)
