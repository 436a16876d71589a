"""What every core service shares: the stores, the clock and the settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dolium.errors import AccessDenied, NoSuchBucket
from dolium.model import Bucket, Principal
from dolium.protocols.blob import BlobStore
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

    async def bucket(self, principal: Principal, name: str) -> Bucket:
        """The bucket, if it exists and `principal` may use it."""
        bucket = await self.meta.get_bucket(name)
        if bucket is None:
            raise NoSuchBucket("The specified bucket does not exist", bucket=name)
        if bucket.owner != principal.tenant:
            raise AccessDenied("Access Denied")
        return bucket
