"""An in-memory meta store, for tests of the core.

Same semantics as the SQL store, checked by the same contract suite: keys
order by UTF-8 bytes, serials increase across the store, each write is
atomic under one lock. Nothing survives `close`. It must not grow features
the SQL store lacks, and never imports the core or a front end.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Self

from dolium.errors import (
    AccessKeyExists,
    BucketAlreadyExists,
    BucketNotEmpty,
    Conflict,
    NoSuchAccessKey,
    NoSuchBucket,
    NoSuchKey,
    NoSuchTenant,
    NoSuchUpload,
    NoSuchUser,
    NoSuchVersion,
    PreconditionFailed,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import (
    EMPTY_MAP,
    MUTABLE,
    SERVER,
    AccessKey,
    Account,
    Actor,
    BlockRef,
    Bucket,
    Change,
    ChangeAction,
    Extent,
    MultipartUpload,
    ObjectVersion,
    Part,
    PathRecord,
    Sharing,
    Tenant,
    Usage,
    User,
    WriteCondition,
    container_address,
    part_change,
    version_change,
    with_mutable,
)
from dolium.protocols.meta import Guard, MetaStore


def _freeze(m: Mapping[str, str]) -> Mapping[str, str]:
    # A private copy, so a caller changing its dict later cannot change the store.
    return MappingProxyType(dict(m)) if m else EMPTY_MAP


def _check(condition: WriteCondition | None, latest: ObjectVersion | None) -> None:
    if condition is None:
        return
    current = latest is not None and not latest.delete_marker
    if condition.if_none_match and current:
        raise PreconditionFailed("an object exists at this key")
    if condition.if_match is not None:
        if latest is None or not current:
            raise NoSuchKey("no object to match")
        wanted = condition.if_match.strip().strip('"')
        if wanted not in ("*", latest.etag):
            raise PreconditionFailed("the object's ETag does not match")


def _current(version: ObjectVersion | None) -> int:
    """1 if `version` is a current object (not a delete marker), else 0."""
    return 0 if version is None or version.delete_marker else 1


def _start(prefix: bytes, after: bytes) -> tuple[bytes, bool]:
    """Where a listing starts: (bound, inclusive)."""
    return (after, False) if after and after >= prefix else (prefix, True)


@dataclasses.dataclass
class _Upload:
    serial: int
    upload: MultipartUpload
    key: bytes
    parts: dict[int, Part] = dataclasses.field(default_factory=dict)


class MemoryMetaStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = asyncio.Lock()
        self._clock = clock  # the time of change records
        self._serial = 0
        self._tenants: dict[str, Tenant] = {}
        self._users: dict[tuple[str, str], User] = {}
        self._keys: dict[str, AccessKey] = {}
        # Containers by id, each named by its address; every address that
        # reaches one (its global name, `owner:name`) -> its id.
        self._buckets: dict[int, Bucket] = {}
        self._ids: dict[str, int] = {}
        self._last_id = 0
        self._usage: dict[int, Usage] = {}
        self._account_meta: dict[str, Mapping[str, str]] = {}
        self._groups: dict[str, dict[str, tuple[str, ...]]] = {}
        self._paths: dict[int, dict[bytes, PathRecord]] = {}
        self._public: dict[str, tuple[int, bytes]] = {}
        # bucket -> key -> versions, newest first; and the bucket's keys in byte order
        self._chains: dict[int, dict[bytes, list[ObjectVersion]]] = {}
        self._sorted: dict[int, list[bytes]] = {}
        self._uploads: dict[int, dict[str, _Upload]] = {}
        # Block references per (policy, digest); those at zero, which the
        # collector looks at; leases by holder; blocks the collector is deleting.
        self._refs: dict[BlockRef, int] = {}
        self._unreferenced: set[BlockRef] = set()
        self._leases: dict[BlockRef, dict[str, float]] = {}
        self._doomed: dict[BlockRef, float] = {}
        self._changes: list[Change] = []
        self._cursors: dict[str, int] = {}

    @classmethod
    async def open(cls) -> Self:
        return cls()

    async def close(self) -> None:
        pass

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _log(self, change: Change) -> None:
        """Append `change`: called last in each write, once nothing can fail."""
        serial = self._changes[-1].serial + 1 if self._changes else 1
        self._changes.append(dataclasses.replace(change, serial=serial))

    def _record(
        self,
        action: ChangeAction,
        actor: Actor,
        *,
        tenant: str = "",
        bucket: str = "",
        key: str = "",
        name: str = "",
    ) -> None:
        now = self._clock()
        self._log(Change(0, now, action, actor, tenant, bucket, key, name))

    def _cid(self, address: str) -> int:
        """The id of the container at `address`; 0 (no container's) if none."""
        return self._ids.get(address, 0)

    def _use(self, cid: int, size: int, objects: int) -> None:
        """Add to the usage of the container (and so of its account)."""
        used = self._usage[cid]
        self._usage[cid] = Usage(used.bytes + size, used.objects + objects)

    # -- tenants, users, keys ----------------------------------------------------
    async def create_tenant(self, tenant: Tenant, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if tenant.name in self._tenants:
                raise TenantExists(f"tenant {tenant.name!r} exists", tenant=tenant.name)
            self._tenants[tenant.name] = tenant
            self._record(ChangeAction.TENANT_CREATE, actor, tenant=tenant.name)

    async def get_tenant(self, name: str) -> Tenant | None:
        return self._tenants.get(name)

    async def list_tenants(self) -> list[Tenant]:
        return [self._tenants[n] for n in sorted(self._tenants)]

    async def delete_tenant(self, name: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if name not in self._tenants:
                raise NoSuchTenant(f"no tenant {name!r}", tenant=name)
            if any(b.owner == name for b in self._buckets.values()):
                raise TenantNotEmpty(f"tenant {name!r} still owns buckets", tenant=name)
            del self._tenants[name]
            self._users = {k: u for k, u in self._users.items() if u.tenant != name}
            self._keys = {k: v for k, v in self._keys.items() if v.tenant != name}
            self._record(ChangeAction.TENANT_DELETE, actor, tenant=name)

    async def create_user(self, user: User, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if user.tenant not in self._tenants:
                raise NoSuchTenant(f"no tenant {user.tenant!r}", tenant=user.tenant)
            if (user.tenant, user.name) in self._users:
                raise UserExists(f"user {user.name!r} exists", user=user.name)
            self._users[user.tenant, user.name] = user
            self._record(ChangeAction.USER_CREATE, actor, tenant=user.tenant, name=user.name)

    async def get_user(self, tenant: str, name: str) -> User | None:
        return self._users.get((tenant, name))

    async def list_users(self, tenant: str | None = None) -> list[User]:
        return [self._users[k] for k in sorted(self._users) if tenant is None or k[0] == tenant]

    async def create_key(self, key: AccessKey, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if (key.tenant, key.user) not in self._users:
                raise NoSuchUser(f"no user {key.user!r} in tenant {key.tenant!r}")
            if key.access_key in self._keys:
                raise AccessKeyExists(f"access key {key.access_key!r} exists")
            self._keys[key.access_key] = key
            self._record(ChangeAction.KEY_CREATE, actor, tenant=key.tenant, name=key.access_key)

    async def get_key(self, access_key: str) -> AccessKey | None:
        return self._keys.get(access_key)

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]:
        return [
            self._keys[k]
            for k in sorted(self._keys)
            if tenant is None or self._keys[k].tenant == tenant
        ]

    async def revoke_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            key = self._keys.get(access_key)
            if key is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            self._keys[access_key] = dataclasses.replace(key, active=False)
            self._record(ChangeAction.KEY_REVOKE, actor, tenant=key.tenant, name=access_key)

    # -- buckets -----------------------------------------------------------------
    # -- accounts ----------------------------------------------------------------
    async def get_account(self, name: str) -> Account:
        used = [self._usage[b.id] for b in self._buckets.values() if b.owner == name]
        usage = Usage(sum(u.bytes for u in used), sum(u.objects for u in used))
        return Account(name, self._account_meta.get(name, EMPTY_MAP), usage)

    async def set_account_meta(
        self, name: str, meta: Mapping[str, str], *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            self._account_meta[name] = _freeze(meta)
            self._record(ChangeAction.ACCOUNT_META_SET, actor, tenant=name)

    async def set_group(
        self, account: str, group: str, members: Collection[str], *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            groups = self._groups.setdefault(account, {})
            if members:
                groups[group] = tuple(sorted(set(members)))
            else:
                groups.pop(group, None)
            self._record(ChangeAction.ACCOUNT_GROUP_SET, actor, tenant=account, name=group)

    async def get_groups(self, account: str) -> dict[str, tuple[str, ...]]:
        groups = self._groups.get(account, {})
        return {name: groups[name] for name in sorted(groups)}

    # -- containers --------------------------------------------------------------
    def _create(self, bucket: Bucket, *, claim: bool, required: bool, actor: Actor) -> Bucket:
        owner, name = bucket.owner, bucket.name  # a name here, not yet an address
        local = container_address(owner, name)
        global_held = claim and name in self._ids
        if (required and global_held) or local in self._ids:
            raise BucketAlreadyExists(f"bucket {bucket.name!r} exists", bucket=bucket.name)
        self._last_id += 1
        cid = self._last_id
        holds = claim and not global_held
        made = dataclasses.replace(bucket, name=name if holds else local, id=cid)
        self._buckets[cid] = made
        self._ids[local] = cid
        if holds:
            self._ids[name] = cid
        self._usage[cid] = Usage()
        self._chains[cid] = {}
        self._sorted[cid] = []
        self._uploads[cid] = {}
        self._paths[cid] = {}
        self._record(ChangeAction.BUCKET_CREATE, actor, tenant=owner, bucket=made.name)
        return made

    async def create_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> Bucket:
        async with self._lock:
            return self._create(bucket, claim=True, required=True, actor=actor)

    async def create_container(
        self, bucket: Bucket, *, claim: bool, actor: Actor = SERVER
    ) -> Bucket:
        async with self._lock:
            return self._create(bucket, claim=claim, required=False, actor=actor)

    async def get_bucket(self, name: str) -> Bucket | None:
        return self._buckets.get(self._cid(name))

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        found = (b for b in self._buckets.values() if owner is None or b.owner == owner)
        return sorted(found, key=lambda b: b.name.encode())

    async def get_usage(self, bucket: str) -> Usage:
        used = self._usage.get(self._cid(bucket))
        if used is None:
            raise NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        return used

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            old = self._buckets.get(self._cid(bucket.name))
            if old is None:
                raise NoSuchBucket(f"no bucket {bucket.name!r}", bucket=bucket.name)
            self._buckets[old.id] = dataclasses.replace(
                bucket, name=old.name, owner=old.owner, id=old.id, configs=old.configs
            )
            self._record(ChangeAction.BUCKET_UPDATE, actor, tenant=old.owner, bucket=bucket.name)

    async def set_bucket_config(
        self, name: str, config: str, document: str | None, *, actor: Actor = SERVER
    ) -> Bucket:
        async with self._lock:
            old = self._buckets.get(self._cid(name))
            if old is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            configs = dict(old.configs)  # a private copy, as _freeze
            if document is None:
                configs.pop(config, None)
            else:
                configs[config] = document
            new = dataclasses.replace(old, configs=MappingProxyType(configs))
            self._buckets[old.id] = new
            action = (
                ChangeAction.BUCKET_CONFIG_DELETE
                if document is None
                else ChangeAction.BUCKET_CONFIG_SET
            )
            self._record(action, actor, tenant=old.owner, bucket=name, name=config)
            return new

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            cid = self._cid(name)
            found = self._buckets.get(cid)
            if found is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            if self._chains[cid]:
                raise BucketNotEmpty(f"bucket {name!r} is not empty", bucket=name)
            for pending in self._uploads[cid].values():
                self._uncount_parts(pending)
            del self._buckets[cid], self._chains[cid], self._sorted[cid], self._uploads[cid]
            del self._usage[cid], self._paths[cid]
            self._ids = {a: i for a, i in self._ids.items() if i != cid}
            self._record(ChangeAction.BUCKET_DELETE, actor, tenant=found.owner, bucket=name)

    # -- object versions -----------------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        chain = self._chains.get(self._cid(bucket), {}).get(key.encode(), [])
        if version_id is None:
            return chain[0] if chain else None
        return next((v for v in chain if v.version_id == version_id), None)

    def _put(self, v: ObjectVersion, condition: WriteCondition | None) -> ObjectVersion:
        chains = self._chains.get(self._cid(v.bucket))
        raw = v.key.encode()
        chain = None if chains is None else chains.get(raw)
        # The condition first, then the bucket: the order the SQL store fails in.
        _check(condition, chain[0] if chain else None)
        if chains is None:
            raise NoSuchBucket(f"no bucket {v.bucket!r}", bucket=v.bucket)
        cid = self._cid(v.bucket)
        if chain is None:
            chain = chains[raw] = []
            bisect.insort(self._sorted[cid], raw)
            self._paths[cid][raw] = PathRecord(v.bucket, v.key, str(uuid.uuid4()))
        before = _current(chain[0] if chain else None)
        replaced_size = sum(x.size for x in chain if x.version_id == v.version_id)
        self._use(cid, v.size - replaced_size, (not v.delete_marker) - before)
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

    def _put_logged(
        self,
        version: ObjectVersion,
        condition: WriteCondition | None,
        actor: Actor,
        action: ChangeAction,
        name: str = "",
    ) -> ObjectVersion:
        new = self._put(version, condition)
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
    ) -> ObjectVersion:
        async with self._lock:
            return self._put_logged(version, condition, actor, action)

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
    ) -> list[ObjectVersion]:
        low = prefix.encode()
        chains = self._chains.get(self._cid(bucket), {})
        out: list[ObjectVersion] = []
        for raw in self._keys_from(bucket, low, start_after.encode()):
            if len(out) >= limit or not raw.startswith(low):
                break
            if not chains[raw][0].delete_marker:
                out.append(chains[raw][0])
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
    ) -> ObjectVersion:
        async with self._lock:
            table = self._uploads.get(self._cid(bucket), {})
            if upload_id not in table:
                raise NoSuchUpload(f"no upload {upload_id!r}", upload_id=upload_id)
            done = self._put_logged(
                version, condition, actor, ChangeAction.OBJECT_COMPLETE, upload_id
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

    # -- change log ----------------------------------------------------------------
    async def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        # Serials are 1, 2, 3 ... here: the record after `after` is at index `after`.
        start = max(after, 0)
        return self._changes[start : start + max(limit, 0)]

    async def cursor(self, consumer: str) -> int:
        return self._cursors.get(consumer, 0)

    async def advance_cursor(self, consumer: str, serial: int) -> None:
        async with self._lock:
            self._cursors[consumer] = max(self._cursors.get(consumer, 0), serial)

    # -- block references and leases ------------------------------------------------
    def _count(self, policy: str, extents: Iterable[Extent], delta: int) -> None:
        for extent in extents:
            ref = BlockRef(policy, extent.digest)
            refs = self._refs.get(ref, 0) + delta
            self._refs[ref] = refs
            if refs == 0:
                self._unreferenced.add(ref)
            else:
                self._unreferenced.discard(ref)

    def _uncount_parts(self, upload: _Upload) -> None:
        for p in upload.parts.values():
            self._count(p.policy, p.extents, -1)

    async def lease_blocks(
        self, refs: Collection[BlockRef], holder: str, *, now: float, until: float
    ) -> set[BlockRef]:
        async with self._lock:
            busy: set[BlockRef] = set()
            for ref in refs:
                if ref in self._doomed:
                    busy.add(ref)
                    continue
                if ref not in self._refs:
                    self._refs[ref] = 0
                    self._unreferenced.add(ref)
                self._leases.setdefault(ref, {})[holder] = until
            return busy

    async def claim_garbage(self, *, now: float, stale_before: float, limit: int) -> list[BlockRef]:
        async with self._lock:
            for ref in [r for r, held in self._leases.items() if max(held.values()) <= now]:
                del self._leases[ref]
            found: list[BlockRef] = []
            for ref in self._unreferenced:
                if len(found) >= limit:
                    break
                marked = self._doomed.get(ref)
                if ref in self._leases or (marked is not None and marked >= stale_before):
                    continue
                found.append(ref)
            for ref in found:
                self._doomed[ref] = now
            return found

    async def forget_blocks(self, refs: Collection[BlockRef]) -> None:
        async with self._lock:
            for ref in refs:
                if self._doomed.pop(ref, None) is not None and self._refs.get(ref) == 0:
                    del self._refs[ref]
                    self._unreferenced.discard(ref)

    async def referenced_blocks(self) -> AsyncIterator[BlockRef]:
        async with self._lock:  # a snapshot, taken atomically
            found = [
                BlockRef(p.policy, e.digest)
                for table in self._uploads.values()
                for u in table.values()
                for p in u.parts.values()
                for e in p.extents
            ]
            found += [
                BlockRef(v.policy, e.digest)
                for chains in self._chains.values()
                for chain in chains.values()
                for v in chain
                for e in v.extents
            ]
        for ref in found:
            yield ref

    async def referenced_digests(self) -> AsyncIterator[bytes]:
        async for ref in self.referenced_blocks():
            yield ref.digest


def _conforms(store: MemoryMetaStore) -> MetaStore:  # mypy fails here if the store drifts
    return store
