"""BucketLoggingStatus: the document of Put/GetBucketLogging, both ways."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from dolium.core.access.acl import Grantee
from dolium.core.buckets.access_logging import (
    PARTITIONED_DELIVERY,
    PARTITIONED_EVENT,
    SIMPLE,
    LoggingConfig,
    TargetGrant,
)
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.acl_xml import _grantee, _parse_grantee

LOGGING_XMLNS = "http://doc.s3.amazonaws.com/2006-03-01"
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE")


def _text_of(element: Element, name: str) -> str | None:
    child = xml._only(element, name)
    return None if child is None else xml._text(child).strip()


def parse(body: bytes) -> LoggingConfig | None:
    """The configuration asked for; None for an empty status (logging off)."""
    root = xml._parse(body, "BucketLoggingStatus")
    enabled = xml._only(root, "LoggingEnabled")
    if enabled is None:
        return None
    target = _text_of(enabled, "TargetBucket")
    prefix = _text_of(enabled, "TargetPrefix")
    if not target or prefix is None:
        raise xml.malformed()
    grants: list[TargetGrant] = []
    grants_element = xml._only(enabled, "TargetGrants")
    for tag, grant in xml._children(grants_element) if grants_element is not None else []:
        if tag != "Grant":
            raise xml.malformed()
        grantee_element = xml._only(grant, "Grantee")
        permission = _text_of(grant, "Permission")
        if grantee_element is None or permission not in PERMISSIONS:
            raise xml.malformed()
        grantee = _parse_grantee(grantee_element)
        grants.append(TargetGrant(grantee.kind, grantee.id, permission))
    return LoggingConfig(target, prefix, tuple(grants), _key_format(enabled))


def _key_format(enabled: Element) -> str:
    element = xml._only(enabled, "TargetObjectKeyFormat")
    if element is None:
        return SIMPLE
    simple = xml._only(element, "SimplePrefix")
    partitioned = xml._only(element, "PartitionedPrefix")
    if (simple is None) == (partitioned is None):
        raise xml.malformed()
    if partitioned is None:
        return SIMPLE
    source = _text_of(partitioned, "PartitionDateSource") or PARTITIONED_EVENT
    if source not in (PARTITIONED_EVENT, PARTITIONED_DELIVERY):
        raise S3Error(400, "InvalidArgument", f"Invalid PartitionDateSource: {source}")
    return source


def render(config: LoggingConfig | None) -> bytes:
    if config is None:
        return xml.render("BucketLoggingStatus", xmlns=LOGGING_XMLNS)
    enabled: dict[str, xml.XmlContent] = {
        "TargetBucket": config.target_bucket,
        "TargetPrefix": config.target_prefix,
    }
    if config.grants:
        enabled["TargetGrants"] = [
            ("Grant", {"Grantee": _grantee(Grantee(g.kind, g.id)), "Permission": g.permission})
            for g in config.grants
        ]
    if config.key_format == SIMPLE:
        enabled["TargetObjectKeyFormat"] = {"SimplePrefix": ""}
    else:
        partitioned = {"PartitionDateSource": config.key_format}
        enabled["TargetObjectKeyFormat"] = {"PartitionedPrefix": partitioned}
    return xml.render("BucketLoggingStatus", {"LoggingEnabled": enabled}, xmlns=LOGGING_XMLNS)
