"""Object rules: write, read, copy and delete versions of keys.

Versioning decides the version id a write gets: a fresh id when the bucket
has versioning enabled, otherwise the "null" version, which a new write
replaces. Deleting without a version id in a versioned bucket adds a delete
marker; with one, it removes that version for good.

Data is written as blocks before the metadata that points at it is
committed, so an interrupted write leaves the previous version untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace

from dolium.core.blocks import MAX_PUT_SIZE, BlockReader, BlockWriter, WrittenData, touch_all
from dolium.core.checksums import Checksummer, new_checksum
from dolium.core.context import Context
from dolium.core.ids import new_version_id
from dolium.core.names import validate_key, validate_metadata
from dolium.errors import (
    BadDigest,
    ChecksumMismatch,
    IncompleteBody,
    InvalidRequest,
    NoSuchKey,
    NoSuchVersion,
)
from dolium.model import (
    NULL_VERSION,
    Bucket,
    ObjectVersion,
    Principal,
    Versioning,
    WriteCondition,
    empty_map,
)


@dataclass(frozen=True)
class WriteOptions:
    """What a client says about the data it sends."""

    content_type: str = "binary/octet-stream"
    meta: Mapping[str, str] = field(default_factory=empty_map)
    headers: Mapping[str, str] = field(default_factory=empty_map)
    content_md5: bytes | None = None
    declared_size: int | None = None
    checksum_algorithms: tuple[str, ...] = ()
    # Called once the body is consumed: the checksums the client declared
    # (in headers or in trailers), algorithm -> base64.
    expected_checksums: Callable[[], Mapping[str, str]] | None = None
    condition: WriteCondition | None = None


@dataclass(frozen=True)
class CopyOptions:
    replace_metadata: bool = False
    content_type: str | None = None
    meta: Mapping[str, str] = field(default_factory=empty_map)
    headers: Mapping[str, str] = field(default_factory=empty_map)
    condition: WriteCondition | None = None
    # Checks the source version (x-amz-copy-source-if-*); raises to refuse.
    check_source: Callable[[ObjectVersion], None] | None = None


@dataclass(frozen=True)
class DeleteResult:
    key: str
    version_id: str | None  # of the removed version or of the new marker
    delete_marker: bool


def write_version_id(bucket: Bucket) -> str:
    return new_version_id() if bucket.versioning == Versioning.ENABLED else NULL_VERSION


def check_written(data: WrittenData, opts: WriteOptions) -> None:
    """Compare what arrived with what the client declared."""
    if opts.declared_size is not None and data.size != opts.declared_size:
        raise IncompleteBody(
            "You did not provide the number of bytes specified by the Content-Length HTTP header."
        )
    if opts.content_md5 is not None and not hmac.compare_digest(opts.content_md5, data.md5):
        raise BadDigest("The Content-MD5 you specified did not match what we received.")
    expected = opts.expected_checksums() if opts.expected_checksums else {}
    for algorithm, value in expected.items():
        actual = data.checksums.get(algorithm.upper())
        if actual is None or not hmac.compare_digest(actual, value):
            raise ChecksumMismatch(
                f"The {algorithm.upper()} you specified did not match the calculated checksum."
            )


class Objects:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def writer(self, bucket: Bucket, opts: WriteOptions, *, inline: bool) -> BlockWriter:
        s = self.ctx.settings
        return BlockWriter(
            self.ctx.blobs,
            block_size=bucket.block_size,
            hash_algorithm=bucket.hash_algorithm,
            inline_threshold=s.inline_threshold if inline else -1,
            checksum_algorithms=opts.checksum_algorithms,
            max_size=MAX_PUT_SIZE,
            lease_refresh=s.gc_grace / 3,
            clock=self.ctx.clock,
        )

    async def put(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        body: AsyncIterator[bytes],
        opts: WriteOptions,
    ) -> ObjectVersion:
        validate_key(key)
        validate_metadata(opts.meta)
        bucket = await self.ctx.bucket(principal, bucket_name)
        data = await self.writer(bucket, opts, inline=True).write(body)
        check_written(data, opts)
        checksums = {a.upper(): data.checksums[a.upper()] for a in opts.checksum_algorithms}
        version = ObjectVersion(
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket),
            size=data.size,
            etag=data.md5.hex(),
            modified=self.ctx.clock(),
            owner=principal.tenant,
            content_type=opts.content_type,
            extents=data.extents,
            inline=data.inline,
            top_hash=data.top_hash,
            meta=dict(opts.meta),
            headers=dict(opts.headers),
            checksums=checksums,
            checksum_type="FULL_OBJECT" if checksums else "",
        )
        return await self.ctx.meta.put_version(version, opts.condition)

    async def head(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectVersion:
        """The version to read; delete markers and absent keys are NoSuchKey."""
        bucket = await self.ctx.bucket(principal, bucket_name)
        return await self.find(bucket, key, version_id)

    async def find(self, bucket: Bucket, key: str, version_id: str | None) -> ObjectVersion:
        version = await self.ctx.meta.get_version(bucket.name, key, version_id)
        if version is None:
            if version_id is not None:
                raise NoSuchVersion(
                    "The specified version does not exist.", key=key, version_id=version_id
                )
            raise NoSuchKey("The specified key does not exist.", key=key)
        if version.delete_marker:
            raise NoSuchKey(
                "The specified key does not exist.",
                key=key,
                delete_marker=True,
                version_id=version.version_id,
            )
        return version

    async def read(self, version: ObjectVersion, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes [start, end] of a version, verified; the first block is checked now."""
        if version.inline is not None or not version.extents:
            data = version.inline or b""
            return _once(data[start : end + 1])
        bucket = await self.ctx.meta.get_bucket(version.bucket)
        algorithm = bucket.hash_algorithm if bucket else "sha256"
        reader = BlockReader(self.ctx.blobs, version.extents, start, end, algorithm)
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
        src_bucket = await self.ctx.bucket(principal, src_bucket_name)
        src = await self.find(src_bucket, src_key, src_version_id)
        if opts.check_source is not None:
            opts.check_source(src)
        bucket = await self.ctx.bucket(principal, bucket_name)
        same = (src_bucket_name, src_key) == (bucket_name, key)
        if same and not opts.replace_metadata and src_version_id is None:
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to "
                "itself without changing the object's metadata, storage class, website "
                "redirect location or encryption attributes."
            )
        if opts.replace_metadata:
            validate_metadata(opts.meta)
            meta, headers = dict(opts.meta), dict(opts.headers)
            content_type = opts.content_type or "binary/octet-stream"
        else:
            meta, headers, content_type = dict(src.meta), dict(src.headers), src.content_type
        if bucket.block_size != src_bucket.block_size and src.extents:
            raise InvalidRequest(
                "Copying between buckets of different block sizes is not supported."
            )
        etag, checksums = src.etag, src.checksums
        parts, checksum_type = src.parts, src.checksum_type
        if src.parts:
            # The copy is a new single-part object: S3 gives it the MD5 of its
            # data and whole-object checksums, not the source's multipart ETag.
            etag, checksums = await self._whole_digests(src)
            parts, checksum_type = (), "FULL_OBJECT" if checksums else ""
        await touch_all(self.ctx.blobs, src.extents)
        version = replace(
            src,
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket),
            modified=self.ctx.clock(),
            owner=principal.tenant,
            content_type=content_type,
            meta=meta,
            headers=headers,
            is_latest=True,
            serial=0,
            etag=etag,
            parts=parts,
            checksums=checksums,
            checksum_type=checksum_type,
        )
        return await self.ctx.meta.put_version(version, opts.condition), src

    async def _whole_digests(self, version: ObjectVersion) -> tuple[str, dict[str, str]]:
        """The hex MD5 of a version's data and its checksums as single-part ones, read back."""
        md5 = hashlib.md5(usedforsecurity=False)
        sums = {algorithm: new_checksum(algorithm) for algorithm in version.checksums}
        if version.size:
            async for chunk in await self.read(version, 0, version.size - 1):
                await asyncio.to_thread(_feed, chunk, md5, *sums.values())
        return md5.hexdigest(), {a: s.digest_b64() for a, s in sums.items()}

    async def delete(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> DeleteResult:
        bucket = await self.ctx.bucket(principal, bucket_name)
        validate_key(key)
        if version_id is not None:
            removed = await self.ctx.meta.delete_version(bucket.name, key, version_id)
            marker = removed.delete_marker if removed else False
            return DeleteResult(key, version_id, marker)
        if bucket.versioning == Versioning.UNVERSIONED:
            await self.ctx.meta.delete_version(bucket.name, key, NULL_VERSION)
            return DeleteResult(key, None, False)
        marker_version = ObjectVersion(
            bucket=bucket.name,
            key=key,
            version_id=write_version_id(bucket),
            modified=self.ctx.clock(),
            owner=principal.tenant,
            delete_marker=True,
            content_type="",
        )
        created = await self.ctx.meta.put_version(marker_version)
        return DeleteResult(key, created.version_id, True)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _feed(data: bytes, *digests: hashlib._Hash | Checksummer) -> None:
    for digest in digests:
        digest.update(data)
