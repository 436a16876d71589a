"""What every core service shares: the stores, the clock and the settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dolium.core.access import decisions as access
from dolium.core.access.policy import Decision
from dolium.errors import AccessDenied, NoSuchBucket
from dolium.model import Bucket, Principal
from dolium.protocols.blob import BlobStore
from dolium.protocols.events import Render, Reporter, plain
from dolium.protocols.kms import MasterKeys
from dolium.protocols.meta import MetaStore


@dataclass
class Settings:
    block_size: int = 4 * 1024 * 1024
    inline_threshold: int = 16 * 1024
    # The collector deletes blocks unused for `gc_grace` seconds; writers
    # refresh their blocks well within that time.
    gc_grace: float = 3600.0
    region: str = "us-east-1"


@dataclass
class Context:
    meta: MetaStore
    blobs: BlobStore
    settings: Settings = field(default_factory=Settings)
    clock: Callable[[], float] = time.time
    # Master keys for SSE-S3; None refuses SSE-S3 writes (core.sse).
    kms: MasterKeys | None = None
    # Event destinations by the ARN a bucket's notification configuration
    # names them with (core.buckets.notifications), and how their messages
    # read: the composition root chooses (the S3 event format).
    reporters: Mapping[str, Reporter] = field(default_factory=dict)
    render: Render = plain

    async def bucket(
        self, principal: Principal, name: str, action: str | None = None, key: str | None = None
    ) -> Bucket:
        """The bucket, if it exists and `principal` may do `action` on it.

        Without an action only the owner's tenant may (calls not yet mapped
        to an action name).
        """
        bucket = await self.meta.get_bucket(name)
        if bucket is None:
            raise NoSuchBucket("The specified bucket does not exist", bucket=name)
        if action is None:
            if bucket.owner != principal.tenant:
                raise AccessDenied("Access Denied")
        elif access.decide(principal, bucket, action, key) is not Decision.ALLOW:
            raise AccessDenied("Access Denied")
        return bucket

    def may(
        self, principal: Principal, bucket: Bucket, action: str, key: str | None = None
    ) -> bool:
        return access.decide(principal, bucket, action, key) is Decision.ALLOW

    async def object_bucket(
        self, principal: Principal, name: str, action: str, key: str
    ) -> tuple[Bucket, bool]:
        """The bucket, and whether `action` on `key` is allowed already.

        False means only the object's ACL could allow it: check the version
        with `access.object_allows`, and answer AccessDenied, never
        NoSuchKey, when there is no version to check.
        """
        bucket = await self.meta.get_bucket(name)
        if bucket is None:
            raise NoSuchBucket("The specified bucket does not exist", bucket=name)
        decision = access.decide(principal, bucket, action, key)
        if decision is Decision.DENY:
            raise AccessDenied("Access Denied")
        return bucket, decision is Decision.ALLOW
