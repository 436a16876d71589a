"""S3 event notifications: Get/PutBucketNotificationConfiguration.

The XML is read against S3's schema here (unknown or repeated elements, a
configuration without its destination or events are MalformedXML); S3's
rules about event types and overlapping filters are checked at the S3 edge
(`rules.notifications`), where the core approves a configuration; the
destinations are the core's (`dolium.core.buckets.notifications`). A
configuration reads back in the
element it was given in (Topic, Queue or CloudFunction), with an Id made up
for it when it was given none, and its filter rules named Prefix and Suffix.

EventBridge has no counterpart in Dolium: a configuration that asks for it
is refused rather than stored and ignored.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from dolium.core.buckets.notifications import NotificationRule
from dolium.core.store import Store
from dolium.errors import InvalidArgument
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import principal_of
from dolium.frontends.s3.ops.subresources import XML, Routes, new_rule_id
from dolium.frontends.s3.rules.notifications import UNVALIDATED, check_notification
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.http import Response, S3Request, read_small_body

ROOT = "NotificationConfiguration"
MAX_FILTER_VALUE = 1024  # a key's length
# The kinds of destination, as the elements that hold a rule name them.
KINDS = ("Topic", "Queue", "CloudFunction")


# --------------------------------------------------------------------------- parsing


def parse_notification(body: bytes) -> list[NotificationRule]:
    root = xml._parse(body, ROOT)
    rules: list[NotificationRule] = []
    for tag, element in xml._children(root):
        if tag == "EventBridgeConfiguration":
            raise S3Error(
                501, "NotImplemented", "EventBridge destinations are not supported by this server"
            )
        kind = tag.removesuffix("Configuration")
        if kind == tag or kind not in KINDS:
            raise xml.malformed()
        rules.append(_parse_rule(kind, element))
    return rules


def _parse_rule(kind: str, element: Element) -> NotificationRule:
    rule_id: str | None = None
    arn: str | None = None
    events: list[str] = []
    prefix: str | None = None
    suffix: str | None = None
    seen_filter = False
    for tag, child in xml._children(element):
        if tag == "Id" and rule_id is None:
            rule_id = xml._text(child).strip()
        elif tag == kind and arn is None:
            arn = xml._text(child).strip()
        elif tag == "Event":
            events.append(xml._text(child).strip())
        elif tag == "Filter" and not seen_filter:
            seen_filter = True
            prefix, suffix = _parse_filter(child)
        else:
            raise xml.malformed()
    if not arn or not events:
        raise xml.malformed()
    return NotificationRule(
        id=rule_id or new_rule_id(),
        kind=kind,
        arn=arn,
        events=tuple(dict.fromkeys(events)),
        prefix=prefix,
        suffix=suffix,
    )


def _parse_filter(element: Element) -> tuple[str | None, str | None]:
    values: dict[str, str] = {}
    for tag, key_filter in xml._children(element):
        if tag != "S3Key":
            raise xml.malformed()
        for rule_tag, rule in xml._children(key_filter):
            if rule_tag != "FilterRule":
                raise xml.malformed()
            fields = {t: xml._text(c) for t, c in xml._children(rule)}
            if set(fields) - {"Name", "Value"} or len(xml._children(rule)) != len(fields):
                raise xml.malformed()
            name = fields.get("Name", "").strip().lower()
            if name not in ("prefix", "suffix"):
                raise S3Error(
                    400, "InvalidArgument", "filter rule name must be either prefix or suffix"
                )
            if name in values:
                raise S3Error(
                    400, "InvalidArgument", f"Cannot specify more than one {name} rule in a filter."
                )
            value = fields.get("Value", "")
            if len(value.encode()) > MAX_FILTER_VALUE:
                raise S3Error(
                    400, "InvalidArgument", f"The {name} filter value is longer than a key can be."
                )
            values[name] = value
    return values.get("prefix"), values.get("suffix")


# --------------------------------------------------------------------------- rendering


def render_notification(rules: tuple[NotificationRule, ...]) -> bytes:
    nodes: list[xml.Node] = []
    for kind in KINDS:  # S3 lists Topic, then Queue, then CloudFunction configurations
        for rule in (r for r in rules if r.kind == kind):
            fields: list[xml.Node] = [("Id", rule.id), (kind, rule.arn)]
            fields.extend(("Event", event) for event in rule.events)
            filter_rules: list[xml.Node] = [
                ("FilterRule", [("Name", name), ("Value", value)])
                for name, value in (("Prefix", rule.prefix), ("Suffix", rule.suffix))
                if value is not None
            ]
            if filter_rules:
                fields.append(("Filter", [("S3Key", filter_rules)]))
            nodes.append((f"{kind}Configuration", fields))
    return xml.render(ROOT, nodes)


# --------------------------------------------------------------------------- handlers


async def get_notification(store: Store, request: S3Request) -> Response:
    rules = await store.notifications.get(principal_of(request), request.bucket)
    return Response(200, [XML], render_notification(rules))


async def put_notification(store: Store, request: S3Request) -> Response:
    body = await read_small_body(request, xml.MAX_CONFIG_BODY)
    rules = parse_notification(body)
    skip = (request.header("x-amz-skip-destination-validation") or "").lower() == "true"
    try:
        await store.notifications.put(
            principal_of(request),
            request.bucket,
            rules,
            check_destinations=not skip,
            approve=check_notification,
        )
    except InvalidArgument as exc:
        destinations = exc.context.get("destinations")
        if not isinstance(destinations, dict):
            raise
        # S3 names each destination it could not validate, and why.
        fields: dict[str, str] = {}
        for n, (arn, reason) in enumerate(destinations.items(), start=1):
            fields[f"ArgumentName{n}"] = str(arn)
            fields[f"ArgumentValue{n}"] = str(reason)
        error = S3Error(400, "InvalidArgument", UNVALIDATED)
        error.fields = fields
        raise error from None
    return Response(200)


ROUTES: Routes = {"notification": {"GET": get_notification, "PUT": put_notification}}
