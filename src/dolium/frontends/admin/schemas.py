"""The admin API's documents: what it takes and what it answers, as JSON.

These models are the OpenAPI document's schemas as well: the document at
/admin/openapi.json is generated from them, never written by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from dolium.core.accounts.quotas import CONFIG as QUOTA_CONFIG
from dolium.core.accounts.quotas import decode
from dolium.core.operations.admin import BucketUsage
from dolium.core.operations.status import Check, StoreFigures
from dolium.model import AccessKey, Quota, Tenant, Usage, User

# The rules the core applies (core.accounts.service), stated here too so
# that the OpenAPI document says what is accepted.
NAME = r"^[a-z0-9_-]{1,64}$"
CANONICAL_ID = r"^[A-Za-z0-9._-]{1,128}$"
# Printable ASCII without leading or trailing blanks (the core allows any
# printable text; the API keeps to what every client can send and show).
DISPLAY_NAME = r"^[!-~]([ -~]{0,126}[!-~])?$"
EMAIL = r"^([^@\s]+@[^@\s]+)?$"
ACCESS_KEY = r"^[A-Za-z0-9._-]{3,128}$"
SECRET_KEY = r"^[!-~]{8,128}$"  # noqa: S105 - the rule secrets follow, not one
MEMBER = r"^[a-z0-9_-]{1,64}(:[a-z0-9_-]{1,64})?$"
GROUP = r"^[A-Za-z0-9_-]{1,64}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(BaseModel):
    error: str = Field(description="What went wrong, as a code (e.g. NoSuchTenant).")
    message: str


class UsageOut(BaseModel):
    bytes: int = Field(description="Bytes of every stored version.")
    objects: int = Field(description="Current objects (latest versions, not delete markers).")

    @classmethod
    def of(cls, usage: Usage) -> UsageOut:
        return cls(bytes=usage.bytes, objects=usage.objects)


class TenantIn(Strict):
    name: str = Field(pattern=NAME)
    canonical_id: str | None = Field(default=None, pattern=CANONICAL_ID)
    display_name: str | None = Field(default=None, pattern=DISPLAY_NAME)
    email: str = Field(default="", max_length=254, pattern=EMAIL)


class QuotaIO(Strict):
    """Limits; null: none."""

    bytes: int | None = Field(default=None, ge=0, le=2**62)
    objects: int | None = Field(default=None, ge=0, le=2**62)

    @classmethod
    def of(cls, quota: Quota) -> QuotaIO:
        return cls(bytes=quota.bytes, objects=quota.objects)

    def quota(self) -> Quota:
        return Quota(self.bytes, self.objects)


class TenantOut(BaseModel):
    name: str
    canonical_id: str
    display_name: str
    email: str
    created: float
    usage: UsageOut | None = None
    quota: QuotaIO | None = None
    policy: str | None = Field(
        default=None, description="The storage policy of new buckets that name none."
    )

    @classmethod
    def of(
        cls,
        tenant: Tenant,
        usage: Usage | None = None,
        quota: Quota | None = None,
        policy: str | None = None,
    ) -> TenantOut:
        return cls(
            name=tenant.name,
            canonical_id=tenant.canonical_id,
            display_name=tenant.display_name,
            email=tenant.email,
            created=tenant.created,
            usage=UsageOut.of(usage) if usage is not None else None,
            quota=QuotaIO.of(quota) if quota is not None else None,
            policy=policy,
        )


class KeyIn(Strict):
    access_key: str | None = Field(default=None, pattern=ACCESS_KEY)
    secret_key: str | None = Field(default=None, pattern=SECRET_KEY)


class UserIn(KeyIn):
    name: str = Field(pattern=NAME)
    admin: bool = False


class UserOut(BaseModel):
    tenant: str
    name: str
    admin: bool
    created: float

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(tenant=user.tenant, name=user.name, admin=user.admin, created=user.created)


class KeyOut(BaseModel):
    access_key: str
    tenant: str
    user: str
    created: float
    active: bool
    secret_key: str | None = Field(
        default=None, description="Only in the answer that creates the key."
    )

    @classmethod
    def of(cls, key: AccessKey, *, with_secret: bool = False) -> KeyOut:
        return cls(
            access_key=key.access_key,
            tenant=key.tenant,
            user=key.user,
            created=key.created,
            active=key.active,
            secret_key=key.secret_key if with_secret else None,
        )


class UserCreated(BaseModel):
    user: UserOut
    key: KeyOut


class BucketOut(BaseModel):
    name: str
    owner: str
    created: float
    region: str
    versioning: str
    object_lock: bool
    policy: str = Field(description="The storage policy new data is written through.")
    usage: UsageOut
    quota: QuotaIO

    @classmethod
    def of(cls, found: BucketUsage) -> BucketOut:
        b = found.bucket
        return cls(
            name=b.name,
            owner=b.owner,
            created=b.created,
            region=b.region,
            versioning=b.versioning.value,
            object_lock=b.object_lock,
            policy=b.policy,
            usage=UsageOut.of(found.usage),
            quota=QuotaIO.of(decode(b.configs.get(QUOTA_CONFIG))),
        )


class PolicyIn(Strict):
    policy: str = Field(min_length=1, max_length=64)


class TenantPolicyOut(BaseModel):
    policy: str | None = Field(
        description="The storage policy of the tenant's new buckets that name none; "
        "null: the server's default."
    )


class GroupIn(Strict):
    members: list[Annotated[str, Field(pattern=MEMBER)]] = Field(
        max_length=1000, description="`account` or `account:user`; none removes the group."
    )


class StoreOut(BaseModel):
    policy: str
    capabilities: list[str]
    statistics: dict[str, int | float]
    blocks: int = Field(description="Blocks the metadata references through this policy.")
    references: int = Field(description="References to them (references / blocks: dedup).")

    @classmethod
    def of(cls, store: StoreFigures) -> StoreOut:
        return cls(
            policy=store.policy,
            capabilities=list(store.capabilities),
            statistics=dict(store.statistics),
            blocks=store.blocks,
            references=store.references,
        )


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str = ""

    @classmethod
    def of(cls, check: Check) -> CheckOut:
        return cls(name=check.name, ok=check.ok, detail=check.detail)


class StatusOut(BaseModel):
    ready: bool
    checks: list[CheckOut]
    buckets: int
    tenants: int
    usage: UsageOut
    event_backlog: int = Field(description="Changes event delivery has yet to take (up to 1000).")
    event_lag_seconds: float


class JobOut(BaseModel):
    running: bool = Field(description="A run started through this server process is going.")
    started: bool | None = Field(
        default=None, description="Whether this request started a run (false: one was going)."
    )
    last: dict[str, Any] | None = Field(
        default=None, description="The report of the last run that ended, with its times."
    )


class AuditRecordOut(BaseModel):
    index: int = Field(description="The record's leaf in the log's Merkle tree.")
    time: float
    record: dict[str, Any] = Field(description="The record; its canonical JSON is the leaf.")


class InclusionOut(BaseModel):
    record: AuditRecordOut
    size: int = Field(description="The tree the proof is for.")
    root: str = Field(description="That tree's root hash (hex).")
    proof: list[str] = Field(description="RFC 9162 inclusion proof, hashes in hex.")


class ConsistencyOut(BaseModel):
    old: int
    new: int
    root: str = Field(description="The root hash of the tree of `new` records (hex).")
    proof: list[str] = Field(description="RFC 9162 consistency proof, hashes in hex.")
