"""The in-memory meta store, for tests of the core.

Same semantics as the SQL store, checked by the same contract suite: keys
order by UTF-8 bytes, serials increase across the store, each write is
atomic under one lock. Nothing survives `close`. It must not grow features
the SQL store lacks, and never imports the core or a front end."""

from __future__ import annotations

import bisect
import dataclasses
import uuid
from collections.abc import Collection, Iterator

from dolium import quotas
from dolium.backends.meta_memory.accounts import MemoryAccounts
from dolium.backends.meta_memory.identity import MemoryIdentity
from dolium.backends.meta_memory.paths import MemoryPaths
from dolium.backends.meta_memory.state import _current, _freeze, _start, _Upload
from dolium.conditions import WriteCondition, check_condition
from dolium.errors import (
    Conflict,
    NoSuchBucket,
    NoSuchUpload,
    NoSuchVersion,
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
    PathRecord,
    Usage,
    part_change,
    version_change,
    with_mutable,
)
from dolium.protocols.meta import Guard, MetaStore


class MemoryMetaStore(MemoryAccounts, MemoryIdentity, MemoryPaths):
    # -- object versions -----------------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        chain = self._chains.get(self._cid(bucket), {}).get(key.encode(), [])
        if version_id is None:
            return chain[0] if chain else None
        return next((v for v in chain if v.version_id == version_id), None)

    def _put(
        self, v: ObjectVersion, condition: WriteCondition | None, limits: Limits | None = None
    ) -> ObjectVersion:
        chains = self._chains.get(self._cid(v.bucket))
        raw = v.key.encode()
        chain = None if chains is None else chains.get(raw)
        # The condition first, then the bucket: the order the SQL store fails in.
        check_condition(condition, chain[0] if chain else None)
        if chains is None:
            raise NoSuchBucket(f"no bucket {v.bucket!r}", bucket=v.bucket)
        cid = self._cid(v.bucket)
        if chain is None:
            chain = chains[raw] = []
            bisect.insort(self._sorted[cid], raw)
            self._paths[cid][raw] = PathRecord(v.bucket, v.key, str(uuid.uuid4()))
        before = _current(chain[0] if chain else None)
        replaced_size = sum(x.size for x in chain if x.version_id == v.version_id)
        size, objects = v.size - replaced_size, (not v.delete_marker) - before
        if limits is not None and not limits.unlimited and quotas.grows(size, objects):
            self._keep_limits(cid, limits, size, objects)
        self._use(cid, size, objects)
        for replaced in (x for x in chain if x.version_id == v.version_id):
            self._count(replaced.policy, replaced.extents, -1)
        chain[:] = [x for x in chain if x.version_id != v.version_id]
        if chain:
            chain[0] = dataclasses.replace(chain[0], is_latest=False)
        new = dataclasses.replace(
            v,
            meta=_freeze(v.meta),
            headers=_freeze(v.headers),
            checksums=_freeze(v.checksums),
            tags=_freeze(v.tags),
            sse=_freeze(v.sse),
            is_latest=True,
            serial=self._next_serial(),
        )
        chain.insert(0, new)
        self._count(new.policy, new.extents, +1)
        return new

    def _keep_limits(self, cid: int, limits: Limits, size: int, objects: int) -> None:
        bucket = next(b for b in self._buckets.values() if b.id == cid)
        used = self._usage[cid]
        after = Usage(used.bytes + size, used.objects + objects)
        quotas.check("bucket", limits.bucket, after, name=bucket.container)
        if not limits.account.unlimited:
            mine = [self._usage[b.id] for b in self._buckets.values() if b.owner == bucket.owner]
            total = Usage(sum(u.bytes for u in mine) + size, sum(u.objects for u in mine) + objects)
            quotas.check("account", limits.account, total, name=bucket.owner)

    def _put_logged(
        self,
        version: ObjectVersion,
        condition: WriteCondition | None,
        actor: Actor,
        action: ChangeAction,
        name: str = "",
        limits: Limits | None = None,
    ) -> ObjectVersion:
        new = self._put(version, condition, limits)
        action = ChangeAction.OBJECT_MARKER if new.delete_marker else action
        self._log(version_change(action, new, actor, self._clock(), name))
        return new

    async def put_version(
        self,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
        action: ChangeAction = ChangeAction.OBJECT_PUT,
        limits: Limits | None = None,
    ) -> ObjectVersion:
        async with self._lock:
            return self._put_logged(version, condition, actor, action, limits=limits)

    async def update_version(
        self,
        version: ObjectVersion,
        fields: Collection[str] = MUTABLE,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion:
        async with self._lock:
            chain = self._chains.get(self._cid(version.bucket), {}).get(version.key.encode(), [])
            at = next((i for i, v in enumerate(chain) if v.version_id == version.version_id), None)
            if at is None:
                raise NoSuchVersion(
                    "The specified version does not exist.",
                    key=version.key,
                    version_id=version.version_id,
                )
            if guard is not None:
                guard(chain[at])
            given = dataclasses.replace(version, tags=_freeze(version.tags))
            chain[at] = with_mutable(chain[at], given, fields)
            named = ",".join(sorted(fields))
            self._log(
                version_change(ChangeAction.OBJECT_UPDATE, chain[at], actor, self._clock(), named)
            )
            return chain[at]

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion | None:
        async with self._lock:
            raw = key.encode()
            chains = self._chains.get(self._cid(bucket), {})
            chain = chains.get(raw, [])
            at = next((i for i, v in enumerate(chain) if v.version_id == version_id), None)
            if at is None:
                absent = ObjectVersion(bucket, key, version_id, delete_marker=True)
                self._log(version_change(ChangeAction.OBJECT_DELETE, absent, actor, self._clock()))
                return None
            if guard is not None:
                guard(chain[at])
            removed = chain.pop(at)
            self._count(removed.policy, removed.extents, -1)
            if chain and removed.is_latest:
                chain[0] = dataclasses.replace(chain[0], is_latest=True)
            cid = self._cid(bucket)
            objects = _current(chain[0] if chain else None) - _current(removed)
            self._use(cid, -removed.size, objects if removed.is_latest else 0)
            if not chain:
                del chains[raw]
                keys = self._sorted[cid]
                del keys[bisect.bisect_left(keys, raw)]
                self._drop_path(cid, raw)
            self._log(version_change(ChangeAction.OBJECT_DELETE, removed, actor, self._clock()))
            return removed

    def _keys_from(self, bucket: str, prefix: bytes, after: bytes) -> Iterator[bytes]:
        """The bucket's keys in byte order from where a listing starts (no copy)."""
        keys = self._sorted.get(self._cid(bucket), [])
        bound, inclusive = _start(prefix, after)
        at = (bisect.bisect_left if inclusive else bisect.bisect_right)(keys, bound)
        return (keys[i] for i in range(at, len(keys)))

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListedObject]:
        low = prefix.encode()
        chains = self._chains.get(self._cid(bucket), {})
        out: list[ListedObject] = []
        for raw in self._keys_from(bucket, low, start_after.encode()):
            if len(out) >= limit or not raw.startswith(low):
                break
            if not chains[raw][0].delete_marker:
                out.append(ListedObject.of(chains[raw][0]))
        return out

    async def list_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after: tuple[str, int] | None = None,
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        low = prefix.encode()
        chains = self._chains.get(self._cid(bucket), {})
        out: list[ObjectVersion] = []
        key = b"" if after is None else after[0].encode()
        if after is not None and after[1] > 0 and key.startswith(low):
            out.extend(v for v in chains.get(key, []) if v.serial < after[1])
        for raw in self._keys_from(bucket, low, key):
            if len(out) >= limit or not raw.startswith(low):
                break
            out.extend(chains[raw])
        return out[: max(limit, 0)]

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
        chains = self._chains.get(self._cid(bucket), {})
        out: list[ObjectVersion] = []
        for raw in self._keys_from(bucket, low, start_after.encode()):
            if len(out) >= limit or not raw.startswith(low):
                break
            found = next((v for v in chains[raw] if v.modified <= until), None)
            if found is not None and not found.delete_marker:
                out.append(dataclasses.replace(found, is_latest=False))
        return out

    # -- multipart uploads ---------------------------------------------------------
    async def create_upload(self, upload: MultipartUpload, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            table = self._uploads.get(self._cid(upload.bucket))
            if table is None:
                raise NoSuchBucket(f"no bucket {upload.bucket!r}", bucket=upload.bucket)
            if upload.upload_id in table:
                raise Conflict(f"upload id {upload.upload_id!r} is taken")
            frozen = dataclasses.replace(
                upload,
                meta=_freeze(upload.meta),
                headers=_freeze(upload.headers),
                tags=_freeze(upload.tags),
                sse=_freeze(upload.sse),
            )
            table[upload.upload_id] = _Upload(self._next_serial(), frozen, upload.key.encode())
            self._record(
                ChangeAction.UPLOAD_CREATE,
                actor,
                bucket=upload.bucket,
                key=upload.key,
                name=upload.upload_id,
            )

    async def get_upload(self, bucket: str, upload_id: str) -> MultipartUpload | None:
        found = self._uploads.get(self._cid(bucket), {}).get(upload_id)
        return None if found is None else found.upload

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after_key: str = "",
        after_upload_id: str = "",
        limit: int = 1000,
    ) -> list[MultipartUpload]:
        low, key = prefix.encode(), after_key.encode()
        bound, inclusive = _start(low, key)
        marker = self._uploads.get(self._cid(bucket), {}).get(after_upload_id)
        mark = marker.serial if marker and marker.key == key and key.startswith(low) else None
        out: list[MultipartUpload] = []
        table = self._uploads.get(self._cid(bucket), {})
        for u in sorted(table.values(), key=lambda u: (u.key, u.serial)):
            if len(out) >= limit:
                break
            if not u.key.startswith(low):
                continue
            past = u.key > bound or (inclusive and u.key == bound)
            if past or (mark is not None and u.key == key and u.serial > mark):
                out.append(u.upload)
        return out

    async def put_part(self, bucket: str, part: Part, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            found = self._uploads.get(self._cid(bucket), {}).get(part.upload_id)
            if found is None:
                raise NoSuchUpload(f"no upload {part.upload_id!r}", upload_id=part.upload_id)
            replaced = found.parts.get(part.number)
            if replaced is not None:
                self._count(replaced.policy, replaced.extents, -1)
            found.parts[part.number] = dataclasses.replace(part, checksums=_freeze(part.checksums))
            self._count(part.policy, part.extents, +1)
            self._log(part_change(bucket, found.upload.key, part, actor, self._clock()))

    async def list_parts(
        self, bucket: str, upload_id: str, *, after: int = 0, limit: int = 10000
    ) -> list[Part]:
        found = self._uploads.get(self._cid(bucket), {}).get(upload_id)
        if found is None:
            return []
        numbers = sorted(n for n in found.parts if n > after)[: max(limit, 0)]
        return [found.parts[n] for n in numbers]

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
        async with self._lock:
            table = self._uploads.get(self._cid(bucket), {})
            if upload_id not in table:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            done = self._put_logged(
                version, condition, actor, ChangeAction.OBJECT_COMPLETE, upload_id, limits
            )
            self._uncount_parts(table.pop(upload_id))
            return done

    async def abort_upload(self, bucket: str, upload_id: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            found = self._uploads.get(self._cid(bucket), {}).pop(upload_id, None)
            if found is None:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            self._uncount_parts(found)
            key = found.upload.key
            self._record(ChangeAction.UPLOAD_ABORT, actor, bucket=bucket, key=key, name=upload_id)


def _conforms(store: MemoryMetaStore) -> MetaStore:  # mypy fails here if the store drifts
    return store
