"""Bucket settings that clients and consoles probe: ownership controls, the public
access block, request payment, transfer acceleration and replication
(logging: access_logs).

Ownership controls and the public access block are stored (the core's access
rules read them). The others answer what Dolium does: the bucket owner pays
(PutBucketRequestPayment accepts only BucketOwner; Requester is
NotImplemented), no acceleration: writes that
turn them off are accepted, writes that would turn them on are
NotImplemented. Those PUTs store nothing: their permission is the one the
router (frontends/s3/app.py) checks before any bucket-setting body is read.
No bucket replicates: GetBucketReplication answers that none is configured,
DeleteBucketReplication has nothing to remove, PutBucketReplication is
NotImplemented.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from dolium.core.access.actions import Action, Setting
from dolium.core.access.decisions import PublicAccessBlock
from dolium.core.buckets.settings import ObjectOwnership
from dolium.core.store import Store
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, not_found, read_checked_body
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request

# S3 answers GetBucketLogging in this (older) namespace.

PUBLIC_ACCESS_FIELDS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


def _not_implemented() -> S3Error:
    return S3Error(
        501, "NotImplemented", "A header you provided implies functionality that is not implemented"
    )


def _single_value(element: Element, name: str) -> str:
    """The stripped text of the one child `name`; MalformedXML when missing."""
    child = xml._only(element, name)
    if child is None:
        raise xml.malformed()
    return xml._text(child).strip()


# --------------------------------------------------------------------------- ownership


async def get_ownership_controls(store: Store, request: S3Request) -> Response:
    ownership = await store.bucket_settings.get_ownership(principal_of(request), request.bucket)
    if ownership is None:
        raise not_found(
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
            request.bucket,
        )
    body = xml.render("OwnershipControls", {"Rule": {"ObjectOwnership": ownership.value}})
    return Response(200, [XML], body)


def parse_ownership_controls(body: bytes) -> ObjectOwnership:
    """The one rule's ObjectOwnership; no rule, two rules or an unknown value is MalformedXML."""
    root = xml._parse(body, "OwnershipControls")
    rules = [child for tag, child in xml._children(root) if tag == "Rule"]
    if len(rules) != 1:
        raise xml.malformed()
    value = _single_value(rules[0], "ObjectOwnership")
    try:
        return ObjectOwnership(value)
    except ValueError:
        raise xml.malformed() from None


async def put_ownership_controls(store: Store, request: S3Request) -> Response:
    ownership = parse_ownership_controls(await read_checked_body(request))
    await store.bucket_settings.put_ownership(principal_of(request), request.bucket, ownership)
    return Response(200)


async def delete_ownership_controls(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.delete_ownership(principal_of(request), request.bucket)
    return Response(204)


# --------------------------------------------------------------------------- public access block


async def get_public_access_block(store: Store, request: S3Request) -> Response:
    block = await store.bucket_settings.get_public_access_block(
        principal_of(request), request.bucket
    )
    if block is None:
        raise not_found(
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
            request.bucket,
        )
    values = (
        block.block_public_acls,
        block.ignore_public_acls,
        block.block_public_policy,
        block.restrict_public_buckets,
    )
    body = xml.render(
        "PublicAccessBlockConfiguration", dict(zip(PUBLIC_ACCESS_FIELDS, values, strict=True))
    )
    return Response(200, [XML], body)


def parse_public_access_block(body: bytes) -> PublicAccessBlock:
    """The four switches of a PutPublicAccessBlock body; one left out is false."""
    root = xml._parse(body, "PublicAccessBlockConfiguration")
    values: dict[str, bool] = {}
    for name in PUBLIC_ACCESS_FIELDS:
        child = xml._only(root, name)
        values[name] = xml._boolean(xml._text(child)) if child is not None else False
    return PublicAccessBlock(
        block_public_acls=values["BlockPublicAcls"],
        ignore_public_acls=values["IgnorePublicAcls"],
        block_public_policy=values["BlockPublicPolicy"],
        restrict_public_buckets=values["RestrictPublicBuckets"],
    )


async def put_public_access_block(store: Store, request: S3Request) -> Response:
    block = parse_public_access_block(await read_checked_body(request))
    await store.bucket_settings.put_public_access_block(
        principal_of(request), request.bucket, block
    )
    return Response(200)


async def delete_public_access_block(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.delete_public_access_block(principal_of(request), request.bucket)
    return Response(204)


# --------------------------------------------------------------------------- fixed answers


async def get_request_payment(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.check(
        principal_of(request), request.bucket, Action.READ_SETTING, Setting.REQUEST_PAYMENT
    )
    body = xml.render("RequestPaymentConfiguration", {"Payer": "BucketOwner"})
    return Response(200, [XML], body)


async def put_request_payment(store: Store, request: S3Request) -> Response:
    body = await read_checked_body(request)
    payer = _single_value(xml._parse(body, "RequestPaymentConfiguration"), "Payer")
    if payer not in ("BucketOwner", "Requester"):
        raise xml.malformed()
    if payer == "Requester":
        raise _not_implemented()
    return Response(200)


async def get_accelerate(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.check(
        principal_of(request), request.bucket, Action.READ_SETTING, Setting.ACCELERATE
    )
    return Response(200, [XML], xml.render("AccelerateConfiguration"))


async def put_accelerate(store: Store, request: S3Request) -> Response:
    """Suspended is what the bucket is: accepted; Enabled is NotImplemented."""
    body = await read_checked_body(request)
    status = _single_value(xml._parse(body, "AccelerateConfiguration"), "Status")
    if status not in ("Enabled", "Suspended"):
        raise xml.malformed()
    if status == "Enabled":
        raise _not_implemented()
    return Response(200)


async def get_replication(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.check(
        principal_of(request), request.bucket, Action.READ_SETTING, Setting.REPLICATION
    )
    raise not_found(
        "ReplicationConfigurationNotFoundError",
        "The replication configuration was not found",
        request.bucket,
    )


async def put_replication(store: Store, request: S3Request) -> Response:
    # Refused unread (the router checked the permission): nothing would replicate.
    raise _not_implemented()


async def delete_replication(store: Store, request: S3Request) -> Response:
    await store.bucket_settings.check(
        principal_of(request), request.bucket, Action.DELETE_SETTING, Setting.REPLICATION
    )
    return Response(204)


ROUTES: Routes = {
    "ownershipControls": {
        "GET": get_ownership_controls,
        "PUT": put_ownership_controls,
        "DELETE": delete_ownership_controls,
    },
    "publicAccessBlock": {
        "GET": get_public_access_block,
        "PUT": put_public_access_block,
        "DELETE": delete_public_access_block,
    },
    "requestPayment": {"GET": get_request_payment, "PUT": put_request_payment},
    "accelerate": {"GET": get_accelerate, "PUT": put_accelerate},
    "replication": {
        "GET": get_replication,
        "PUT": put_replication,
        "DELETE": delete_replication,
    },
}
