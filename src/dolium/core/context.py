"""What every core service shares: the stores, the clock, the settings and the authorizer."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.access.authorizer import Authorizer
from dolium.core.access.s3_evaluator import S3Evaluator
from dolium.core.caches import Cache, Caches
from dolium.core.clock import Clock
from dolium.errors import AccessDenied, NoSuchBucket, NoSuchStoragePolicy, StorageError
from dolium.model import DEFAULT_POLICY, Bucket, ObjectVersion, Principal
from dolium.protocols.blob import BlobStore
from dolium.protocols.events import PLAIN, EventFormat, Reporter
from dolium.protocols.kms import KeyService, MasterKeys
from dolium.protocols.meta import MetaStore
from dolium.protocols.spool import Spool


@dataclass
class Settings:
    block_size: int = 4 * 1024 * 1024
    inline_threshold: int = 16 * 1024
    # The collector deletes blocks unused for `gc_grace` seconds; writers
    # refresh their blocks well within that time.
    gc_grace: float = 3600.0
    region: str = "us-east-1"
    # The storage policy of buckets created from now on.
    default_policy: str = DEFAULT_POLICY


# The bucket the current request loaded last, set by `Context.bucket`: a front
# end reads it after answering (server access logging) without reading the
# bucket again. Each request runs in a task of its own, with its own value.
REQUEST_BUCKET: ContextVar[Bucket | None] = ContextVar("dolium_request_bucket", default=None)


@dataclass
class Context:
    meta: MetaStore
    # The block store of the default policy, `standard`.
    blobs: BlobStore
    clock: Clock
    # The block store of every other storage policy the config declares.
    policies: Mapping[str, BlobStore] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    # Master keys for SSE-S3; None refuses SSE-S3 writes (core.sse).
    kms: MasterKeys | None = None
    # The key service for SSE-KMS; None refuses SSE-KMS writes (core.sse).
    keys: KeyService | None = None
    # Event destinations by the ARN a bucket's notification configuration
    # names them with (core.buckets.notifications).
    reporters: Mapping[str, Reporter] = field(default_factory=dict)
    # What the event names of a notification configuration select, and how
    # messages read: the composition root chooses (the S3 event format).
    events: EventFormat = PLAIN
    # Who may do what (core.access.authorizer); S3 ACLs and bucket policies
    # unless the composition root adds evaluators.
    authorizer: Authorizer = field(default_factory=lambda: Authorizer((S3Evaluator(),)))
    # Where server access log lines wait for delivery (core.buckets.access_logging);
    # None: they are dropped.
    spool: Spool | None = None
    # Checked against the meta store's config epoch at each read (core.caches).
    caches: Caches = field(init=False)
    _buckets: Cache[str, Bucket | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.caches = Caches(self.meta)
        self._buckets = self.caches.cache()

    def blobs_for(self, policy: str) -> BlobStore:
        """The block store that storage policy `policy` reads and writes through."""
        store = self.policies.get(policy)
        if store is not None:
            return store
        if policy == DEFAULT_POLICY:
            return self.blobs
        raise StorageError(f"storage policy {policy!r} is not configured on this server")

    def check_policy(self, policy: str) -> str:
        """`policy` if this server has it; NoSuchStoragePolicy naming it otherwise."""
        if policy in self.policies or policy == DEFAULT_POLICY:
            return policy
        raise NoSuchStoragePolicy(f"no storage policy {policy!r} on this server", policy=policy)

    async def bucket(
        self,
        principal: Principal,
        name: str,
        action: Action,
        key: str | None = None,
        *,
        setting: Setting | None = None,
        version_id: str | None = None,
    ) -> Bucket:
        """The bucket, if it exists and `principal` may do `action` on it."""
        bucket = await self._get_bucket(name)
        resource = Resource(bucket, key, setting, version_id)
        if not await self.authorizer.allows(principal, action, resource):
            raise AccessDenied(f"{action.name} on bucket {name!r} is not allowed")
        return bucket

    async def may(
        self, principal: Principal, bucket: Bucket, action: Action, key: str | None = None
    ) -> bool:
        return await self.authorizer.allows(principal, action, Resource(bucket, key))

    async def object_bucket(
        self,
        principal: Principal,
        name: str,
        action: Action,
        key: str,
        version_id: str | None = None,
    ) -> tuple[Bucket, bool]:
        """The bucket, and whether `action` on `key` is allowed already.

        False means only the version's own grants could allow it: read the
        version and ask `version_allows`, and answer AccessDenied, never
        NoSuchKey, when there is no version to ask about.
        """
        bucket = await self._get_bucket(name)
        resource = Resource(bucket, key, version_id=version_id)
        decision = await self.authorizer.decide(principal, action, resource)
        if decision is Decision.DENY:
            raise AccessDenied(f"{action.name} on {key!r} in {name!r} is denied")
        return bucket, decision is Decision.ALLOW

    async def version_allows(
        self,
        principal: Principal,
        bucket: Bucket,
        action: Action,
        version: ObjectVersion,
        version_id: str | None = None,
    ) -> bool:
        """Whether `action` on `version` is allowed, its own grants counted."""
        resource = Resource(bucket, version.key, version_id=version_id, version=version)
        return await self.authorizer.allows(principal, action, resource)

    async def container(self, name: str) -> Bucket:
        """The bucket at an address, through the cache, with no permission check:
        for rules that judge it themselves; raise NoSuchBucket."""
        return await self._get_bucket(name)

    async def _get_bucket(self, name: str) -> Bucket:
        bucket = await self._buckets.get(name, self.meta.get_bucket)
        if bucket is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
        REQUEST_BUCKET.set(bucket)
        return bucket
