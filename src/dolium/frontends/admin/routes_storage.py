"""Admin routes for buckets, storage policies, usage and the server's status."""

from __future__ import annotations

from fastapi import APIRouter

from dolium.frontends.admin.deps import Admin, Core, Operated
from dolium.frontends.admin.schemas import (
    BucketOut,
    CheckOut,
    JobOut,
    PolicyIn,
    QuotaIO,
    StatusOut,
    StoreOut,
    UsageOut,
)

router = APIRouter(tags=["storage"])


@router.get("/buckets", operation_id="listBuckets")
async def list_buckets(admin: Admin, core: Core, owner: str | None = None) -> list[BucketOut]:
    return [BucketOut.of(b) for b in await core.admin.buckets(admin, owner)]


@router.get("/buckets/{bucket}", operation_id="getBucket")
async def get_bucket(bucket: str, admin: Admin, core: Core) -> BucketOut:
    return BucketOut.of(await core.admin.bucket(admin, bucket))


@router.put("/buckets/{bucket}/policy", operation_id="setBucketPolicy")
async def set_bucket_policy(bucket: str, body: PolicyIn, admin: Admin, core: Core) -> BucketOut:
    """Write the bucket's new data through another storage policy."""
    return BucketOut.of(await core.admin.move_bucket(admin, bucket, body.policy))


@router.put("/buckets/{bucket}/quota", operation_id="setBucketQuota")
async def set_bucket_quota(bucket: str, body: QuotaIO, admin: Admin, core: Core) -> BucketOut:
    """What the bucket may hold; nulls remove the limits."""
    return BucketOut.of(await core.admin.set_bucket_quota(admin, bucket, body.quota()))


@router.get("/policies", operation_id="listPolicies")
async def list_policies(admin: Admin, core: Core) -> list[StoreOut]:
    """Every storage policy: its block store's capabilities and statistics."""
    figures = await core.status.figures()
    return [StoreOut.of(s) for s in figures.stores]


@router.get("/usage", operation_id="getUsage")
async def get_usage(admin: Admin, core: Core) -> dict[str, UsageOut]:
    """What each tenant stores."""
    return {t: UsageOut.of(u) for t, u in (await core.admin.usage(admin)).items()}


@router.get("/status", operation_id="getStatus")
async def get_status(admin: Admin, core: Core) -> StatusOut:
    checks = await core.status.readiness()
    figures = await core.status.figures()
    usage = figures.usage.values()
    return StatusOut(
        ready=all(c.ok for c in checks),
        checks=[CheckOut.of(c) for c in checks],
        buckets=figures.buckets,
        tenants=len(figures.usage),
        usage=UsageOut(bytes=sum(u.bytes for u in usage), objects=sum(u.objects for u in usage)),
        event_backlog=figures.backlog.pending,
        event_lag_seconds=figures.backlog.oldest_age,
    )


@router.get("/jobs", operation_id="listJobs")
async def list_jobs(admin: Admin, jobs: Operated) -> dict[str, JobOut]:
    """Each background job: whether a run started here is going, and its last report."""
    return {name: JobOut(running=jobs.running(name), last=await jobs.last(name))
            for name in jobs.names}  # fmt: skip


@router.post("/jobs/{job}", status_code=202, operation_id="startJob")
async def start_job(job: str, admin: Admin, jobs: Operated) -> JobOut:
    """Start a run now (gc, scrub); its report replaces the last one when it ends."""
    started = jobs.start(job)
    return JobOut(running=True, started=started, last=await jobs.last(job))
