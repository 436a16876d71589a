"""S3 multipart operations: Create, UploadPart, UploadPartCopy, Complete,
Abort, ListParts and ListMultipartUploads."""

from __future__ import annotations

import re
from collections.abc import Callable

from dolium.core.access.acl import Grantee
from dolium.core.access.actions import Action
from dolium.core.objects.multipart import CompletedPart, PartSource
from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.buckets import XML, encoder
from dolium.frontends.s3.ops.objects import (
    copy_source_check,
    declared_size,
    parse_copy_source,
    principal_of,
    version_headers,
)
from dolium.frontends.s3.rules import objects as rules
from dolium.frontends.s3.wire import versions, xml
from dolium.frontends.s3.wire.conditions import write_condition
from dolium.frontends.s3.wire.headers import iso_date, write_options
from dolium.frontends.s3.wire.http import (
    MAX_INT,
    Response,
    S3Request,
    int_arg,
    page_size,
    read_small_body,
)
from dolium.frontends.s3.wire.sse_headers import copy_source_key, signed_v4, sse_request
from dolium.frontends.s3.wire.sse_headers import response_headers as sse_response_headers
from dolium.model import UNVERSIONED_ID


def _part_number(request: S3Request) -> int:
    value = request.query.get("partNumber", "")
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise S3Error(
            400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"
        )
    return int(value)


async def create_upload(store: Store, request: S3Request) -> Response:
    opts = write_options(request, None)
    checksum_type = (request.header("x-amz-checksum-type") or "").upper()
    rules.check_write(request.key, opts.meta, opts.tags)
    upload = await store.multipart.create(
        principal_of(request), request.bucket, request.key, opts, checksum_type
    )
    body = xml.render(
        "InitiateMultipartUploadResult",
        [("Bucket", upload.bucket), ("Key", upload.key), ("UploadId", upload.upload_id)],
    )
    headers = [XML, *sse_response_headers(upload.sse, context=True)]
    if upload.checksum_algorithm:
        headers.append(("x-amz-checksum-algorithm", upload.checksum_algorithm))
        headers.append(("x-amz-checksum-type", upload.checksum_type))
    return Response(200, headers, body)


async def upload_part(store: Store, request: S3Request) -> Response:
    number = _part_number(request)
    upload_id = request.query["uploadId"]
    if request.header("x-amz-copy-source") is not None:
        return await upload_part_copy(store, request, number, upload_id)
    opts = write_options(request, declared_size(request))
    part, upload = await store.multipart.write_part(
        principal_of(request),
        request.bucket,
        request.key,
        upload_id,
        number,
        request.stream(),
        opts,
    )
    headers = [("etag", f'"{part.etag}"')]
    if opts.sse is not None and opts.sse.customer is not None:
        # The part was sealed with the upload's key, which this key unlocked.
        headers.extend(sse_response_headers({"mode": "SSE-C", "key_md5": opts.sse.customer.md5}))
    else:  # SSE-S3, SSE-KMS: said on each part, as S3 does
        headers.extend(sse_response_headers(upload.sse))
    headers.extend((f"x-amz-checksum-{a.lower()}", v) for a, v in part.checksums.items())
    return Response(200, headers)


async def upload_part_copy(
    store: Store, request: S3Request, number: int, upload_id: str
) -> Response:
    bucket, key, version_id = parse_copy_source(request.header("x-amz-copy-source") or "")
    source = PartSource(
        bucket,
        key,
        version_id,
        check=copy_source_check(request).check_source,
        byte_range=_copy_range(request.header("x-amz-copy-source-range")),
        customer_key=copy_source_key(request),
    )
    part, src = await store.multipart.copy_part(
        principal_of(request),
        request.bucket,
        request.key,
        upload_id,
        number,
        source,
        WriteOptions(sse=sse_request(request), kms_allowed=signed_v4(request)),
    )
    body = xml.render(
        "CopyPartResult", [("LastModified", iso_date(part.modified)), ("ETag", f'"{part.etag}"')]
    )
    headers = [XML]
    if src.version_id != UNVERSIONED_ID:
        headers.append(("x-amz-copy-source-version-id", versions.to_s3(src.version_id)))
    return Response(200, headers, body)


_COPY_RANGE_RE = re.compile(r"bytes=(\d+)-(\d+)")


def _copy_range(header: str | None) -> Callable[[int], tuple[int, int]] | None:
    """x-amz-copy-source-range as the core asks for it: the range, given the source's size.

    Unlike a GET's Range, it must name both ends, and no end is clamped: a
    range that reaches past the source is 400 InvalidRange, as S3 answers.
    """
    if header is None:
        return None
    match = _COPY_RANGE_RE.fullmatch(header.strip())
    if match is None or int(match[2]) < int(match[1]):
        raise S3Error(
            400,
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last "
            "where first and last are the zero-based offsets of the first and last bytes "
            "to copy",
        )
    first, last = int(match[1]), int(match[2])

    def byte_range(size: int) -> tuple[int, int]:
        if last >= size:
            raise S3Error(
                400,
                "InvalidRange",
                f"Range specified is not valid for source object of size: {size}",
                RangeRequested=header.strip(),
                ActualObjectSize=str(size),
            )
        return first, last

    return byte_range


