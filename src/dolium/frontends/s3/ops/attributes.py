"""S3 GetObjectAttributes: `GET /bucket/key?attributes` with x-amz-object-attributes.

What HeadObject and ListParts would say of one version, in one document:
ETag (unquoted, as S3 gives it here), Checksum (with its type), ObjectParts
(a page of the parts of a multipart object: x-amz-part-number-marker and
x-amz-max-parts, each part's size and checksum), StorageClass and
ObjectSize. Only the attributes asked for are answered. A single-part
object has no ObjectParts element, as on S3. Reading the attributes of
SSE-C data needs its key, as reading the data does.
"""

from __future__ import annotations

from dolium.core.store import Store
from dolium.errors import NoSuchKey
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import delete_marker_error, principal_of, version_id_arg
from dolium.frontends.s3.ops.subresources import XML, Routes
from dolium.frontends.s3.wire import versions, xml
from dolium.frontends.s3.wire.headers import http_date
from dolium.frontends.s3.wire.http import MAX_INT, Response, S3Request
from dolium.frontends.s3.wire.sse_headers import customer_key
from dolium.model import ObjectVersion, Versioning

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000


def _invalid(message: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message)


def requested(request: S3Request) -> set[str]:
    """The attribute names of x-amz-object-attributes (a comma-separated list, or the
    header repeated); an unknown or missing name is InvalidArgument, as on S3."""
    names = {
        item.strip()
        for header, value in request.headers
        if header == "x-amz-object-attributes"
        for item in value.split(",")
    }
    names.discard("")
    if not names or not names <= set(ATTRIBUTES):
        raise _invalid("Invalid attribute name specified.")
    return names


def _int_header(request: S3Request, name: str, default: int) -> int:
    value = request.header(name)
    if value is None or not value.strip():
        return default
    value = value.strip()
    if not value.isascii() or not value.isdigit() or int(value) > MAX_INT:
        raise _invalid(f"Provided {name} not an integer or within integer range")
    return int(value)


def parts_xml(version: ObjectVersion, marker: int, max_parts: int) -> list[xml.Node]:
    """The ObjectParts element's content: one page of parts after the marker."""
    count = len(version.parts)
    numbers = range(marker + 1, min(count, marker + max_parts) + 1)
    truncated = marker + max_parts < count
    algorithm = next(iter(version.checksums), "")
    fields: list[xml.Node] = [
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", numbers[-1] if numbers else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", "true" if truncated else "false"),
        ("PartsCount", count),
    ]
    # S3 shows the parts of an object only when they have checksums (a general
    # purpose bucket answers the rest of ObjectParts without Part elements).
    if not algorithm or len(version.part_checksums) != count:
        return fields
    for number in numbers:
        part: list[xml.Node] = [
            (f"Checksum{algorithm}", version.part_checksums[number - 1]),
            ("PartNumber", number),
            ("Size", version.parts[number - 1]),
        ]
        fields.append(("Part", part))
    return fields


async def get_object_attributes(store: Store, request: S3Request) -> Response:
    names = requested(request)
    marker = _int_header(request, "x-amz-part-number-marker", 0)
    max_parts = min(_int_header(request, "x-amz-max-parts", MAX_PARTS), MAX_PARTS)
    version_id = version_id_arg(request)
    try:
        bucket, version = await store.objects.open(
            principal_of(request), request.bucket, request.key, version_id
        )
    except NoSuchKey as exc:
        if exc.context.get("delete_marker"):
            raise delete_marker_error(request, exc, by_version_id=version_id is not None) from exc
        raise
    await store.objects.unlock(version.sse, customer_key(request))
    fields: list[xml.Node] = []
    if "ETag" in names:
        fields.append(("ETag", version.etag))
    if "Checksum" in names and version.checksums:
        checksum: list[xml.Node] = [(f"Checksum{a}", v) for a, v in version.checksums.items()]
        checksum.append(("ChecksumType", version.checksum_type or "FULL_OBJECT"))
        fields.append(("Checksum", checksum))
    if "ObjectParts" in names and version.parts:
        fields.append(("ObjectParts", parts_xml(version, marker, max_parts)))
    if "StorageClass" in names:
        fields.append(("StorageClass", "STANDARD"))
    if "ObjectSize" in names:
        fields.append(("ObjectSize", version.size))
    headers = [XML, ("last-modified", http_date(version.modified))]
    if bucket.versioning != Versioning.UNVERSIONED:
        headers.append(("x-amz-version-id", versions.to_s3(version.version_id)))
    return Response(200, headers, xml.render("GetObjectAttributesResponse", fields))


OBJECT_ROUTES: Routes = {"attributes": {"GET": get_object_attributes}}
