"""Path records of the in-memory meta store: sharing, public ids, delete-at, moves."""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Collection

from dolium.backends.meta_memory.state import MemoryState, _current
from dolium.errors import (
    Conflict,
    NoSuchBucket,
    NoSuchKey,
)
from dolium.model import (
    SERVER,
    Actor,
    ChangeAction,
    PathRecord,
    Sharing,
)


class MemoryPaths(MemoryState):
    # -- path records --------------------------------------------------------------
    def _drop_path(self, cid: int, raw: bytes) -> None:
        record = self._paths[cid].pop(raw)
        if record.public_id is not None:
            del self._public[record.public_id]

    async def get_path(self, bucket: str, key: str) -> PathRecord | None:
        found = self._paths.get(self._cid(bucket), {}).get(key.encode())
        return None if found is None else dataclasses.replace(found, bucket=bucket)

    async def get_paths(self, bucket: str, keys: Collection[str]) -> dict[str, PathRecord]:
        mine = self._paths.get(self._cid(bucket), {})
        found = ((key, mine.get(key.encode())) for key in keys)
        return {k: dataclasses.replace(r, bucket=bucket) for k, r in found if r is not None}

    def _path(self, bucket: str, key: str) -> PathRecord:
        found = self._paths.get(self._cid(bucket), {}).get(key.encode())
        if found is None:
            raise NoSuchKey(f"no object {key!r} in {bucket!r}", key=key)
        return found

    def _set_path(
        self, record: PathRecord, bucket: str, action: ChangeAction, actor: Actor
    ) -> PathRecord:
        self._paths[self._cid(bucket)][record.key.encode()] = record
        self._record(action, actor, bucket=bucket, key=record.key)
        return dataclasses.replace(record, bucket=bucket)

    async def set_sharing(
        self, bucket: str, key: str, sharing: Sharing, *, actor: Actor = SERVER
    ) -> PathRecord:
        async with self._lock:
            record = dataclasses.replace(self._path(bucket, key), sharing=sharing)
            return self._set_path(record, bucket, ChangeAction.PATH_SHARING_SET, actor)

    async def set_public(
        self, bucket: str, key: str, public_id: str | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        async with self._lock:
            record = self._path(bucket, key)
            place = (self._cid(bucket), key.encode())
            if public_id is not None and self._public.get(public_id, place) != place:
                raise Conflict(f"public id {public_id!r} is taken")
            if record.public_id is not None:
                del self._public[record.public_id]
            if public_id is not None:
                self._public[public_id] = place
            record = dataclasses.replace(record, public_id=public_id)
            return self._set_path(record, bucket, ChangeAction.PATH_PUBLIC_SET, actor)

    async def set_delete_at(
        self, bucket: str, key: str, when: float | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        async with self._lock:
            record = dataclasses.replace(self._path(bucket, key), delete_at=when)
            return self._set_path(record, bucket, ChangeAction.PATH_DELETE_AT_SET, actor)

    async def resolve_public(self, public_id: str) -> PathRecord | None:
        place = self._public.get(public_id)
        if place is None:
            return None
        cid, raw = place
        return dataclasses.replace(self._paths[cid][raw], bucket=self._buckets[cid].name)

    async def move(
        self, bucket: str, key: str, to_bucket: str, to_key: str, *, actor: Actor = SERVER
    ) -> PathRecord:
        async with self._lock:
            source, target = self._cid(bucket), self._cid(to_bucket)
            if source not in self._buckets or target not in self._buckets:
                name = bucket if source not in self._buckets else to_bucket
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            raw, to_raw = key.encode(), to_key.encode()
            record = self._path(bucket, key)
            moved_to = f"{to_bucket}/{to_key}"
            if (source, raw) == (target, to_raw):
                self._record(ChangeAction.OBJECT_MOVE, actor, bucket=bucket, key=key, name=moved_to)
                return dataclasses.replace(record, bucket=bucket)
            if to_raw in self._chains[target]:
                raise Conflict(f"{to_key!r} in {to_bucket!r} has versions: move refused")
            chain = self._chains[source].pop(raw)
            keys = self._sorted[source]
            del keys[bisect.bisect_left(keys, raw)]
            bisect.insort(self._sorted[target], to_raw)
            self._chains[target][to_raw] = [
                dataclasses.replace(v, bucket=to_bucket, key=to_key) for v in chain
            ]
            del self._paths[source][raw]
            moved = dataclasses.replace(record, bucket=to_bucket, key=to_key)
            self._paths[target][to_raw] = moved
            if moved.public_id is not None:
                self._public[moved.public_id] = (target, to_raw)
            size, objects = sum(v.size for v in chain), _current(chain[0])
            self._use(source, -size, -objects)
            self._use(target, size, objects)
            self._record(ChangeAction.OBJECT_MOVE, actor, bucket=bucket, key=key, name=moved_to)
            return moved
