"""S3 service and bucket operations: ListBuckets, Create/Head/Delete bucket,
GetBucketLocation, ListObjects (V1 and V2) and DeleteObjects."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import quote

from dolium.core.access.acl import Grantee
from dolium.core.access.actions import Action, Setting
from dolium.core.buckets.settings import ObjectOwnership
from dolium.core.content.checksums import check_content_md5
from dolium.core.store import Store
from dolium.errors import DoliumError, NoSuchStoragePolicy
from dolium.frontends.s3.errors import S3Error, to_s3_error
from dolium.frontends.s3.ops.objects import bypass_governance, principal_of
from dolium.frontends.s3.wire import storage_class, versions, xml
from dolium.frontends.s3.wire.conditions import object_condition
from dolium.frontends.s3.wire.headers import acl_header, iso_date
from dolium.frontends.s3.wire.http import Response, S3Request, int_arg, page_size, read_small_body
from dolium.model import ListedObject

XML = ("content-type", "application/xml")


def grantee_xml(owner: Grantee) -> xml.Node:
    """The Owner element of what `owner` (an account's canonical user) owns."""
    return ("Owner", [("ID", owner.id), ("DisplayName", owner.display_name)])


def owner_xml(request: S3Request) -> xml.Node:
    principal = principal_of(request)
    return ("Owner", [("ID", principal.canonical_id), ("DisplayName", principal.display_name)])


# ListBuckets pages only when asked to: by max-buckets, or (10,000 a page)
# when a prefix, region or continuation token is given, as S3 does.
DEFAULT_REGION = "us-east-1"  # where a bucket created with no region is, to S3 clients
LIST_BUCKETS_PARAMS = ("max-buckets", "continuation-token", "prefix", "bucket-region")
MAX_BUCKETS = 10_000


async def list_buckets(store: Store, request: S3Request) -> Response:
    q = request.query
    paged = any(name in q for name in LIST_BUCKETS_PARAMS)
    limit = int_arg(request, "max-buckets", MAX_BUCKETS, 1, MAX_BUCKETS) if paged else None
    prefix = q.get("prefix", "")
    region = q.get("bucket-region")
    after = _decode_token(q["continuation-token"]) if q.get("continuation-token") else ""
    chosen = sorted(
        (
            b
            for b in await store.buckets.list(principal_of(request))
            if b.name.startswith(prefix)
            and b.name > after
            and (region is None or (b.region or DEFAULT_REGION) == region)
        ),
        key=lambda b: b.name,
    )
    page = chosen if limit is None else chosen[:limit]
    fields: list[xml.Node] = [
        (
            "Buckets",
            [
                (
                    "Bucket",
                    [
                        ("Name", b.name),
                        ("CreationDate", iso_date(b.created)),
                        ("BucketRegion", b.region or DEFAULT_REGION),
                    ],
                )
                for b in page
            ],
        ),
        owner_xml(request),
    ]
    if len(page) < len(chosen):
        fields.append(("ContinuationToken", _encode_token(page[-1].name)))
    if "prefix" in q:
        fields.append(("Prefix", prefix))
    return Response(200, [XML], xml.render("ListAllMyBucketsResult", fields))


def object_ownership_header(request: S3Request) -> str | None:
    """x-amz-object-ownership of a CreateBucket: one of S3's three settings, or None."""
    value = request.header("x-amz-object-ownership")
    if value is None:
        return None
    try:
        return ObjectOwnership(value.strip()).value
    except ValueError:
        raise S3Error(
            400,
            "InvalidArgument",
            "Invalid x-amz-object-ownership header",
            ArgumentName="x-amz-object-ownership",
            ArgumentValue=value,
        ) from None


async def create_bucket(store: Store, request: S3Request, region: str) -> Response:
    """Create a bucket; `region` is the configured one ("" accepts any constraint)."""
    # Refused before the body is read: Expect: 100-continue gets the refusal.
    store.buckets.check_create(principal_of(request), request.bucket)
    body = await read_small_body(request, xml.MAX_CONFIG_BODY)
    location = xml.parse_create_bucket(body) if body.strip() else None
    if (
        location is not None
        and region
        and location != region
        and not (region == "us-east-1" and location == "")
    ):
        raise S3Error(
            400,
            "IllegalLocationConstraintException",
            f"The {location} location constraint is incompatible for the region specific "
            "endpoint this request was sent to.",
        )
    lock = (request.header("x-amz-bucket-object-lock-enabled") or "").strip().lower() == "true"
    policy = storage_class.requested_policy(request)
    try:
        await store.buckets.create(
            principal_of(request),
            request.bucket,
            location or "",
            object_lock=lock,
            acl=acl_header(request),
            ownership=object_ownership_header(request),
            policy=policy,
        )
    except NoSuchStoragePolicy:
        raise storage_class.unknown_policy(policy or "") from None
    return Response(200, [("location", f"/{request.bucket}")])


async def head_bucket(store: Store, request: S3Request) -> Response:
    bucket = await store.buckets.get(principal_of(request), request.bucket, Action.LIST)
    headers = [("x-amz-bucket-region", bucket.region)]
    quota = store.objects.quotas.of_bucket(bucket)
    if not quota.unlimited:
        # What the operator allows and what is used, for clients that plan uploads.
        usage = await store.containers.usage(bucket)
        headers += [("x-dolium-bytes-used", str(usage.bytes)),
                    ("x-dolium-object-count", str(usage.objects))]  # fmt: skip
        if quota.bytes is not None:
            headers.append(("x-dolium-quota-bytes", str(quota.bytes)))
        if quota.objects is not None:
            headers.append(("x-dolium-quota-objects", str(quota.objects)))
    return Response(200, headers)


async def delete_bucket(store: Store, request: S3Request) -> Response:
    await store.buckets.delete(principal_of(request), request.bucket)
    return Response(204)


async def get_bucket_location(store: Store, request: S3Request) -> Response:
    bucket = await store.buckets.get(
        principal_of(request), request.bucket, Action.READ_SETTING, Setting.LOCATION
    )
    region = "" if bucket.region == "us-east-1" else bucket.region
    return Response(200, [XML], xml.render("LocationConstraint", region))


def encoder(request: S3Request) -> tuple[bool, xml.Encode]:
    """encoding-type of a listing: whether keys are URL-encoded, and the function that does it."""
    encoding = request.query.get("encoding-type")
    if encoding is None:
        return False, lambda s: s
    if encoding != "url":
        raise S3Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request")
    return True, _url_encode


# What quote(..., safe="/") leaves as it is: most keys are only these.
_UNCHANGED = re.compile(r"[A-Za-z0-9_.~/-]*")


def _url_encode(text: str) -> str:
    return text if _UNCHANGED.fullmatch(text) else quote(text, safe="/")


def _entry(version: ListedObject, encode: xml.Encode, owner: str) -> xml.Node:
    """One Contents element, rendered here: a page holds a thousand of them."""
    text = (
        f"<Key>{xml.escape(encode(version.key))}</Key>"
        f"<LastModified>{iso_date(version.modified)}</LastModified>"
        f'<ETag>"{xml.escape(version.etag)}"</ETag>'
        f"<Size>{version.size}</Size><StorageClass>STANDARD</StorageClass>"
    )
    if version.checksum_algorithms:
        text += "".join(
            f"<ChecksumAlgorithm>{xml.escape(a)}</ChecksumAlgorithm>"
            for a in version.checksum_algorithms
        )
        if version.checksum_type:
            text += f"<ChecksumType>{xml.escape(version.checksum_type)}</ChecksumType>"
    return ("Contents", xml.Raw(text + owner))


async def list_objects(store: Store, request: S3Request) -> Response:
    v2 = request.query.get("list-type") == "2"
    if "list-type" in request.query and not v2:
        raise S3Error(400, "InvalidArgument", "Invalid List Type specified in Request")
    encoded, encode = encoder(request)
    prefix = request.query.get("prefix", "")
    delimiter = request.query.get("delimiter", "")
    max_keys = page_size(request, "max-keys")
    if v2:
        token = request.query.get("continuation-token")
        start = _decode_token(token) if token is not None else request.query.get("start-after", "")
    else:
        start = request.query.get("marker", "")
    page = await store.listing.list(
        principal_of(request),
        request.bucket,
        prefix=prefix,
        delimiter=delimiter,
        start_after=start,
        max_keys=max_keys,
    )
    # Each object's owner (ListObjects always names it; V2 when asked).
    fetch_owner = not v2 or request.query.get("fetch-owner") == "true"
    owners = await store.listing.owners(v.owner for v in page.entries) if fetch_owner else {}
    owner_fragments = {a: xml.fragment([grantee_xml(g)]) for a, g in owners.items()}
    fields: list[xml.Node] = [("Name", request.bucket), ("Prefix", encode(prefix))]
    if v2:
        if "continuation-token" in request.query:
            fields.append(("ContinuationToken", request.query["continuation-token"]))
        if "start-after" in request.query:
            fields.append(("StartAfter", encode(request.query["start-after"])))
        fields.append(("KeyCount", len(page.entries) + len(page.prefixes)))
        if page.truncated and page.next_marker is not None:
            fields.append(("NextContinuationToken", _encode_token(page.next_marker)))
    else:
        fields.append(("Marker", encode(start)))
        if page.truncated and page.next_marker is not None and delimiter:
            fields.append(("NextMarker", encode(page.next_marker)))
    fields.append(("MaxKeys", max_keys))
    if delimiter:
        fields.append(("Delimiter", encode(delimiter)))
    if encoded:
        fields.append(("EncodingType", "url"))
    fields.append(("IsTruncated", "true" if page.truncated else "false"))
    fields.extend(_entry(v, encode, owner_fragments.get(v.owner, "")) for v in page.entries)
    fields.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in page.prefixes)
    return Response(200, [XML], xml.render("ListBucketResult", fields))


