"""Multipart uploads: parts are stored as blocks as they arrive (or composed
from ranges of stored versions); completing an upload stitches their block
lists into one version without copying data.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from dolium.conditions import WriteCondition
from dolium.core.access import acl, grants
from dolium.core.access.actions import Action
from dolium.core.content.blocks import hold
from dolium.core.content.checksums import combine_parts, resolve_checksum_type
from dolium.core.content.hashing import top_hash
from dolium.core.content.sse import SSE_KMS, BlockCipher, CustomerKey, kms_not_allowed
from dolium.core.content.sse import etag as sse_etag
from dolium.core.context import Context
from dolium.core.ids import new_upload_id
from dolium.core.names import validate_key
from dolium.core.objects import object_lock
from dolium.core.objects.compose import Span, compose
from dolium.core.objects.listing import common_prefix, past
from dolium.core.objects.service import Objects
from dolium.core.objects.version_ids import write_version_id
from dolium.core.objects.write_options import WriteOptions, check_written
from dolium.errors import (
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchUpload,
    Problem,
)
from dolium.model import NO_LOCK, Bucket, MultipartUpload, ObjectVersion, Part, Principal

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10000


def check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise InvalidArgument(
            f"A part number is 1 to {MAX_PARTS}, not {number}.", problem=Problem.PART_NUMBER
        )


@dataclass(frozen=True)
class CompletedPart:
    number: int
    etag: str
    checksums: dict[str, str]


@dataclass(frozen=True)
class PartSource:
    """The version a part is copied from, and which of its bytes."""

    bucket: str
    key: str
    version_id: str | None = None
    # Checks the source version (preconditions on it); raises to refuse.
    check: Callable[[ObjectVersion], None] | None = None
    # The inclusive byte range to copy, given the source's size; None: all of it.
    byte_range: Callable[[int], tuple[int, int]] | None = None
    # Opens an SSE-C source.
    customer_key: CustomerKey | None = None


def _normalize_etag(etag: str) -> str:
    return etag.strip().strip('"')


@dataclass(frozen=True, slots=True)
class UploadPage:
    """A page of uploads in progress, and the common prefixes rolled up from them."""

    uploads: tuple[MultipartUpload, ...]
    prefixes: tuple[str, ...]
    truncated: bool

    @property
    def next_markers(self) -> tuple[str, str]:
        """Where the next page resumes: the last key (or common prefix) and
        upload id returned; empty when not truncated."""
        if not self.truncated:
            return "", ""
        last_upload = self.uploads[-1] if self.uploads else None
        last_prefix = self.prefixes[-1] if self.prefixes else None
        if last_upload is not None and (last_prefix is None or last_upload.key > last_prefix):
            return last_upload.key, last_upload.upload_id
        return last_prefix or "", ""


class Multipart:
    def __init__(self, ctx: Context, objects: Objects) -> None:
        self.ctx = ctx
        self.objects = objects

    async def create(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        opts: WriteOptions,
        checksum_type: str = "",
    ) -> MultipartUpload:
        validate_key(key)
        tags = dict(opts.tags)
        bucket = await self.ctx.bucket(principal, bucket_name, Action.WRITE, key)
        acl_text = await grants.acl_for_write(self.ctx.meta, principal, bucket, opts.acl)
        # The upload keeps the lock it names; the default applies on completion.
        requested = object_lock.requested_lock(bucket, opts.lock, self.ctx.clock())
        # One data key for the whole upload: every part is sealed with it.
        protection, _ = await self.objects.protect(bucket, opts.sse, kms_allowed=opts.kms_allowed)
        algorithm = opts.checksum_algorithms[0].upper() if opts.checksum_algorithms else ""
        upload = MultipartUpload(
            bucket=bucket.name,
            key=key,
            upload_id=new_upload_id(),
            initiated=self.ctx.clock(),
            owner=grants.object_owner(bucket, principal.tenant, opts.acl),
            content_type=opts.content_type,
            meta=dict(opts.meta),
            headers=dict(opts.headers),
            checksum_algorithm=algorithm,
            checksum_type=resolve_checksum_type(algorithm, checksum_type),
            tags=tags,
            acl=acl_text,
            lock=requested or NO_LOCK,
            sse=protection,
            policy=bucket.policy if opts.policy is None else self.ctx.check_policy(opts.policy),
        )
        await self.ctx.meta.create_upload(upload, actor=principal.actor)
        return upload

    async def upload(
        self, principal: Principal, bucket_name: str, key: str, upload_id: str, action: Action
    ) -> tuple[Bucket, MultipartUpload]:
        bucket = await self.ctx.bucket(principal, bucket_name, action, key)
        upload = await self.ctx.meta.get_upload(bucket.name, upload_id)
        if upload is None or upload.key != key:
            raise NoSuchUpload(f"no upload {upload_id!r} of {key!r}", upload_id=upload_id)
        return bucket, upload

    async def put_part(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        number: int,
        body: AsyncIterator[bytes],
        opts: WriteOptions,
    ) -> Part:
        part, _ = await self.write_part(principal, bucket_name, key, upload_id, number, body, opts)
        return part

    async def write_part(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        number: int,
        body: AsyncIterator[bytes],
        opts: WriteOptions,
    ) -> tuple[Part, MultipartUpload]:
        """`put_part`, and the upload the part went to (a front end says its encryption)."""
        check_part_number(number)
        bucket, upload = await self.upload(principal, bucket_name, key, upload_id, Action.WRITE)
        if upload.sse.get("mode") == SSE_KMS and not opts.kms_allowed:
            raise kms_not_allowed()
        customer = opts.sse.customer if opts.sse is not None else None
        data_key = await self.objects.unlock(
            upload.sse, customer, missing=Problem.PART_NEEDS_CUSTOMER_KEY
        )
        cipher = BlockCipher(data_key) if data_key is not None else None
        writer = self.objects.writer(
            bucket, opts, inline=False, cipher=cipher, policy=upload.policy
        )
        data = await writer.write(body)
        check_written(data, opts)
        part = Part(
            upload_id=upload_id,
            number=number,
            size=data.size,
            etag=sse_etag(upload.sse, data_key, data.md5),
            modified=self.ctx.clock(),
            extents=data.extents,
            checksums={a.upper(): data.checksums[a.upper()] for a in opts.checksum_algorithms},
            policy=upload.policy,
        )
        await self.ctx.meta.put_part(bucket.name, part, actor=principal.actor)
        return part, upload

    async def copy_part(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        number: int,
        source: PartSource,
        opts: WriteOptions,
    ) -> tuple[Part, ObjectVersion]:
        """A part made of a range of a stored version (see core.compose); returns (part, source).

        The source is checked and opened before the upload is looked up.
        """
        check_part_number(number)
        src_bucket, src = await self.objects.open(
            principal, source.bucket, source.key, source.version_id
        )
        if source.check is not None:
            source.check(src)
        start, end = (0, src.size - 1) if source.byte_range is None else source.byte_range(src.size)
        src_data_key = await self.objects.unlock(src.sse, source.customer_key)
        bucket, upload = await self.upload(principal, bucket_name, key, upload_id, Action.WRITE)
        if upload.sse.get("mode") == SSE_KMS and not opts.kms_allowed:
            raise kms_not_allowed()
        customer = opts.sse.customer if opts.sse is not None else None
        data_key = await self.objects.unlock(
            upload.sse, customer, missing=Problem.PART_NEEDS_CUSTOMER_KEY
        )
        cipher = BlockCipher(data_key) if data_key is not None else None
        writer = self.objects.writer(
            bucket, opts, inline=False, cipher=cipher, policy=upload.policy
        )
        span = Span(src, start, end, src_bucket.hash_algorithm, src_data_key)
        data = await compose(self.ctx.blobs_for(src.policy), writer, [span])
        part = Part(
            upload_id=upload_id,
            number=number,
            size=data.size,
            etag=sse_etag(upload.sse, data_key, data.md5),
            modified=self.ctx.clock(),
            extents=data.extents,
            policy=upload.policy,
        )
        await self.ctx.meta.put_part(bucket.name, part)
        return part, src

    async def list_parts(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        after: int = 0,
        limit: int = 1000,
    ) -> tuple[MultipartUpload, list[Part], bool]:
        bucket, upload = await self.upload(
            principal, bucket_name, key, upload_id, Action.LIST_PARTS
        )
        parts = await self.ctx.meta.list_parts(bucket.name, upload_id, after=after, limit=limit + 1)
        return upload, parts[:limit], len(parts) > limit

    async def list_uploads(
        self,
        principal: Principal,
        bucket_name: str,
        prefix: str = "",
        after_key: str = "",
        after_upload_id: str = "",
        limit: int = 1000,
        delimiter: str = "",
    ) -> UploadPage:
        """Uploads in progress by key, then upload id; with a delimiter, the
        keys that go on past it after `prefix` rolled up into common prefixes,
        each counted once against `limit` as one upload is."""
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST_UPLOADS)
        uploads: list[MultipartUpload] = []
        prefixes: list[str] = []
        cursor = (after_key, after_upload_id)
        passed = ""  # keys up to this one are under a common prefix already rolled up
        truncated = False
        while not truncated:
            batch = await self.ctx.meta.list_uploads(
                bucket.name,
                prefix=prefix,
                after_key=cursor[0],
                after_upload_id=cursor[1],
                limit=limit + 1,
            )
            for upload in batch:
                if upload.key <= passed:
                    continue  # under a common prefix passed over in this batch
                rolled = common_prefix(upload.key, prefix, delimiter)
                if rolled is not None and rolled <= after_key:
                    # The marker lies inside it: returned on an earlier page.
                    passed = past(rolled, upload.key)
                    cursor = (passed, "")
                    continue
                if len(uploads) + len(prefixes) >= limit:
                    truncated = True
                    break
                if rolled is not None:
                    prefixes.append(rolled)
                    passed = past(rolled, upload.key)
                    cursor = (passed, "")
                    continue
                uploads.append(upload)
                cursor = (upload.key, upload.upload_id)
            if len(batch) <= limit:
                break  # the store holds no more
        return UploadPage(tuple(uploads), tuple(prefixes), truncated)

    async def owners(self, uploads: Sequence[MultipartUpload]) -> dict[str, acl.Grantee]:
        """The canonical user of each account that owns one of `uploads`, by account."""
        return {
            tenant: await grants.grantee_of_tenant(self.ctx.meta, tenant)
            for tenant in {u.owner for u in uploads}
        }

    async def abort(self, principal: Principal, bucket_name: str, key: str, upload_id: str) -> None:
        bucket, _ = await self.upload(principal, bucket_name, key, upload_id, Action.ABORT_UPLOAD)
        await self.ctx.meta.abort_upload(bucket.name, upload_id, actor=principal.actor)

    async def complete(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        requested: Sequence[CompletedPart],
        condition: WriteCondition | None = None,
    ) -> ObjectVersion:
        bucket, upload = await self.upload(principal, bucket_name, key, upload_id, Action.WRITE)
        if not requested:
            raise InvalidRequest(
                "Completing an upload needs at least one part.", problem=Problem.NO_PARTS
            )
        numbers = [p.number for p in requested]
        if any(b <= a for a, b in itertools.pairwise(numbers)):
            raise InvalidPartOrder("The parts to complete an upload go by ascending number.")
        stored = {
            p.number: p
            for p in await self.ctx.meta.list_parts(bucket.name, upload_id, limit=MAX_PARTS)
        }
        parts: list[Part] = []
        for wanted in requested:
            part = stored.get(wanted.number)
            if part is None or _normalize_etag(wanted.etag) != part.etag:
                raise InvalidPart(
                    f"Part {wanted.number} was not uploaded, or not with that ETag.",
                    part_number=wanted.number,
                )
            parts.append(part)
        for part in parts[:-1]:
            if part.size < MIN_PART_SIZE:
                raise EntityTooSmall(
                    f"Part {part.number} is smaller than {MIN_PART_SIZE} bytes and not the last.",
                    part_number=part.number,
                )
        extents = tuple(e for p in parts for e in p.extents)
        blobs = self.ctx.blobs_for(upload.policy)
        await hold(blobs, self.objects.leases(upload.policy), extents)
        digest = hashlib.md5(usedforsecurity=False)
        for part in parts:
            digest.update(bytes.fromhex(part.etag))
        aligned = all(e.size == bucket.block_size for e in extents[:-1])
        top = None
        if upload.sse:
            # Parts keep no plaintext hashmap: the top hash of encrypted data
            # is left to be computed from the plaintext when asked for.
            top = None
        elif not extents:
            top = hashlib.new(bucket.hash_algorithm, b"").hexdigest()
        elif aligned:
            top = top_hash([e.digest for e in extents], bucket.hash_algorithm).hex()
        checksums: dict[str, str] = {}
        part_checksums: tuple[str, ...] = ()
        if upload.checksum_algorithm:
            algorithm = upload.checksum_algorithm
            values = [(p.checksums.get(algorithm, ""), p.size) for p in parts]
            if all(v for v, _ in values):
                checksums[algorithm] = combine_parts(algorithm, upload.checksum_type, values)
                # Kept for GetObjectAttributes, which shows each part's.
                part_checksums = tuple(v for v, _ in values)
        modified = self.ctx.clock()
        version = ObjectVersion(
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket, modified),
            size=sum(p.size for p in parts),
            etag=f"{digest.hexdigest()}-{len(parts)}",
            modified=modified,
            # Whom CreateMultipartUpload gave the object (see grants.object_owner),
            # or the bucket owner if the bucket has disabled ACLs since.
            owner=grants.object_owner(bucket, upload.owner, ""),
            user=principal.user,
            content_type=upload.content_type,
            extents=extents,
            top_hash=top,
            meta=upload.meta,
            headers=upload.headers,
            checksums=checksums,
            checksum_type=upload.checksum_type if checksums else "",
            parts=tuple(p.size for p in parts),
            part_checksums=part_checksums,
            tags=upload.tags,
            acl=upload.acl,
            lock=object_lock.new_version_lock(bucket, upload.lock, modified),
            sse=upload.sse,
            policy=upload.policy,
        )
        created = await self.ctx.meta.complete_upload(
            bucket.name, upload_id, version, condition, actor=principal.actor,
            limits=await self.objects.quotas.limits(bucket),
        )  # fmt: skip
        await self.objects.delivered(bucket)
        return created
