"""S3 Object Lock: Get/PutObjectLockConfiguration (?object-lock on a bucket) and
Get/PutObjectRetention, Get/PutObjectLegalHold (?retention, ?legal-hold on an
object, with versionId).

The three PUTs need Content-MD5 or a checksum, as botocore's model says S3
requires. A version that has neither retention nor legal hold answers 404
NoSuchObjectLockConfiguration to both GETs; once it has either, GetObjectLegalHold
answers ON or OFF.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from xml.etree.ElementTree import Element

from dolium.core.objects.object_lock import DefaultRetention
from dolium.core.store import Store
from dolium.errors import InvalidArgument, Problem
from dolium.frontends.s3.errors import S3Error, s3_message
from dolium.frontends.s3.ops.objects import bypass_governance, principal_of
from dolium.frontends.s3.ops.subresources import (
    XML,
    Handler,
    Routes,
    not_found,
    on_version,
    read_checked_body,
)
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.headers import iso_date, parse_timestamp
from dolium.frontends.s3.wire.http import Response, S3Request
from dolium.model import LockMode, ObjectVersion

MODES = frozenset({LockMode.GOVERNANCE.value, LockMode.COMPLIANCE.value})


def _child_text(element: Element, name: str) -> str | None:
    child = xml._only(element, name)
    return None if child is None else xml._text(child).strip()


# The element S3 names for each value the core says was wrong.
ARGUMENT_NAMES = {"days": "Days", "years": "Years", "until": "RetainUntilDate"}


# A default retention period that is not positive or too long: S3's own code for it.
PERIOD_PROBLEMS = (Problem.RETENTION_NOT_POSITIVE, Problem.RETENTION_TOO_LONG)


def argument_error(exc: InvalidArgument) -> S3Error:
    """InvalidArgument with the ArgumentName S3 names, when the core said which; a bad
    default retention period is InvalidRetentionPeriod, as S3 answers it."""
    if exc.problem in PERIOD_PROBLEMS:
        return S3Error(400, "InvalidRetentionPeriod", s3_message(exc))
    argument = exc.context.get("argument")
    if argument is None:
        return S3Error(400, "InvalidArgument", s3_message(exc))
    name = ARGUMENT_NAMES.get(str(argument), str(argument))
    return S3Error(400, "InvalidArgument", s3_message(exc), ArgumentName=name)


# --------------------------------------------------------------------------- bucket


def parse_lock_configuration(body: bytes) -> DefaultRetention | None:
    """The default retention of an ObjectLockConfiguration (None: no Rule).

    ObjectLockEnabled must say Enabled; a Rule must hold a DefaultRetention
    with a mode and exactly one of Days or Years. Anything else is MalformedXML.
    """
    root = xml._parse(body, "ObjectLockConfiguration")
    if _child_text(root, "ObjectLockEnabled") != "Enabled":
        raise xml.malformed()
    rule = xml._only(root, "Rule")
    if rule is None:
        return None
    retention = xml._only(rule, "DefaultRetention")
    if retention is None:
        raise xml.malformed()
    mode = _child_text(retention, "Mode")
    days, years = _child_text(retention, "Days"), _child_text(retention, "Years")
    if mode not in MODES or (days is None) == (years is None):
        raise xml.malformed()
    period = days if days is not None else years
    assert period is not None
    try:
        value = int(period)
    except ValueError:
        raise xml.malformed() from None
    if days is not None:
        return DefaultRetention(LockMode(mode), days=value)
    return DefaultRetention(LockMode(mode), years=value)


def _period_error(default: DefaultRetention) -> None:
    """A zero or negative period would read as "no period" to the core: refuse it here."""
    value = default.days if default.days else default.years
    if value <= 0:
        raise S3Error(
            400,
            "InvalidRetentionPeriod",
            "Default retention period must be a positive integer value.",
        )


async def get_lock_configuration(store: Store, request: S3Request) -> Response:
    enabled, default = await store.object_lock.get_config(principal_of(request), request.bucket)
    if not enabled:
        raise not_found(
            "ObjectLockConfigurationNotFoundError",
            "Object Lock configuration does not exist for this bucket",
            request.bucket,
        )
    content: list[xml.Node] = [("ObjectLockEnabled", "Enabled")]
    if default is not None:
        period = ("Days", default.days) if default.days else ("Years", default.years)
        content.append(("Rule", [("DefaultRetention", [("Mode", default.mode.value), period])]))
    return Response(200, [XML], xml.render("ObjectLockConfiguration", content))


async def put_lock_configuration(store: Store, request: S3Request) -> Response:
    default = parse_lock_configuration(await read_checked_body(request))
    if default is not None:
        _period_error(default)
    try:
        await store.object_lock.put_config(principal_of(request), request.bucket, default)
    except InvalidArgument as exc:
        raise argument_error(exc) from exc
    return Response(200)


ROUTES: Routes = {
    "object-lock": {"GET": get_lock_configuration, "PUT": put_lock_configuration},
}


# --------------------------------------------------------------------------- object


def _no_lock() -> S3Error:
    return S3Error(
        404,
        "NoSuchObjectLockConfiguration",
        "The specified object does not have a ObjectLock configuration",
    )


async def _on_version(
    request: S3Request, call: Callable[[str | None], Awaitable[ObjectVersion]]
) -> ObjectVersion:
    try:
        return await on_version(request, call)
    except InvalidArgument as exc:
        raise argument_error(exc) from exc


def parse_retention(body: bytes) -> tuple[LockMode, float]:
    """(mode, retain-until) of a Retention document; (NONE, 0) when it is empty."""
    root = xml._parse(body, "Retention")
    mode = _child_text(root, "Mode")
    until = _child_text(root, "RetainUntilDate")
    if mode is None and until is None:
        return LockMode.NONE, 0.0
    if mode not in MODES or until is None:
        raise xml.malformed()
    at = parse_timestamp(until)
    if at is None:
        raise xml.malformed()
    return LockMode(mode), at


async def get_retention(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    version = await _on_version(
        request,
        lambda v: store.object_lock.get_retention(principal, request.bucket, request.key, v),
    )
    lock = version.lock
    if lock.mode is LockMode.NONE:
        raise _no_lock()
    content = [("Mode", lock.mode.value), ("RetainUntilDate", iso_date(lock.until))]
    return Response(200, [XML], xml.render("Retention", content))


async def put_retention(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    mode, until = parse_retention(await read_checked_body(request))
    bypass = bool(bypass_governance(request))
    await _on_version(
        request,
        lambda v: store.object_lock.put_retention(
            principal, request.bucket, request.key, mode, until, version_id=v, bypass=bypass
        ),
    )
    return Response(200)


def parse_legal_hold(body: bytes) -> bool:
    root = xml._parse(body, "LegalHold")
    status = _child_text(root, "Status")
    if status not in ("ON", "OFF"):
        raise xml.malformed()
    return status == "ON"


async def get_legal_hold(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    version = await _on_version(
        request,
        lambda v: store.object_lock.get_legal_hold(principal, request.bucket, request.key, v),
    )
    if version.lock.legal_hold is None:
        raise _no_lock()  # never placed; one placed and lifted answers OFF
    status = "ON" if version.lock.legal_hold else "OFF"
    return Response(200, [XML], xml.render("LegalHold", [("Status", status)]))


async def put_legal_hold(store: Store, request: S3Request) -> Response:
    principal = principal_of(request)
    on = parse_legal_hold(await read_checked_body(request))
    await _on_version(
        request,
        lambda v: store.object_lock.put_legal_hold(principal, request.bucket, request.key, on, v),
    )
    return Response(200)


OBJECT_ROUTES: Mapping[str, Mapping[str, Handler]] = {
    "retention": {"GET": get_retention, "PUT": put_retention},
    "legal-hold": {"GET": get_legal_hold, "PUT": put_legal_hold},
}
