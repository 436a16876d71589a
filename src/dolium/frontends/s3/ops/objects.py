"""S3 object operations: PutObject, GetObject, HeadObject, DeleteObject, CopyObject."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

from dolium.core.content.sse import SSE_KMS, CustomerKey
from dolium.core.objects.conditions import ByteRange, check_copy_source, check_read, parse_range
from dolium.core.objects.version_ids import validate_version_id
from dolium.core.objects.write_options import CopyOptions
from dolium.core.store import Store
from dolium.errors import InvalidArgument, NoSuchKey
from dolium.frontends.s3.errors import S3Error, s3_message
from dolium.frontends.s3.rules import objects as rules
from dolium.frontends.s3.wire import versions, xml
from dolium.frontends.s3.wire.conditions import delete_condition, write_condition
from dolium.frontends.s3.wire.headers import (
    acl_header,
    apply_overrides,
    copy_tags,
    http_date,
    iso_date,
    lock_header,
    lock_headers,
    object_headers,
    system_headers,
    user_metadata,
    write_options,
)
from dolium.frontends.s3.wire.http import Headers, Response, S3Request
from dolium.frontends.s3.wire.sse_headers import (
    copy_source_key,
    customer_key,
    require_sigv4,
    signed_v4,
    sse_request,
)
from dolium.frontends.s3.wire.sse_headers import response_headers as sse_response_headers
from dolium.frontends.s3.wire.storage_class import STORAGE_CLASS_HEADER
from dolium.model import UNVERSIONED_ID, ObjectVersion, Principal, Versioning

MAX_COPY_SIZE = 5 * 1024**3


def principal_of(request: S3Request) -> Principal:
    assert request.principal is not None
    return request.principal


def declared_size(request: S3Request) -> int | None:
    decoded = request.header("x-amz-decoded-content-length")
    value = decoded if decoded is not None else request.header("content-length")
    if value is None:
        if request.header("transfer-encoding"):
            return None
        raise S3Error(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
    try:
        size = int(value)
    except ValueError:
        raise S3Error(400, "InvalidArgument", "Content-Length is not a number") from None
    if size < 0:
        raise S3Error(400, "InvalidArgument", "Content-Length must not be negative")
    if size > 5 * 1024**3:
        raise S3Error(
            400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
        )
    return size


def version_id_arg(request: S3Request, name: str = "versionId") -> str | None:
    """A version id query parameter, None when absent; InvalidArgument when malformed."""
    value = request.query.get(name) or None
    if value is None:
        return None
    version_id = versions.from_s3(value)
    try:
        validate_version_id(version_id)
    except InvalidArgument as exc:
        raise S3Error(
            400, "InvalidArgument", s3_message(exc), ArgumentName=name, ArgumentValue=value
        ) from None
    return version_id


def bypass_governance(request: S3Request) -> bool | None:
    """x-amz-bypass-governance-retention: None when absent, True only for "true"."""
    value = request.header("x-amz-bypass-governance-retention")
    return None if value is None else value.strip().lower() == "true"


def version_headers(version: ObjectVersion) -> list[tuple[str, str]]:
    """x-amz-version-id of a version just written, when it has an id of its own.

    Read from the version, not the bucket: the bucket's state may have changed
    since the write, and reading it again would cost a lookup per request.
    """
    if version.version_id == UNVERSIONED_ID:
        return []
    return [("x-amz-version-id", versions.to_s3(version.version_id))]


async def put_object(store: Store, request: S3Request) -> Response:
    if request.header("x-amz-copy-source") is not None:
        return await copy_object(store, request)
    principal = principal_of(request)
    opts = write_options(request, declared_size(request))
    rules.check_write(request.key, opts.meta, opts.tags)
    version = await store.objects.put(
        principal, request.bucket, request.key, request.stream(), opts
    )
    headers = [("etag", f'"{version.etag}"'), *version_headers(version)]
    headers.extend(sse_response_headers(version.sse, context=True))
    for algorithm, value in version.checksums.items():
        headers.append((f"x-amz-checksum-{algorithm.lower()}", value))
    return Response(200, headers)


async def get_object(store: Store, request: S3Request, head: bool = False) -> Response:
    principal = principal_of(request)
    version_id = version_id_arg(request)
    try:
        bucket, version = await store.objects.open(
            principal, request.bucket, request.key, version_id
        )
    except NoSuchKey as exc:
        if exc.context.get("delete_marker"):
            raise delete_marker_error(request, exc, by_version_id=version_id is not None) from exc
        raise
    if version.sse.get("mode") == SSE_KMS:
        require_sigv4(request)
    # Encrypted data is not even described without its key (SSE-C).
    customer = customer_key(request)
    await store.objects.unlock(version.sse, customer)
    check_conditions(request, version)
    part_number = _part_number(request)
    if part_number is None:
        byte_range = parse_range(request.header("range"), version.size)
    else:
        byte_range = part_range(version, part_number)
    checksums = (request.header("x-amz-checksum-mode") or "").upper() == "ENABLED"
    headers = object_headers(
        version,
        checksums=checksums and byte_range is None,
        versioned=bucket.versioning != Versioning.UNVERSIONED,
    )
    headers.extend(lock_headers(await store.object_lock.visible_lock(principal, bucket, version)))
    headers = apply_overrides(headers, request.query)
    if version.parts and part_number is not None:
        headers.append(("x-amz-mp-parts-count", str(len(version.parts))))
    return await data_response(
        store, version, headers, byte_range=byte_range, head=head, customer=customer
    )


def check_conditions(request: S3Request, version: ObjectVersion) -> None:
    """A read's If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since."""
    check_read(
        version.etag,
        version.modified,
        if_match=request.header("if-match"),
        if_none_match=request.header("if-none-match"),
        if_modified_since=request.header("if-modified-since"),
        if_unmodified_since=request.header("if-unmodified-since"),
    )


