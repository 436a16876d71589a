"""IAM's wire: the Query protocol's form in, XML documents in IAM's namespace out.

Requests are `application/x-www-form-urlencoded` bodies (`Action=...&...`);
answers are `<{Action}Response>` documents with a `<{Action}Result>` and the
request id, errors an `<ErrorResponse>`, all as AWS IAM writes them. The XML
is written here, never parsed: clients send forms, not XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
VERSION = "2010-05-08"

Value = str | Mapping[str, "Value"] | Sequence["Value"]


def iso(when: float) -> str:
    """IAM's dates: ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def url_encoded(document: str) -> str:
    """A policy document as IAM answers it: URL-encoded (RFC 3986)."""
    return quote(document, safe="")


def _fill(parent: ET.Element, fields: Mapping[str, Value]) -> None:
    for name, value in fields.items():
        child = ET.SubElement(parent, name)
        if isinstance(value, str):
            child.text = value
        elif isinstance(value, Mapping):
            _fill(child, value)
        else:  # a list: IAM writes each item as a <member>
            for item in value:
                member = ET.SubElement(child, "member")
                if isinstance(item, str):
                    member.text = item
                elif isinstance(item, Mapping):
                    _fill(member, item)


def response(action: str, result: Mapping[str, Value] | None, request_id: str) -> bytes:
    root = ET.Element(f"{action}Response", xmlns=NAMESPACE)
    if result is not None:
        _fill(ET.SubElement(root, f"{action}Result"), result)
    _fill(root, {"ResponseMetadata": {"RequestId": request_id}})
    return _document(root)


def error(code: str, message: str, request_id: str, *, sender: bool = True) -> bytes:
    root = ET.Element("ErrorResponse", xmlns=NAMESPACE)
    fields = {"Type": "Sender" if sender else "Receiver", "Code": code, "Message": message}
    _fill(root, {"Error": fields, "RequestId": request_id})
    return _document(root)


def _document(root: ET.Element) -> bytes:
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text