async def complete_upload(store: Store, request: S3Request) -> Response:
    # The upload and the caller's right to write its key are checked before
    # the part list is read, so a refusal answers Expect: 100-continue.
    upload_id = request.query["uploadId"]
    await store.multipart.upload(
        principal_of(request), request.bucket, request.key, upload_id, Action.WRITE
    )
    body = await read_small_body(request, xml.MAX_COMPLETE_MULTIPART_BODY)
    parts = [
        CompletedPart(number, etag, checksums)
        for number, etag, checksums in xml.parse_complete_multipart(body)
    ]
    version = await store.multipart.complete(
        principal_of(request),
        request.bucket,
        request.key,
        upload_id,
        parts,
        write_condition(request),
    )
    fields: list[xml.Node] = [
        ("Location", f"/{request.bucket}/{request.key}"),
        ("Bucket", request.bucket),
        ("Key", request.key),
        ("ETag", f'"{version.etag}"'),
    ]
    fields.extend((f"Checksum{a}", v) for a, v in version.checksums.items())
    if version.checksum_type:
        fields.append(("ChecksumType", version.checksum_type))
    headers = [XML, *version_headers(version), *sse_response_headers(version.sse)]
    return Response(200, headers, xml.render("CompleteMultipartUploadResult", fields))


async def abort_upload(store: Store, request: S3Request) -> Response:
    await store.multipart.abort(
        principal_of(request), request.bucket, request.key, request.query["uploadId"]
    )
    return Response(204)


def _owner_and_initiator(owner: Grantee) -> list[xml.Node]:
    """Initiator and Owner of an upload: the account that created it, both (the
    initiating user is not kept apart from its account)."""
    who: list[xml.Node] = [("ID", owner.id), ("DisplayName", owner.display_name)]
    return [("Initiator", who), ("Owner", who)]


async def list_parts(store: Store, request: S3Request) -> Response:
    max_parts = page_size(request, "max-parts")
    marker = int_arg(request, "part-number-marker", 0, 0, MAX_INT)
    upload, parts, truncated = await store.multipart.list_parts(
        principal_of(request),
        request.bucket,
        request.key,
        request.query["uploadId"],
        after=marker,
        limit=max_parts,
    )
    fields: list[xml.Node] = [
        ("Bucket", request.bucket),
        ("Key", request.key),
        ("UploadId", upload.upload_id),
        *_owner_and_initiator((await store.multipart.owners([upload]))[upload.owner]),
        ("StorageClass", "STANDARD"),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].number if parts else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", "true" if truncated else "false"),
    ]
    if upload.checksum_algorithm:
        fields.append(("ChecksumAlgorithm", upload.checksum_algorithm))
        fields.append(("ChecksumType", upload.checksum_type))
    for part in parts:
        entry: list[xml.Node] = [
            ("PartNumber", part.number),
            ("LastModified", iso_date(part.modified)),
            ("ETag", f'"{part.etag}"'),
            ("Size", part.size),
        ]
        entry.extend((f"Checksum{a}", v) for a, v in part.checksums.items())
        fields.append(("Part", entry))
    return Response(200, [XML], xml.render("ListPartsResult", fields))


async def list_uploads(store: Store, request: S3Request) -> Response:
    encoded, encode = encoder(request)
    max_uploads = page_size(request, "max-uploads")
    prefix = request.query.get("prefix", "")
    delimiter = request.query.get("delimiter", "")
    key_marker = request.query.get("key-marker", "")
    upload_marker = request.query.get("upload-id-marker", "") if key_marker else ""
    page = await store.multipart.list_uploads(
        principal_of(request),
        request.bucket,
        prefix=prefix,
        after_key=key_marker,
        after_upload_id=upload_marker,
        limit=max_uploads,
        delimiter=delimiter,
    )
    next_key, next_upload = page.next_markers
    fields: list[xml.Node] = [
        ("Bucket", request.bucket),
        ("KeyMarker", encode(key_marker)),
        ("UploadIdMarker", upload_marker),
        ("NextKeyMarker", encode(next_key)),
        ("NextUploadIdMarker", next_upload),
    ]
    if delimiter:
        fields.append(("Delimiter", encode(delimiter)))
    if prefix:
        fields.append(("Prefix", encode(prefix)))
    fields.append(("MaxUploads", max_uploads))
    if encoded:
        fields.append(("EncodingType", "url"))
    fields.append(("IsTruncated", "true" if page.truncated else "false"))
    owners = await store.multipart.owners(page.uploads)
    for upload in page.uploads:
        fields.append(
            (
                "Upload",
                [
                    ("Key", encode(upload.key)),
                    ("UploadId", upload.upload_id),
                    *_owner_and_initiator(owners[upload.owner]),
                    ("StorageClass", "STANDARD"),
                    ("Initiated", iso_date(upload.initiated)),
                ],
            )
        )
    fields.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in page.prefixes)
    return Response(200, [XML], xml.render("ListMultipartUploadsResult", fields))