def _encode_token(marker: str) -> str:
    return base64.urlsafe_b64encode(marker.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise S3Error(
            400, "InvalidArgument", "The continuation token provided is incorrect"
        ) from None


async def delete_objects(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    md5_header = request.header("content-md5")
    # A missing bucket is answered before the body is read. Permission is
    # not: S3 checks it per key and answers each refused key AccessDenied
    # in a 200 result, whoever the caller, anonymous included.
    await store.buckets.exists(request.bucket)
    body = await read_small_body(request, xml.MAX_DELETE_OBJECTS_BODY)
    if md5_header is not None:
        check_content_md5(md5_header, hashlib.md5(body, usedforsecurity=False).digest())
    quiet, keys = xml.parse_delete_objects(body)
    bypass = bypass_governance(request)
    results: list[xml.Node] = []
    for key, version_id, etag, modified, size in keys:
        try:
            condition = object_condition(
                etag, modified, size, names=("ETag", "LastModifiedTime", "Size")
            )
            result = await store.objects.delete(
                principal,
                request.bucket,
                key,
                versions.from_s3(version_id) if version_id is not None else None,
                bypass=bypass,
                condition=condition,
            )
        except (DoliumError, S3Error) as exc:
            error = exc if isinstance(exc, S3Error) else to_s3_error(exc)
            results.append(
                (
                    "Error",
                    [("Key", key), ("Code", error.code), ("Message", error.message)]
                    + ([("VersionId", version_id)] if version_id else []),
                )
            )
            continue
        if quiet:
            continue
        fields: list[xml.Node] = [("Key", key)]
        if version_id:
            fields.append(("VersionId", version_id))
        if result.delete_marker:
            fields.append(("DeleteMarker", "true"))
            # The new marker's id, or the id of the marker removed by version id.
            if result.version_id:
                fields.append(("DeleteMarkerVersionId", versions.to_s3(result.version_id)))
        results.append(("Deleted", fields))
    return Response(200, [XML], xml.render("DeleteResult", results))
