"""Server access logging: a bucket's requests, written as log objects into another
bucket in batches.

The configuration (the S3 BucketLoggingStatus in the core's words) is kept
in the bucket's configs under "logging". The front end writes each request
to a logged bucket as one line of its log format (`record`); the lines wait
in the context's spool, and the delivery job (`deliver`) writes them as one
object per source bucket and batch into the target bucket, named by the
target's key format, as the target bucket's owner.

A target must exist in the same region; it must be owned by the source's
owner or let the logging service write: a bucket policy allowing the
service principal `logging.s3.amazonaws.com` s3:PutObject, or an ACL
granting the log-delivery group WRITE, as S3 checks. Delivery is best
effort, as on S3: lines of a batch whose target has gone are dropped.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field

from dolium.core.access import acl
from dolium.core.access.actions import Action, Setting
from dolium.core.access.decisions import POLICY, bucket_acl
from dolium.core.context import Context
from dolium.core.objects.service import Objects
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import DoliumError, InvalidTargetBucketForLogging
from dolium.model import Bucket, Principal

log = logging.getLogger(__name__)

CONFIG = "logging"
SERVICE_PRINCIPAL = "logging.s3.amazonaws.com"
# Key formats: SimplePrefix, or PartitionedPrefix by the records' or the delivery's time.
SIMPLE = "simple"
PARTITIONED_EVENT = "EventTime"
PARTITIONED_DELIVERY = "DeliveryTime"
# The user the change log names for the objects the logging service writes.
DELIVERY_USER = "s3-log-delivery"


@dataclass(frozen=True, slots=True)
class TargetGrant:
    kind: str  # CanonicalUser | Group | AmazonCustomerByEmail
    id: str
    permission: str  # FULL_CONTROL | READ | WRITE


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    target_bucket: str
    target_prefix: str = ""
    grants: tuple[TargetGrant, ...] = field(default=())
    key_format: str = SIMPLE

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> LoggingConfig:
        data = json.loads(text)
        grants = tuple(TargetGrant(**g) for g in data.get("grants", ()))
        return cls(data["target_bucket"], data.get("target_prefix", ""), grants,
                   data.get("key_format", SIMPLE))  # fmt: skip


def logging_on(bucket: Bucket) -> bool:
    return CONFIG in bucket.configs


def config_of(bucket: Bucket) -> LoggingConfig | None:
    text = bucket.configs.get(CONFIG)
    return LoggingConfig.loads(text) if text else None


def _policy_lets_the_service_write(target: Bucket) -> bool:
    """Whether the target's bucket policy allows the logging service s3:PutObject."""
    text = target.configs.get(POLICY)
    if not text:
        return False
    try:
        statements = json.loads(text).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if SERVICE_PRINCIPAL in services and any(a in ("s3:PutObject", "s3:*") for a in actions):
            return True
    return False


def _acl_lets_the_service_write(target: Bucket) -> bool:
    grants = bucket_acl(target, acl.Grantee("CanonicalUser", "")).grants
    return any(
        g.grantee.kind == "Group" and g.grantee.id == acl.LOG_DELIVERY
        and g.permission in (acl.Permission.WRITE, acl.Permission.FULL_CONTROL)
        for g in grants
    )  # fmt: skip


class AccessLogging:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    async def get(self, principal: Principal, bucket: str) -> LoggingConfig | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.LOGGING
        )
        return config_of(found)

    async def put(self, principal: Principal, bucket: str, config: LoggingConfig | None) -> None:
        """Log the bucket's requests into `config`'s target, or stop (None)."""
        source = await self.ctx.bucket(
            principal, bucket, Action.WRITE_SETTING, setting=Setting.LOGGING
        )
        if config is not None:
            target = await self.ctx.meta.get_bucket(config.target_bucket)
            if target is None:
                raise InvalidTargetBucketForLogging(
                    "The target bucket for logging does not exist",
                    target_bucket=config.target_bucket,
                )
            if (target.region or "") != (source.region or ""):
                raise InvalidTargetBucketForLogging(
                    "The target bucket for logging must be in the same region as the source",
                    target_bucket=config.target_bucket,
                )
            if not (
                target.owner == source.owner
                or _policy_lets_the_service_write(target)
                or _acl_lets_the_service_write(target)
            ):
                raise InvalidTargetBucketForLogging(
                    "You must either provide the necessary permissions to the logging service "
                    "using a bucket policy or give the log-delivery group WRITE and READ_ACP "
                    "permissions to the target bucket",
                    target_bucket=config.target_bucket,
                )
        text = config.dumps() if config is not None else None
        await self.ctx.meta.set_bucket_config(source.name, CONFIG, text, actor=principal.actor)

    async def record(self, bucket: Bucket, line: str) -> None:
        """Keep one log line of a request to `bucket` for the next delivery."""
        if self.ctx.spool is not None:
            await self.ctx.spool.append(bucket.name, line)

    async def deliver(self) -> int:
        """Write what the spool holds as log objects; how many objects were written."""
        if self.ctx.spool is None:
            return 0
        written = 0
        for source_name, lines in (await self.ctx.spool.take()).items():
            try:
                if await self._deliver_one(source_name, lines):
                    written += 1
            except DoliumError as exc:
                log.warning("access log of bucket %s not delivered: %s", source_name, exc.message)
        return written

    async def _deliver_one(self, source_name: str, lines: Sequence[str]) -> bool:
        source = await self.ctx.meta.get_bucket(source_name)
        config = config_of(source) if source is not None else None
        if source is None or config is None:
            return False  # logging was turned off, or the bucket went, meanwhile
        target = await self.ctx.meta.get_bucket(config.target_bucket)
        if target is None:
            return False
        owner = await self.ctx.meta.get_tenant(source.owner)
        key = log_object_key(
            config, owner.canonical_id if owner else source.owner, source, self.ctx.clock()
        )
        writer = Principal(tenant=target.owner, user=DELIVERY_USER)
        body = ("\n".join(lines) + "\n").encode()

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        options = WriteOptions(content_type="text/plain", declared_size=len(body))
        await self.objects.put(writer, target.name, key, chunks(), options)
        return True


def log_object_key(config: LoggingConfig, account: str, source: Bucket, now: float) -> str:
    """The key of a log object, as S3 names them:
    SimplePrefix `[prefix]YYYY-mm-DD-HH-MM-SS-UniqueString`, PartitionedPrefix
    `[prefix][account]/[region]/[bucket]/YYYY/mm/DD/YYYY-mm-DD-HH-MM-SS-UniqueString`."""
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(now))
    unique = secrets.token_hex(8).upper()
    if config.key_format == SIMPLE:
        return f"{config.target_prefix}{stamp}-{unique}"
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    region = source.region or "us-east-1"
    return f"{config.target_prefix}{account}/{region}/{source.container}/{day}/{stamp}-{unique}"
