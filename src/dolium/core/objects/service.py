"""Object rules: write, read, copy and delete versions of keys.

Versioning decides the version id a write gets: a fresh id when the bucket
has versioning enabled, otherwise the unversioned slot (`UNVERSIONED_ID`,
S3's "null" version), which a new write replaces. Deleting without a version
id in a versioned bucket adds a delete marker; with one, it removes that
version for good.

Data is written as blocks before the metadata that points at it is
committed, so an interrupted write leaves the previous version untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from dolium.conditions import WriteCondition
from dolium.core.access import grants
from dolium.core.access.actions import Action
from dolium.core.accounts.quotas import Quotas
from dolium.core.buckets import notifications
from dolium.core.content.blocks import (
    MAX_PUT_SIZE,
    BlockReader,
    BlockWriter,
    Leases,
    hold,
)
from dolium.core.content.checksums import Checksummer, new_checksum
from dolium.core.content.sse import (
    SSE_C,
    BlockCipher,
    CustomerKey,
    SseRequest,
    keeps_hashmap,
    new_data_key,
    open_data_key,
    wrap_data_key,
    write_request,
)
from dolium.core.content.sse import etag as sse_etag
from dolium.core.context import Context
from dolium.core.names import validate_key
from dolium.core.objects import object_lock
from dolium.core.objects.compose import Span, compose
from dolium.core.objects.delete import DeleteResult, delete_current, delete_version
from dolium.core.objects.version_ids import validate_version_id, write_version_id
from dolium.core.objects.write_options import (
    CopyOptions,
    WriteOptions,
    check_written,
    declares_integrity,
)
from dolium.errors import (
    AccessDenied,
    IntegrityRequired,
    InvalidRequest,
    NoSuchKey,
    NoSuchVersion,
    NotFound,
    Problem,
)
from dolium.model import Bucket, ChangeAction, Extent, ObjectVersion, Principal


@dataclass
class _CopyData:
    """What a copy's data comes to: the fields of the new version that describe it."""

    etag: str
    parts: tuple[int, ...]
    checksums: dict[str, str]
    checksum_type: str
    extents: tuple[Extent, ...]
    inline: bytes | None
    top_hash: str | None
    sse: dict[str, str]
    policy: str


