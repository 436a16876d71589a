"""S3 lifecycle: Get/PutBucketLifecycleConfiguration and DeleteBucketLifecycle.

The XML is read against S3's schema here (unknown or repeated elements, bad
numbers, dates or booleans are MalformedXML); S3's rules about the values are
checked at the S3 edge (`rules.lifecycle`), where the core approves a
configuration. A rule reads back in the form it was given: with its
rule-level <Prefix> or its <Filter>, and with an ID made up for it when it
was given none.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

from dolium.core.buckets.lifecycle import (
    Expiration,
    Filter,
    FilterKind,
    NoncurrentExpiration,
    Rule,
    Transition,
)
from dolium.core.store import Store
from dolium.errors import InvalidArgument, NotSupported
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import (
    XML,
    Routes,
    invalid_argument,
    new_rule_id,
    not_found,
    read_checked_body,
)
from dolium.frontends.s3.rules.lifecycle import check_lifecycle
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request

_RULE_SINGLES = frozenset(
    {
        "ID",
        "Status",
        "Prefix",
        "Filter",
        "Expiration",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    }
)
_TRANSITIONS = ("Transition", "NoncurrentVersionTransition")


# --------------------------------------------------------------------------- parsing


def parse_lifecycle(body: bytes) -> list[Rule]:
    return [_parse_rule(e) for e in xml.parse_list(body, "LifecycleConfiguration", "Rule")]


def _fields(element: Element, allowed: frozenset[str] | tuple[str, ...]) -> dict[str, Element]:
    """The children of `element`, each allowed and given at most once."""
    found: dict[str, Element] = {}
    for tag, child in xml._children(element):
        if tag not in allowed or tag in found:
            raise xml.malformed()
        found[tag] = child
    return found


def _int(element: Element | None) -> int | None:
    if element is None:
        return None
    text = xml._text(element).strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise xml.malformed()
    return int(text)


def _date(element: Element | None) -> float | None:
    if element is None:
        return None
    try:
        when = datetime.fromisoformat(xml._text(element).strip())
    except ValueError:
        raise xml.malformed() from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _tag(element: Element) -> tuple[str, str]:
    fields = _fields(element, ("Key", "Value"))
    if "Key" not in fields or "Value" not in fields:
        raise xml.malformed()
    return xml._text(fields["Key"]), xml._text(fields["Value"])


def _parse_rule(element: Element) -> Rule:
    singles: dict[str, Element] = {}
    transitions: list[Transition] = []
    for tag, child in xml._children(element):
        if tag in _TRANSITIONS:
            transitions.append(_parse_transition(child, tag == _TRANSITIONS[1]))
        elif tag in _RULE_SINGLES and tag not in singles:
            singles[tag] = child
        else:
            raise xml.malformed()
    status = singles.get("Status")
    if status is None or xml._text(status).strip() not in ("Enabled", "Disabled"):
        raise xml.malformed()
    prefix = singles.get("Prefix")
    filter_el = singles.get("Filter")
    abort_days = None
    if "AbortIncompleteMultipartUpload" in singles:
        abort = _fields(singles["AbortIncompleteMultipartUpload"], ("DaysAfterInitiation",))
        abort_days = _int(abort.get("DaysAfterInitiation"))
        if abort_days is None:
            raise xml.malformed()
    rule_id = singles.get("ID")
    return Rule(
        # An empty ID is no ID: S3 makes one up for either.
        id=(xml._text(rule_id) if rule_id is not None else "") or new_rule_id(),
        enabled=xml._text(status).strip() == "Enabled",
        prefix=xml._text(prefix) if prefix is not None else None,
        filter=_parse_filter(filter_el) if filter_el is not None else None,
        expiration=_parse_expiration(singles.get("Expiration")),
        noncurrent=_parse_noncurrent(singles.get("NoncurrentVersionExpiration")),
        abort_days=abort_days,
        transitions=tuple(transitions),
    )


def _parse_filter(element: Element) -> Filter:
    children = xml._children(element)
    if not children:
        return Filter()
    if len(children) > 1:
        raise xml.malformed()
    tag, child = children[0]
    if tag == "Prefix":
        return Filter(FilterKind.PREFIX, prefix=xml._text(child))
    if tag == "Tag":
        return Filter(FilterKind.TAG, tags=(_tag(child),))
    if tag == "ObjectSizeGreaterThan":
        return Filter(FilterKind.GREATER, size_greater=_int(child))
    if tag == "ObjectSizeLessThan":
        return Filter(FilterKind.LESS, size_less=_int(child))
    if tag != "And":
        raise xml.malformed()
    prefix: str | None = None
    tags: list[tuple[str, str]] = []
    sizes: dict[str, int | None] = {}
    for name, part in xml._children(child):
        if name == "Tag":
            tags.append(_tag(part))
        elif name == "Prefix" and prefix is None:
            prefix = xml._text(part)
        elif name in ("ObjectSizeGreaterThan", "ObjectSizeLessThan") and name not in sizes:
            sizes[name] = _int(part)
        else:
            raise xml.malformed()
    return Filter(
        FilterKind.AND,
        prefix=prefix,
        tags=tuple(tags),
        size_greater=sizes.get("ObjectSizeGreaterThan"),
        size_less=sizes.get("ObjectSizeLessThan"),
    )


def _parse_expiration(element: Element | None) -> Expiration | None:
    if element is None:
        return None
    fields = _fields(element, ("Days", "Date", "ExpiredObjectDeleteMarker"))
    marker = fields.get("ExpiredObjectDeleteMarker")
    return Expiration(
        days=_int(fields.get("Days")),
        date=_date(fields.get("Date")),
        expired_object_delete_marker=xml._boolean(xml._text(marker))
        if marker is not None
        else None,
    )


def _parse_noncurrent(element: Element | None) -> NoncurrentExpiration | None:
    if element is None:
        return None
    fields = _fields(element, ("NoncurrentDays", "NewerNoncurrentVersions"))
    return NoncurrentExpiration(
        days=_int(fields.get("NoncurrentDays")),
        newer_versions=_int(fields.get("NewerNoncurrentVersions")),
    )


def _parse_transition(element: Element, noncurrent: bool) -> Transition:
    names = (
        ("NoncurrentDays", "NewerNoncurrentVersions", "StorageClass")
        if noncurrent
        else ("Days", "Date", "StorageClass")
    )
    fields = _fields(element, names)
    storage_class = fields.get("StorageClass")
    return Transition(
        storage_class=xml._text(storage_class).strip() if storage_class is not None else "",
        days=_int(fields.get("NoncurrentDays" if noncurrent else "Days")),
        date=_date(fields.get("Date")),
        newer_versions=_int(fields.get("NewerNoncurrentVersions")),
        noncurrent=noncurrent,
    )


# --------------------------------------------------------------------------- rendering


def _date_text(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(when))


def _filter_xml(f: Filter) -> Any:
    tags = [{"Key": k, "Value": v} for k, v in f.tags]
    if f.kind is FilterKind.ALL:
        return None
    if f.kind is FilterKind.PREFIX:
        return {"Prefix": f.prefix or ""}
    if f.kind is FilterKind.TAG:
        return {"Tag": tags[0]}
    if f.kind is FilterKind.GREATER:
        return {"ObjectSizeGreaterThan": f.size_greater}
    if f.kind is FilterKind.LESS:
        return {"ObjectSizeLessThan": f.size_less}
    return {
        "And": {
            "Prefix": f.prefix,
            "Tag": tags,
            "ObjectSizeGreaterThan": f.size_greater,
            "ObjectSizeLessThan": f.size_less,
        }
    }


def _rule_xml(rule: Rule) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [("ID", rule.id or "")]
    if rule.filter is not None:
        out.append(("Filter", _filter_xml(rule.filter)))
    else:
        out.append(("Prefix", rule.prefix or ""))
    out.append(("Status", "Enabled" if rule.enabled else "Disabled"))
    exp = rule.expiration
    if exp is not None:
        out.append(
            (
                "Expiration",
                {
                    "Date": _date_text(exp.date) if exp.date is not None else None,
                    "Days": exp.days,
                    "ExpiredObjectDeleteMarker": exp.expired_object_delete_marker,
                },
            )
        )
    nc = rule.noncurrent
    if nc is not None:
        out.append(
            (
                "NoncurrentVersionExpiration",
                {"NoncurrentDays": nc.days, "NewerNoncurrentVersions": nc.newer_versions},
            )
        )
    if rule.abort_days is not None:
        out.append(("AbortIncompleteMultipartUpload", {"DaysAfterInitiation": rule.abort_days}))
    return out


def render_lifecycle(rules: tuple[Rule, ...]) -> bytes:
    return xml.render("LifecycleConfiguration", [("Rule", _rule_xml(r)) for r in rules])


# --------------------------------------------------------------------------- handlers


async def get_lifecycle(store: Store, request: S3Request) -> Response:
    rules = await store.lifecycle.get(principal_of(request), request.bucket)
    if rules is None:
        raise not_found(
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
            request.bucket,
        )
    return Response(200, [XML], render_lifecycle(rules))


async def put_lifecycle(store: Store, request: S3Request) -> Response:
    body = await read_checked_body(request)
    rules = parse_lifecycle(body)
    try:
        await store.lifecycle.put(
            principal_of(request), request.bucket, rules, approve=check_lifecycle
        )
    except InvalidArgument as exc:
        raise invalid_argument(exc) from exc
    except NotSupported as exc:
        # A 501 whose message says what is missing (server errors hide theirs).
        raise S3Error(501, "NotImplemented", exc.message) from exc
    return Response(200)


async def delete_lifecycle(store: Store, request: S3Request) -> Response:
    await store.lifecycle.delete(principal_of(request), request.bucket)
    return Response(204)


ROUTES: Routes = {
    "lifecycle": {"GET": get_lifecycle, "PUT": put_lifecycle, "DELETE": delete_lifecycle}
}
