"""S3 tagging: Get/Put/DeleteObjectTagging and Get/Put/DeleteBucketTagging.

Object tagging answers x-amz-version-id once the bucket has had versioning.
A call that lands on a delete marker, the latest version or one named by
its id, is 405 MethodNotAllowed, as S3 answers it (a delete marker cannot
hold tags).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from dolium.core.objects.tagging import ObjectTags
from dolium.core.store import Store
from dolium.errors import InvalidTag
from dolium.frontends.s3.auth.facts import with_request_tags
from dolium.frontends.s3.errors import S3Error, s3_message
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import (
    XML,
    Routes,
    on_version,
    read_checked_body,
    version_header,
)
from dolium.frontends.s3.rules.tagging import BUCKET_TAG_LIMIT, OBJECT_TAG_LIMIT, tag_rules
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request


def tagging_xml(tags: Sequence[tuple[str, str]]) -> bytes:
    return xml.render(
        "Tagging", [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags])]
    )


async def _tag_set(request: S3Request) -> list[tuple[str, str]]:
    # Both tagging PUTs are guarded writes on S3: Content-MD5 or a checksum.
    return xml.parse_tagging(await read_checked_body(request))


def _invalid_tag(exc: InvalidTag) -> S3Error:
    """InvalidTag with the TagKey (and TagValue) S3 names in the error document."""
    error = S3Error(400, "InvalidTag", s3_message(exc))
    error.fields = {
        name: str(exc.context[field])
        for name, field in (("TagKey", "tag_key"), ("TagValue", "tag_value"))
        if field in exc.context
    }
    return error


async def _on_version(
    request: S3Request, call: Callable[[str | None], Awaitable[ObjectTags]]
) -> ObjectTags:
    try:
        return await on_version(request, call)
    except InvalidTag as exc:
        raise _invalid_tag(exc) from exc


async def get_object_tagging(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    found = await _on_version(
        request,
        lambda v: store.tagging.get_object(principal, request.bucket, request.key, v),
    )
    body = tagging_xml(list(found.tags.items()))
    return Response(200, [XML, *version_header(found.version_id)], body)


async def put_object_tagging(store: Store, request: S3Request) -> Response:
    tags = await _tag_set(request)
    # A policy may test the tags this sets (s3:RequestObjectTag/<key>).
    principal = with_request_tags(principal_of(request), dict(tags))
    found = await _on_version(
        request,
        lambda v: store.tagging.put_object(
            principal,
            request.bucket,
            request.key,
            tags,
            v,
            approve=tag_rules(tags, OBJECT_TAG_LIMIT),
        ),
    )
    return Response(200, version_header(found.version_id))


async def delete_object_tagging(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    found = await _on_version(
        request,
        lambda v: store.tagging.delete_object(principal, request.bucket, request.key, v),
    )
    return Response(204, version_header(found.version_id))


async def get_bucket_tagging(store: Store, request: S3Request) -> Response:
    tags = await store.tagging.get_bucket(principal_of(request), request.bucket)
    return Response(200, [XML], tagging_xml(tags))


async def put_bucket_tagging(store: Store, request: S3Request) -> Response:
    tags = await _tag_set(request)
    try:
        await store.tagging.put_bucket(
            principal_of(request),
            request.bucket,
            tags,
            approve=tag_rules(tags, BUCKET_TAG_LIMIT),
        )
    except InvalidTag as exc:
        raise _invalid_tag(exc) from exc
    return Response(204)


async def delete_bucket_tagging(store: Store, request: S3Request) -> Response:
    await store.tagging.delete_bucket(principal_of(request), request.bucket)
    return Response(204)


ROUTES: Routes = {
    "tagging": {
        "GET": get_bucket_tagging,
        "PUT": put_bucket_tagging,
        "DELETE": delete_bucket_tagging,
    }
}
OBJECT_ROUTES: Routes = {
    "tagging": {
        "GET": get_object_tagging,
        "PUT": put_object_tagging,
        "DELETE": delete_object_tagging,
    }
}
