"""An offloaded audit segment kept as an object of the data directory's own buckets.

Written through the core as the bucket's owner would write it, so the
object is stored as durably as any other (blocks fsynced, then the
metadata committed) before the records leave the audit store.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from dolium.app import core_settings
from dolium.config import Config
from dolium.core.context import Context
from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.errors import NoSuchBucket
from dolium.model import DEFAULT_POLICY, Principal
from dolium.plugins import open_meta, open_policies


async def put_segment(config: Config, bucket: str, key: str | None, lines: list[str]) -> str:
    """Store `lines` (an export) in `bucket`; the object's key."""
    header = json.loads(lines[0])
    key = key or f"audit/{header.get('first', 0):012d}-{header.get('end', 0):012d}.jsonl"
    body = "".join(lines).encode()
    meta = await open_meta(config)
    policies = await open_policies(config)
    ctx = Context(
        meta=meta, blobs=policies[DEFAULT_POLICY], policies=policies, clock=time.time,
        settings=core_settings(config),
    )  # fmt: skip
    store = Store(ctx)
    try:
        found = await meta.get_bucket(bucket)
        if found is None:
            raise NoSuchBucket(f"no bucket {bucket!r} to offload the audit log to", bucket=bucket)

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        owner = Principal(tenant=found.owner, user="audit-offload")
        options = WriteOptions(content_type="application/x-ndjson", declared_size=len(body))
        await store.objects.put(owner, found.name, key, chunks(), options)
        return key
    finally:
        await store.close()