async def data_response(
    store: Store,
    version: ObjectVersion,
    headers: Headers,
    status: int = 200,
    *,
    byte_range: ByteRange | None = None,
    head: bool = False,
    customer: CustomerKey | None = None,
) -> Response:
    """The response carrying `version`'s data: all of it, or `byte_range` of it as a 206."""
    start, end = 0, version.size - 1
    if byte_range is not None:
        start, end = byte_range
        status = 206
        headers.append(("content-range", f"bytes {start}-{end}/{version.size}"))
    length = end - start + 1 if version.size else 0
    if head or not length:
        return Response(status, headers, length=length)
    stream = await store.objects.read(version, start, end, customer)
    return Response(status, headers, stream=stream, length=length)


def delete_marker_error(request: S3Request, exc: NoSuchKey, *, by_version_id: bool) -> S3Error:
    """What S3 answers a read that lands on a delete marker.

    The latest version being a marker reads as a missing key (404); a marker
    named by its version id is a version that cannot be read (405).
    """
    headers = {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": versions.to_s3(str(exc.context.get("version_id", ""))),
    }
    if not by_version_id:
        return S3Error(404, "NoSuchKey", "The specified key does not exist.", headers=headers)
    modified = exc.context.get("modified")
    if isinstance(modified, float | int):
        headers["last-modified"] = http_date(modified)
    return S3Error(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        headers=headers,
        Method=request.method,
        ResourceType="DeleteMarker",
    )


def _part_number(request: S3Request) -> int | None:
    value = request.query.get("partNumber")
    if value is None:
        return None
    if not value.isdigit() or not value.isascii() or not 1 <= int(value) <= 10000:
        raise S3Error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=value,
        )
    if request.header("range") is not None:
        raise S3Error(
            400, "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
        )
    return int(value)


def part_range(version: ObjectVersion, number: int) -> ByteRange | None:
    """The bytes of part `number` (1-based) as a range; part 1 of a plain object is all of it.

    None for an empty object, which has no bytes to range over.
    """
    sizes = version.parts or (version.size,)
    if number > len(sizes):
        raise S3Error(
            416,
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            PartNumberRequested=str(number),
            ActualPartCount=str(len(sizes)),
        )
    start = sum(sizes[: number - 1])
    if sizes[number - 1] == 0:
        return None
    return ByteRange(start, start + sizes[number - 1] - 1)


async def delete_object(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    result = await store.objects.delete(
        principal,
        request.bucket,
        request.key,
        version_id_arg(request),
        bypass=bypass_governance(request),
        condition=delete_condition(request),
    )
    headers = []
    if result.version_id is not None:
        headers.append(("x-amz-version-id", versions.to_s3(result.version_id)))
    if result.delete_marker:
        headers.append(("x-amz-delete-marker", "true"))
    return Response(204, headers)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    path, _, query = value.partition("?")
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise S3Error(
            400,
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    version_id = dict(parse_qsl(query)).get("versionId") or None
    return bucket, key, versions.from_s3(version_id) if version_id is not None else None


def copy_source_check(request: S3Request) -> CopyOptions:
    def check(src: ObjectVersion) -> None:
        if src.sse.get("mode") == SSE_KMS:
            require_sigv4(request)  # reading an SSE-KMS source, as S3 requires
        check_copy_source(
            src.etag,
            src.modified,
            if_match=request.header("x-amz-copy-source-if-match"),
            if_none_match=request.header("x-amz-copy-source-if-none-match"),
            if_modified_since=request.header("x-amz-copy-source-if-modified-since"),
            if_unmodified_since=request.header("x-amz-copy-source-if-unmodified-since"),
        )
        if src.size > MAX_COPY_SIZE:
            raise S3Error(
                400,
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a "
                "copy source: 5368709120",
            )

    directive = (request.header("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(400, "InvalidArgument", "Unknown metadata directive.")
    return CopyOptions(
        replace_metadata=directive == "REPLACE",
        content_type=request.header("content-type"),
        meta=user_metadata(request),
        headers=system_headers(request),
        condition=write_condition(request),
        check_source=check,
        tags=copy_tags(request),
        acl=acl_header(request),
        lock=lock_header(request),
        sse=sse_request(request),
        source_key=copy_source_key(request),
        policy=request.storage_policy,
        kms_allowed=signed_v4(request),
    )


async def copy_object(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    source = parse_copy_source(request.header("x-amz-copy-source") or "")
    names_class = request.header(STORAGE_CLASS_HEADER) is not None
    opts = rules.copy_rules(
        source, request.bucket, request.key, copy_source_check(request), names_class=names_class
    )
    rules.check_copy(request.key, opts.tags)
    version, src = await store.objects.copy(principal, source, request.bucket, request.key, opts)
    headers = version_headers(version) + sse_response_headers(version.sse, context=True)
    if source[2] is not None or src.version_id != UNVERSIONED_ID:
        headers.append(("x-amz-copy-source-version-id", versions.to_s3(src.version_id)))
    body = xml.render(
        "CopyObjectResult",
        [("LastModified", iso_date(version.modified)), ("ETag", f'"{version.etag}"')]
        + [(f"Checksum{a}", v) for a, v in version.checksums.items()],
    )
    return Response(200, [("content-type", "application/xml"), *headers], body)
