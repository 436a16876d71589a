"""S3 versioning: GetBucketVersioning, PutBucketVersioning and ListObjectVersions."""

from __future__ import annotations

from dolium.core.access.actions import Action, Setting
from dolium.core.store import Store
from dolium.frontends.s3.errors import MALFORMED_MESSAGE, S3Error
from dolium.frontends.s3.ops.buckets import XML, encoder, grantee_xml
from dolium.frontends.s3.ops.objects import principal_of, version_id_arg
from dolium.frontends.s3.wire import versions, xml
from dolium.frontends.s3.wire.headers import iso_date
from dolium.frontends.s3.wire.http import Response, S3Request, page_size, read_small_body
from dolium.model import ObjectVersion, Versioning


async def get_versioning(store: Store, request: S3Request) -> Response:
    bucket = await store.buckets.get(
        principal_of(request), request.bucket, Action.READ_SETTING, Setting.VERSIONING
    )
    content = {"Status": bucket.versioning.value} if bucket.versioning else None
    return Response(200, [XML], xml.render("VersioningConfiguration", content))


async def put_versioning(store: Store, request: S3Request) -> Response:
    body = await read_small_body(request, xml.MAX_CONFIG_BODY)
    status, mfa_delete = xml.parse_versioning(body)
    if mfa_delete == "Enabled":
        raise S3Error(
            400,
            "InvalidArgument",
            "MFA delete is not supported by this server; use bucket policies and object lock.",
        )
    if status not in ("Enabled", "Suspended"):
        raise S3Error(400, "MalformedXML", MALFORMED_MESSAGE)
    await store.buckets.set_versioning(principal_of(request), request.bucket, Versioning(status))
    return Response(200)


def _version_xml(version: ObjectVersion, encode: xml.Encode, owner: xml.Node) -> xml.Node:
    fields: list[xml.Node] = [
        ("Key", encode(version.key)),
        ("VersionId", versions.to_s3(version.version_id)),
        ("IsLatest", version.is_latest),
        ("LastModified", iso_date(version.modified)),
    ]
    if version.delete_marker:
        fields.append(owner)
        return ("DeleteMarker", fields)
    fields += [("ETag", f'"{version.etag}"'), ("Size", version.size)]
    fields += [("StorageClass", "STANDARD"), owner]
    fields.extend(("ChecksumAlgorithm", a) for a in version.checksums)
    if version.checksums and version.checksum_type:
        fields.append(("ChecksumType", version.checksum_type))
    return ("Version", fields)


async def list_versions(store: Store, request: S3Request) -> Response:
    """ListObjectVersions: Version and DeleteMarker entries in listing order."""
    q = request.query
    encoded, encode = encoder(request)
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    max_keys = page_size(request, "max-keys")
    version_id_marker = q.get("version-id-marker", "")
    if version_id_marker and not key_marker:
        raise S3Error(
            400,
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=version_id_marker,
        )
    marker = version_id_arg(request, "version-id-marker") or ""
    page = await store.listing.versions(
        principal_of(request),
        request.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        version_id_marker=marker,
        max_keys=max_keys,
    )
    fields: list[xml.Node] = [
        ("Name", request.bucket),
        ("Prefix", encode(prefix)),
        ("KeyMarker", encode(key_marker)),
        ("VersionIdMarker", version_id_marker),
    ]
    if page.next_key_marker is not None:
        fields.append(("NextKeyMarker", encode(page.next_key_marker)))
    if page.next_version_id_marker is not None:
        fields.append(("NextVersionIdMarker", versions.to_s3(page.next_version_id_marker)))
    fields.append(("MaxKeys", max_keys))
    if delimiter:
        fields.append(("Delimiter", encode(delimiter)))
    if encoded:
        fields.append(("EncodingType", "url"))
    fields.append(("IsTruncated", page.truncated))
    owners = await store.listing.owners(v.owner for v in page.entries)
    nodes = {account: grantee_xml(grantee) for account, grantee in owners.items()}
    fields.extend(_version_xml(v, encode, nodes[v.owner]) for v in page.entries)
    fields.extend(("CommonPrefixes", [("Prefix", encode(p))]) for p in page.prefixes)
    return Response(200, [XML], xml.render("ListVersionsResult", fields))