class Objects:
    def __init__(self, ctx: Context, deliver: Callable[[], Awaitable[None]]) -> None:
        """`deliver` delivers what the change log holds (`Delivery.deliver_now`)."""
        self.ctx = ctx
        self.deliver = deliver
        self.quotas = Quotas(ctx)

    async def delivered(self, bucket: Bucket) -> None:
        """After a change to a bucket with a notification configuration: its
        events leave before the request is answered, as they did before the
        change log carried them. Other buckets pay nothing here."""
        if notifications.CONFIG in bucket.configs:
            await self.deliver()

    def leases(self, policy: str) -> Leases:
        """A new writer's leases on blocks of `policy`, lasting the collector's grace time."""
        return Leases(self.ctx.meta, policy, self.ctx.settings.gc_grace, self.ctx.clock)

    def writer(
        self,
        bucket: Bucket,
        opts: WriteOptions,
        *,
        inline: bool,
        cipher: BlockCipher | None = None,
        policy: str | None = None,
        hashmap: bool = True,
    ) -> BlockWriter:
        """A writer through `policy` (the bucket's by default); `hashmap`: see BlockWriter."""
        s = self.ctx.settings
        policy = bucket.policy if policy is None else policy
        return BlockWriter(
            self.ctx.blobs_for(policy),
            block_size=bucket.block_size,
            hash_algorithm=bucket.hash_algorithm,
            inline_threshold=s.inline_threshold if inline else -1,
            checksum_algorithms=opts.checksum_algorithms,
            max_size=MAX_PUT_SIZE,
            lease_refresh=s.gc_grace / 3,
            clock=self.ctx.clock,
            cipher=cipher,
            leases=self.leases(policy),
            hashmap=hashmap,
        )

    async def protect(
        self, bucket: Bucket, asked: SseRequest | None, *, kms_allowed: bool = True
    ) -> tuple[dict[str, str], bytes | None]:
        """The `sse` record and data key for new data in `bucket` (empty, None: in clear)."""
        request = write_request(bucket, asked, kms_allowed=kms_allowed)
        if request is None:
            return {}, None
        return await new_data_key(self.ctx, request)

    async def unlock(
        self,
        sse: Mapping[str, str],
        customer: CustomerKey | None,
        *,
        missing: Problem = Problem.NEEDS_CUSTOMER_KEY,
    ) -> bytes | None:
        """The data key of stored data, given the client's SSE-C key (see core.sse)."""
        return await open_data_key(self.ctx, sse, customer, missing=missing)

    async def put(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        body: AsyncIterator[bytes],
        opts: WriteOptions,
        *,
        action: ChangeAction = ChangeAction.OBJECT_PUT,  # OBJECT_POST for a browser form upload
    ) -> ObjectVersion:
        validate_key(key)
        tags = dict(opts.tags)
        bucket = await self.ctx.bucket(principal, bucket_name, Action.WRITE, key)
        acl_text = await grants.acl_for_write(self.ctx.meta, principal, bucket, opts.acl)
        requested = object_lock.requested_lock(bucket, opts.lock, self.ctx.clock())
        if object_lock.needs_integrity(bucket, requested) and not declares_integrity(opts):
            raise IntegrityRequired(
                "A write with Object Lock parameters must declare an MD5 or a checksum of its data."
            )
        if opts.policy is not None:  # the write's data goes where its policy says
            bucket = replace(bucket, policy=self.ctx.check_policy(opts.policy))
        limits = await self.quotas.limits(bucket)
        await self.quotas.precheck(bucket, limits, opts.declared_size)
        protection, data_key = await self.protect(bucket, opts.sse, kms_allowed=opts.kms_allowed)
        cipher = BlockCipher(data_key) if data_key is not None else None
        writer = self.writer(
            bucket, opts, inline=True, cipher=cipher, hashmap=keeps_hashmap(protection)
        )
        data = await writer.write(body)
        check_written(data, opts)
        checksums = {a.upper(): data.checksums[a.upper()] for a in opts.checksum_algorithms}
        modified = self.ctx.clock()
        version = ObjectVersion(
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket, modified),
            size=data.size,
            etag=sse_etag(protection, data_key, data.md5),
            modified=modified,
            owner=grants.object_owner(bucket, principal.tenant, opts.acl),
            user=principal.user,
            content_type=opts.content_type,
            extents=data.extents,
            inline=data.inline,
            top_hash=data.top_hash,
            meta=dict(opts.meta),
            headers=dict(opts.headers),
            checksums=checksums,
            checksum_type="FULL_OBJECT" if checksums else "",
            tags=tags,
            acl=acl_text,
            lock=object_lock.new_version_lock(bucket, requested, modified),
            sse=protection,
            policy=bucket.policy,
        )
        created = await self.ctx.meta.put_version(
            version, opts.condition, actor=principal.actor, action=action, limits=limits
        )
        await self.delivered(bucket)
        return created

    async def head(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectVersion:
        """The version to read; delete markers and absent keys are NoSuchKey."""
        return (await self.open(principal, bucket_name, key, version_id))[1]

    async def open(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> tuple[Bucket, ObjectVersion]:
        """A version `principal` may read, with its bucket (see `find`).

        Whether it may can depend on the version's own ACL. A caller who may
        not list the bucket learns nothing of absent keys: it gets
        AccessDenied, not NoSuchKey.
        """
        bucket, allowed = await self.ctx.object_bucket(
            principal, bucket_name, Action.READ, key, version_id
        )
        try:
            version = await self.find(bucket, key, version_id)
        except NotFound:
            # As S3: whether a key exists is for those who may list the bucket.
            if not await self.ctx.may(principal, bucket, Action.LIST):
                raise AccessDenied(f"may not read {key!r}, nor learn whether it exists") from None
            raise
        if not allowed and not await self.ctx.version_allows(
            principal, bucket, Action.READ, version, version_id
        ):
            raise AccessDenied(f"may not read {key!r}", key=key)
        return bucket, version

    async def find(self, bucket: Bucket, key: str, version_id: str | None) -> ObjectVersion:
        if version_id is not None:
            validate_version_id(version_id)
        version = await self.ctx.meta.get_version(bucket.name, key, version_id)
        if version is None:
            if version_id is not None:
                raise NoSuchVersion(
                    f"no version {version_id!r} of {key!r}", key=key, version_id=version_id
                )
            raise NoSuchKey(f"no object {key!r}", key=key)
        if version.delete_marker:
            raise NoSuchKey(
                f"the version of {key!r} found is a delete marker",
                key=key,
                delete_marker=True,
                version_id=version.version_id,
                modified=version.modified,
            )
        return version

    async def read(
        self,
        version: ObjectVersion,
        start: int,
        end: int,
        customer: CustomerKey | None = None,
    ) -> AsyncIterator[bytes]:
        """Bytes [start, end] of a version, verified; the first block is checked now.

        Encrypted data is opened with its data key (SSE-C: `customer` unlocks it).
        """
        data_key = await self.unlock(version.sse, customer)
        return await self._read(version, start, end, data_key)

    async def _read(
        self, version: ObjectVersion, start: int, end: int, data_key: bytes | None
    ) -> AsyncIterator[bytes]:
        if version.inline is not None or not version.extents:
            data = version.inline or b""
            return _once(data[start : end + 1])
        bucket = await self.ctx.meta.get_bucket(version.bucket)
        algorithm = bucket.hash_algorithm if bucket else "sha256"
        cipher = BlockCipher(data_key) if data_key is not None else None
        blobs = self.ctx.blobs_for(version.policy)
        reader = BlockReader(blobs, version.extents, start, end, algorithm, cipher)
        await reader.prime()
        return reader.__aiter__()

    async def copy(
        self,
        principal: Principal,
        source: tuple[str, str, str | None],
        bucket_name: str,
        key: str,
        opts: CopyOptions,
    ) -> tuple[ObjectVersion, ObjectVersion]:
        """Copy a version by reference to its blocks; returns (new, source).

        A multipart source is read once, to give the single-part copy its own
        MD5 ETag and whole-object checksums.
        """
        src_bucket_name, src_key, src_version_id = source
        validate_key(key)
        tags = dict(opts.tags) if opts.tags is not None else None
        try:
            src_bucket, src = await self.open(principal, src_bucket_name, src_key, src_version_id)
        except NoSuchKey as exc:
            if src_version_id is not None and exc.context.get("delete_marker"):
                raise InvalidRequest(
                    "A delete marker has no data to copy.", problem=Problem.COPY_OF_DELETE_MARKER
                ) from exc
            raise
        if opts.check_source is not None:
            opts.check_source(src)
        src_data_key = await self.unlock(src.sse, opts.source_key)
        bucket = await self.ctx.bucket(principal, bucket_name, Action.WRITE, key)
        if opts.policy is not None:  # the copy's data goes where its policy says
            bucket = replace(bucket, policy=self.ctx.check_policy(opts.policy))
        acl_text = await grants.acl_for_write(self.ctx.meta, principal, bucket, opts.acl)
        requested = object_lock.requested_lock(bucket, opts.lock, self.ctx.clock())
        if opts.approve is not None:
            opts.approve(src)
        if opts.replace_metadata:
            meta, headers = dict(opts.meta), dict(opts.headers)
            content_type = opts.content_type or "binary/octet-stream"
        else:
            meta, headers, content_type = dict(src.meta), dict(src.headers), src.content_type
        data = await self._copy_data(
            bucket, src_bucket, src, src_data_key, opts.sse, kms_allowed=opts.kms_allowed
        )
        modified = self.ctx.clock()
        version = replace(
            src,
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket, modified),
            modified=modified,
            owner=grants.object_owner(bucket, principal.tenant, opts.acl),
            user=principal.user,
            content_type=content_type,
            meta=meta,
            headers=headers,
            is_latest=True,
            serial=0,
            etag=data.etag,
            parts=data.parts,
            part_checksums=src.part_checksums if data.parts else (),
            checksums=data.checksums,
            checksum_type=data.checksum_type,
            extents=data.extents,
            inline=data.inline,
            top_hash=data.top_hash,
            # A hashmap computed from the source's plaintext describes the
            # copy's too, unless the copy keeps no plaintext hash (SSE-C).
            hashmap=src.hashmap if keeps_hashmap(data.sse) else None,
            sse=data.sse,
            policy=data.policy,
            tags=src.tags if tags is None else tags,
            acl=acl_text,
            lock=object_lock.new_version_lock(bucket, requested, modified),
        )
        limits = await self.quotas.limits(bucket)
        created = await self.ctx.meta.put_version(
            version, opts.condition, actor=principal.actor, action=ChangeAction.OBJECT_COPY,
            limits=limits,
        )  # fmt: skip
        await self.delivered(bucket)
        return created, src

    async def _copy_data(
        self,
        bucket: Bucket,
        src_bucket: Bucket,
        src: ObjectVersion,
        src_data_key: bytes | None,
        asked: SseRequest | None,
        *,
        kms_allowed: bool = True,
    ) -> _CopyData:
        """The data of a copy of `src` into `bucket`.

        Blocks are shared whenever they can be: between two encrypted
        versions the copy keeps the source's data key, wrapped anew. Only
        adding or removing encryption writes the data again.
        """
        request = write_request(bucket, asked, kms_allowed=kms_allowed)
        # Blocks are shared only within one storage policy: a copy into a
        # bucket of another policy stores its data there.
        moved = bool(src.extents) and src.policy != bucket.policy
        if (request is None) != (not src.sse) or moved:
            return await self._rewrite(bucket, src_bucket, src, src_data_key, request)
        if bucket.block_size != src_bucket.block_size and src.extents:
            raise InvalidRequest(
                "Copying between buckets of different block sizes is not supported."
            )
        protection: dict[str, str] = {}
        if request is not None:
            assert src_data_key is not None
            protection = await wrap_data_key(self.ctx, request, src_data_key)
        data = _CopyData(
            src.etag,
            src.parts,
            dict(src.checksums),
            src.checksum_type,
            src.extents,
            src.inline,
            # The plaintext's top hash is not kept for SSE-C data.
            src.top_hash if keeps_hashmap(protection) else None,
            protection,
            src.policy,
        )
        if src.parts or (src.sse.get("mode") == SSE_C) != (protection.get("mode") == SSE_C):
            # The copy is a new single-part object: S3 gives it the MD5 of its
            # data (keyed for SSE-C) and whole-object checksums, not the
            # source's multipart ETag.
            md5, checksums = await self._whole_digests(src, src_data_key)
            data.etag = sse_etag(protection, src_data_key, md5)
            if src.parts:
                data.parts, data.checksums = (), checksums
                data.checksum_type = "FULL_OBJECT" if checksums else ""
        await hold(self.ctx.blobs_for(src.policy), self.leases(src.policy), src.extents)
        return data

    async def _rewrite(
        self,
        bucket: Bucket,
        src_bucket: Bucket,
        src: ObjectVersion,
        src_data_key: bytes | None,
        request: SseRequest | None,
    ) -> _CopyData:
        """Copy `src`'s data as new blocks, sealed as `request` says (or in clear)."""
        protection: dict[str, str] = {}
        data_key = None
        if request is not None:
            protection, data_key = await new_data_key(self.ctx, request)
        cipher = BlockCipher(data_key) if data_key is not None else None
        opts = WriteOptions(checksum_algorithms=tuple(src.checksums))
        writer = self.writer(
            bucket, opts, inline=True, cipher=cipher, hashmap=keeps_hashmap(protection)
        )
        source = Span.whole(src, src_bucket.hash_algorithm, src_data_key)
        written = await compose(self.ctx.blobs_for(src.policy), writer, [source])
        checksums = {a: written.checksums[a] for a in src.checksums}
        return _CopyData(
            sse_etag(protection, data_key, written.md5),
            (),
            checksums,
            "FULL_OBJECT" if checksums else "",
            written.extents,
            written.inline,
            written.top_hash,
            protection,
            bucket.policy,
        )

    async def _whole_digests(
        self, version: ObjectVersion, data_key: bytes | None
    ) -> tuple[bytes, dict[str, str]]:
        """The MD5 of a version's data and its checksums as single-part ones, read back."""
        md5 = hashlib.md5(usedforsecurity=False)
        sums = {algorithm: new_checksum(algorithm) for algorithm in version.checksums}
        if version.size:
            async for chunk in await self._read(version, 0, version.size - 1, data_key):
                await asyncio.to_thread(_feed, chunk, md5, *sums.values())
        return md5.digest(), {a: s.digest_b64() for a, s in sums.items()}

    async def delete(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        version_id: str | None = None,
        *,
        bypass: bool | None = None,
        condition: WriteCondition | None = None,
    ) -> DeleteResult:
        """`bypass`: whether the request asks to bypass governance retention (None: it
        does not say). Outside Object Lock there is nothing to bypass and the
        request is ignored, as S3 ignores it: cleanup tools send it on every delete.

        `condition`: what the object deleted must be (ETags, size, time); checked
        against the version named, or else the current object, in the
        transaction that deletes. Matching an ETag reads the object, so it
        needs the permission to read as well.
        """
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.DELETE, key, version_id=version_id
        )
        validate_key(key)
        matches_etag = condition is not None and condition.if_match is not None
        if matches_etag and not await self.ctx.may(principal, bucket, Action.READ, key):
            raise AccessDenied(f"may not read {key!r} to match its ETag", key=key)
        if version_id is not None:
            validate_version_id(version_id)
            allowed = await object_lock.may_bypass(self.ctx, principal, bucket, key, bool(bypass))
            guard = object_lock.removal_guard(self.ctx.clock(), allowed)
            removed = await delete_version(
                self.ctx, bucket, key, version_id, guard, condition, actor=principal.actor
            )
            marker = removed.delete_marker if removed else False
            result = DeleteResult(key, version_id, marker)
        else:
            result = await delete_current(
                self.ctx,
                bucket,
                key,
                # BucketOwnerEnforced: the bucket owner owns the marker too.
                grants.object_owner(bucket, principal.tenant, ""),
                actor=principal.actor,
                condition=condition,
            )
        await self.delivered(bucket)
        return result


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _feed(data: bytes, *digests: hashlib._Hash | Checksummer) -> None:
    for digest in digests:
        digest.update(data)
