"""MetaStore contract: writes keep the quotas they are given, also when racing."""

from __future__ import annotations

import asyncio

import pytest

from dolium.errors import QuotaExceeded
from dolium.model import Limits, MultipartUpload, Quota, Usage
from dolium.protocols.meta import MetaStore
from dolium.testing.meta_contract_objects import make_bucket, version


class TestQuotas:
    async def test_a_bucket_quota_in_bytes(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        limits = Limits(bucket=Quota(bytes=100))
        await meta.put_version(version("b1", "a", "v1", size=60), limits=limits)
        with pytest.raises(QuotaExceeded) as caught:
            await meta.put_version(version("b1", "b", "v1", size=41), limits=limits)
        assert (caught.value.scope, caught.value.dimension, caught.value.limit) == (
            "bucket", "bytes", 100,
        )  # fmt: skip
        assert await meta.get_usage("b1") == Usage(60, 1)  # the refused write left nothing
        assert await meta.get_version("b1", "b") is None
        await meta.put_version(version("b1", "b", "v1", size=40), limits=limits)  # exactly full
        assert await meta.get_usage("b1") == Usage(100, 2)

    async def test_a_bucket_quota_in_objects(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        limits = Limits(bucket=Quota(objects=2))
        await meta.put_version(version("b1", "a", "v1"), limits=limits)
        await meta.put_version(version("b1", "b", "v1"), limits=limits)
        with pytest.raises(QuotaExceeded) as caught:
            await meta.put_version(version("b1", "c", "v1"), limits=limits)
        assert caught.value.dimension == "objects"
        # A new version of an existing object adds no object.
        await meta.put_version(version("b1", "a", "v2"), limits=limits)

    async def test_writes_that_free_space_pass_a_quota_already_exceeded(
        self, meta: MetaStore
    ) -> None:
        await make_bucket(meta, "b1")
        await meta.put_version(version("b1", "a", "null", size=500))
        limits = Limits(bucket=Quota(bytes=100, objects=1))
        # A smaller replacement, and a delete marker, only shrink what is held.
        await meta.put_version(version("b1", "a", "null", size=300), limits=limits)
        await meta.put_version(version("b1", "a", "m1", delete_marker=True), limits=limits)
        assert await meta.get_usage("b1") == Usage(300, 0)

    async def test_an_account_quota_spans_its_buckets(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1", owner="alice")
        await make_bucket(meta, "b2", owner="alice")
        await make_bucket(meta, "b3", owner="bob")
        limits = Limits(account=Quota(bytes=100))
        await meta.put_version(version("b1", "a", "v1", size=70), limits=limits)
        await meta.put_version(version("b3", "a", "v1", size=90), limits=limits)  # bob's own
        with pytest.raises(QuotaExceeded) as caught:
            await meta.put_version(version("b2", "a", "v1", size=31), limits=limits)
        assert (caught.value.scope, caught.value.limit) == ("account", 100)
        await meta.put_version(version("b2", "a", "v1", size=30), limits=limits)
        assert (await meta.get_account("alice")).usage == Usage(100, 2)

    async def test_completing_an_upload_keeps_the_quota(self, meta: MetaStore) -> None:
        await make_bucket(meta, "b1")
        await meta.create_upload(MultipartUpload("b1", "k", "u1", 1.0, "t1"))
        with pytest.raises(QuotaExceeded):
            await meta.complete_upload(
                "b1", "u1", version("b1", "k", "v1", size=77), limits=Limits(Quota(bytes=76))
            )
        assert await meta.get_upload("b1", "u1") is not None  # still there to retry or abort
        await meta.complete_upload(
            "b1", "u1", version("b1", "k", "v1", size=77), limits=Limits(Quota(bytes=77))
        )

    async def test_racing_writers_never_pass_a_quota_together(
        self, meta: MetaStore, meta_peer: MetaStore
    ) -> None:
        await make_bucket(meta, "b1", owner="alice")
        await make_bucket(meta, "b2", owner="alice")
        stores = [meta, meta_peer]
        bucket_limits = Limits(bucket=Quota(bytes=100))
        account_limits = Limits(account=Quota(objects=15))

        async def write(i: int, bucket: str, limits: Limits) -> bool:
            try:
                await stores[i % 2].put_version(
                    version(bucket, f"k{i}", "v1", size=10), limits=limits
                )
            except QuotaExceeded:
                return False
            return True

        won = await asyncio.gather(*(write(i, "b1", bucket_limits) for i in range(30)))
        assert sum(won) == 10
        assert await meta.get_usage("b1") == Usage(100, 10)
        both = [write(i, "b1" if i % 3 else "b2", account_limits) for i in range(100, 120)]
        won = await asyncio.gather(*both)
        assert sum(won) == 5  # the account held 10 objects of its 15
        assert (await meta.get_account("alice")).usage.objects == 15
