"""The in-memory meta store's state, shared by the parts that implement its calls.

Containers, versions, uploads, path records, block references and the change
log live in plain dicts guarded by one lock; each call that changes them holds
it for its whole change, which makes the call atomic."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Self

from dolium.model import (
    EMPTY_MAP,
    AccessKey,
    Actor,
    BlockRef,
    Bucket,
    Change,
    ChangeAction,
    MultipartUpload,
    ObjectVersion,
    Part,
    PathRecord,
    Tenant,
    Usage,
    User,
)


def _freeze(m: Mapping[str, str]) -> Mapping[str, str]:
    # A private copy, so a caller changing its dict later cannot change the store.
    return MappingProxyType(dict(m)) if m else EMPTY_MAP


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


# The changes that move the config epoch (MetaStore.config_epoch).
_CONFIG = frozenset(
    a
    for a in ChangeAction
    if a.value.split(".")[0] in ("tenant", "user", "key", "bucket", "account")
)


class MemoryState:
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
        # Identity policies: (tenant, user) -> name -> document; and
        # account -> group -> name -> document.
        self._user_policies: dict[tuple[str, str], dict[str, str]] = {}
        self._group_policies: dict[str, dict[str, dict[str, str]]] = {}
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
        self._job_leases: dict[str, tuple[str, float]] = {}  # name: (holder, expiry)
        self._epoch = 0

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
        if action in _CONFIG:
            self._epoch += 1

    async def config_epoch(self) -> int:
        return self._epoch

    def _cid(self, address: str) -> int:
        """The id of the container at `address`; 0 (no container's) if none."""
        return self._ids.get(address, 0)

    def _use(self, cid: int, size: int, objects: int) -> None:
        """Add to the usage of the container (and so of its account)."""
        used = self._usage[cid]
        self._usage[cid] = Usage(used.bytes + size, used.objects + objects)

    # -- change log ----------------------------------------------------------------
    async def record_refusal(self, change: Change) -> None:
        async with self._lock:
            self._log(change)

    async def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        # Serials are 1, 2, 3 ... here: the record after `after` is at index `after`.
        start = max(after, 0)
        return self._changes[start : start + max(limit, 0)]

    async def cursor(self, consumer: str) -> int:
        return self._cursors.get(consumer, 0)

    async def advance_cursor(self, consumer: str, serial: int) -> None:
        async with self._lock:
            self._cursors[consumer] = max(self._cursors.get(consumer, 0), serial)

    # -- leases of background work ---------------------------------------------------
    async def hold_lease(self, name: str, holder: str, *, now: float, until: float) -> bool:
        held = self._job_leases.get(name)
        if held is None or held[0] == holder or held[1] <= now:
            self._job_leases[name] = (holder, until)
            return True
        return False

    async def drop_lease(self, name: str, holder: str) -> None:
        held = self._job_leases.get(name)
        if held is not None and held[0] == holder:
            del self._job_leases[name]

    async def lease_holder(self, name: str, *, now: float) -> str | None:
        held = self._job_leases.get(name)
        return held[0] if held is not None and held[1] > now else None
