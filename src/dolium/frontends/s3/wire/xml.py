"""S3 request and response XML.

Parsing: client XML goes through defusedxml (no DTD, no entities, no external
references) and comes out as plain tuples. Namespaces are tolerated: S3's
(http://s3.amazonaws.com/doc/2006-03-01/), another, or none. The caller
reads the body and passes bytes; each parser refuses a body longer than its
limit with MaxMessageLengthExceeded before parsing, and anything the XML
parser rejects (including DTD and entity bombs) is MalformedXML.

Limits (S3 documents the counts, not the byte sizes; the byte limits leave
room for the largest legal request, every character escaped):

- CompleteMultipartUpload: at most 10,000 parts, body at most 16 MiB;
- DeleteObjects: at most 1,000 keys (more is MalformedXML, as in S3), body
  at most 8 MiB;
- other configuration bodies: at most 1 MiB.

Rendering: `render()` builds a response document from nested Python values
by string joining, fast enough for a 1,000-entry listing page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_et

from dolium.frontends.s3.errors import MALFORMED_MESSAGE, S3Error

S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI_XMLNS = "http://www.w3.org/2001/XMLSchema-instance"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

MAX_PARTS = 10_000
MAX_DELETE_KEYS = 1_000
MAX_COMPLETE_MULTIPART_BODY = 16 * 1024 * 1024
MAX_DELETE_OBJECTS_BODY = 8 * 1024 * 1024
MAX_CONFIG_BODY = 1024 * 1024


# ChecksumCRC32 element -> algorithm name as the core spells it.
CHECKSUM_ELEMENTS: dict[str, str] = {
    "ChecksumCRC32": "CRC32",
    "ChecksumCRC32C": "CRC32C",
    "ChecksumCRC64NVME": "CRC64NVME",
    "ChecksumSHA1": "SHA1",
    "ChecksumSHA256": "SHA256",
}


def malformed() -> S3Error:
    return S3Error(400, "MalformedXML", MALFORMED_MESSAGE)


# --------------------------------------------------------------------------- parsing


def _check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise S3Error(400, "MaxMessageLengthExceeded", "Your request was too big.")


def _parse(body: bytes, root: str) -> Element:
    """Parse client XML safely; the root element must be `root` (any namespace)."""
    try:
        element: Element = safe_et.fromstring(body, forbid_dtd=True)
    except (SyntaxError, ValueError, LookupError) as exc:
        # SyntaxError: expat's ParseError; ValueError: defusedxml's refusals
        # and bad encodings; LookupError: an unknown declared encoding.
        raise malformed() from exc
    if _local(element.tag) != root:
        raise malformed()
    return element


def _local(tag: str) -> str:
    """Element name without its "{namespace}"."""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _children(element: Element) -> list[tuple[str, Element]]:
    return [(_local(child.tag), child) for child in element]


def _text(element: Element) -> str:
    return element.text or ""


def parse_list(body: bytes, root: str, item: str) -> list[Element]:
    """The `item` elements of a `root` document that holds nothing else (else MalformedXML)."""
    children = _children(_parse(body, root))
    if any(tag != item for tag, _ in children):
        raise malformed()
    return [child for _, child in children]


def _only(element: Element, name: str) -> Element | None:
    """The single child called `name`, None if absent; MalformedXML if repeated."""
    found = None
    for tag, child in _children(element):
        if tag == name:
            if found is not None:
                raise malformed()
            found = child
    return found


class CompletedPart(NamedTuple):
    """One <Part> of a CompleteMultipartUpload request."""

    number: int
    etag: str  # without quotes
    checksums: dict[str, str]  # algorithm (CRC32, ...) -> base64, as sent


class ObjectToDelete(NamedTuple):
    """One <Object> of a DeleteObjects request."""

    key: str
    version_id: str | None
    # Conditions on the object deleted, as sent (None: absent).
    etag: str | None = None
    last_modified: str | None = None
    size: str | None = None


def _part_number(text: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise malformed()
    return int(text)


def parse_complete_multipart(body: bytes) -> list[CompletedPart]:
    """The parts listed in a CompleteMultipartUpload body, in the order given.

    Order, duplicates and part-number range are for the caller to judge
    (InvalidPartOrder / InvalidPart); no part at all, or more than 10,000, is
    MalformedXML. ETags lose their quotes; checksum values are not decoded.
    """
    _check_size(body, MAX_COMPLETE_MULTIPART_BODY)
    root = _parse(body, "CompleteMultipartUpload")
    parts: list[CompletedPart] = []
    for tag, part in _children(root):
        if tag != "Part":
            continue
        if len(parts) == MAX_PARTS:
            raise malformed()
        fields: dict[str, str] = {}  # one pass over the children: 10,000 parts add up
        for child in part:
            name = _local(child.tag)
            if name in fields:
                raise malformed()
            fields[name] = child.text or ""
        number = fields.pop("PartNumber", None)
        if number is None:
            raise malformed()
        etag = fields.pop("ETag", "").strip().strip('"')
        checksums = {
            CHECKSUM_ELEMENTS[name]: value.strip()
            for name, value in fields.items()
            if name in CHECKSUM_ELEMENTS
        }
        parts.append(CompletedPart(_part_number(number), etag, checksums))
    if not parts:
        raise malformed()
    return parts


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise malformed()


def parse_delete_objects(body: bytes) -> tuple[bool, list[ObjectToDelete]]:
    """(quiet, objects) of a DeleteObjects body.

    Keys are returned exactly as sent (whitespace included); an empty
    <VersionId/> counts as absent. No <Object>, an <Object> without <Key>,
    or more than 1,000 objects is MalformedXML.
    """
    _check_size(body, MAX_DELETE_OBJECTS_BODY)
    root = _parse(body, "Delete")
    quiet_el = _only(root, "Quiet")
    quiet = _boolean(_text(quiet_el)) if quiet_el is not None else False
    objects: list[ObjectToDelete] = []
    for tag, obj in _children(root):
        if tag != "Object":
            continue
        if len(objects) == MAX_DELETE_KEYS:
            raise malformed()
        key_el = _only(obj, "Key")
        if key_el is None:
            raise malformed()
        version_el = _only(obj, "VersionId")
        version_id = _text(version_el) if version_el is not None else ""
        given = [_only(obj, name) for name in ("ETag", "LastModifiedTime", "Size")]
        etag, modified, size = (_text(el) if el is not None else None for el in given)
        objects.append(ObjectToDelete(_text(key_el), version_id or None, etag, modified, size))
    if not objects:
        raise malformed()
    return quiet, objects


def parse_create_bucket(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucket body; None for no body or no constraint."""
    if not body.strip():
        return None
    _check_size(body, MAX_CONFIG_BODY)
    root = _parse(body, "CreateBucketConfiguration")
    location = _only(root, "LocationConstraint")
    if location is None:
        return None
    return _text(location).strip() or None


def parse_versioning(body: bytes) -> tuple[str, str]:
    """(Status, MfaDelete) of a VersioningConfiguration; empty strings when absent."""
    _check_size(body, MAX_CONFIG_BODY)
    root = _parse(body, "VersioningConfiguration")
    status = _only(root, "Status")
    mfa = _only(root, "MfaDelete")
    return (
        _text(status).strip() if status is not None else "",
        _text(mfa).strip() if mfa is not None else "",
    )


def parse_tagging(body: bytes) -> list[tuple[str, str]]:
    """The (Key, Value) pairs of a Tagging body, in order and exactly as sent.

    Tagging needs one TagSet, and each Tag one Key and one Value (either may
    be empty; the rules on tags are the core's). Anything else is MalformedXML.
    """
    _check_size(body, MAX_CONFIG_BODY)
    root = _parse(body, "Tagging")
    tag_set = _only(root, "TagSet")
    if tag_set is None:
        raise malformed()
    tags: list[tuple[str, str]] = []
    for tag, element in _children(tag_set):
        if tag != "Tag":
            raise malformed()
        key, value = _only(element, "Key"), _only(element, "Value")
        if key is None or value is None:
            raise malformed()
        tags.append((_text(key), _text(value)))
    return tags


# --------------------------------------------------------------------------- rendering


# What an element may contain:
# - None: the element is left out (inside a mapping) or empty;
# - str / int / bool: text (bools as "true"/"false");
# - a mapping: child elements in insertion order; a list value repeats the
#   element once per item;
# - a sequence of (tag, content) pairs: child elements in exactly that order,
#   for documents that interleave tags (Version / DeleteMarker);
# - Elem: attributes plus any of the above.
# Nested content is typed loosely (Any): mypy 2.4 crashes on the recursive
# alias this wants to be when it checks the module without a cache.
XmlContent: TypeAlias = (
    "str | int | bool | Elem | Mapping[str, Any] | Sequence[tuple[str, Any]] | None"
)


@dataclass(frozen=True, slots=True)
class Elem:
    """Content with attributes: `{"Grantee": Elem({"xsi:type": "CanonicalUser"}, {...})}`."""

    attrs: Mapping[str, str]
    content: XmlContent = None


class Raw(str):
    """Content already rendered as XML, its text escaped (`escape`): emitted as
    it is. For the entries of a listing page, a thousand of which would cost
    the generic walk several milliseconds."""


# One child element, as (tag, content); a list of them is ordered content.
Node: TypeAlias = "tuple[str, XmlContent]"
# A text transform applied to keys and prefixes (identity, or URL-encoding).
Encode: TypeAlias = Callable[[str], str]

_ESCAPES: dict[int, str] = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}
# Characters XML 1.0 cannot carry literally (or that parsing would normalise
# away, like CR) go out as character references, as S3 writes them.
_ESCAPES.update({c: f"&#x{c:X};" for c in range(0x20) if c not in (0x09, 0x0A)})
# In attributes, tab and newline would be normalised to spaces as well.
_ATTR_ESCAPES = {**_ESCAPES, ord('"'): "&quot;", 0x09: "&#x9;", 0x0A: "&#xA;"}
_NEEDS_ESCAPE = frozenset(chr(c) for c in _ESCAPES)


def escape(text: str) -> str:
    """Text content escaped for XML."""
    if _NEEDS_ESCAPE.isdisjoint(text):
        return text
    return text.translate(_ESCAPES)


def _emit(out: list[str], tag: str, content: XmlContent) -> None:
    attrs = ""
    if isinstance(content, Elem):
        attrs = "".join(f' {k}="{v.translate(_ATTR_ESCAPES)}"' for k, v in content.attrs.items())
        content = content.content
    if content is None:
        out.append(f"<{tag}{attrs}/>")
        return
    out.append(f"<{tag}{attrs}>")
    _emit_content(out, content)
    out.append(f"</{tag}>")


def _emit_content(out: list[str], content: XmlContent) -> None:
    if isinstance(content, str):
        out.append(content if isinstance(content, Raw) else escape(content))
    elif isinstance(content, bool):
        out.append("true" if content else "false")
    elif isinstance(content, int):
        out.append(str(content))
    elif isinstance(content, Mapping):
        for tag, value in content.items():
            if value is None:
                continue
            if isinstance(value, list):
                for item in value:
                    _emit(out, tag, item)
            else:
                _emit(out, tag, value)
    elif isinstance(content, Elem):
        raise TypeError("Elem must be the direct value of a tag")
    elif content is not None:
        for tag, value in content:
            _emit(out, tag, value)


def fragment(content: XmlContent) -> str:
    """`content` rendered as XML, without a declaration or root: to go in a Raw."""
    out: list[str] = []
    _emit_content(out, content)
    return "".join(out)


def render(root: str, content: XmlContent = None, *, xmlns: str | None = S3_XMLNS) -> bytes:
    """A complete response document: declaration, then `root` (with xmlns) and content."""
    out = [XML_DECLARATION]
    attrs = {"xmlns": xmlns} if xmlns else {}
    if isinstance(content, Elem):
        attrs.update(content.attrs)
        content = content.content
    _emit(out, root, Elem(attrs, content) if attrs else content)
    return "".join(out).encode("utf-8", "replace")


def error_xml(
    code: str,
    message: str,
    resource: str = "",
    request_id: str = "",
    host_id: str = "",
    **extra: str | int,
) -> bytes:
    """An S3 <Error> document: Code, Message, extra fields, Resource, RequestId, HostId.

    Like S3's, it carries no namespace.
    """
    body: dict[str, XmlContent] = {"Code": code, "Message": message}
    body.update(extra)
    if resource:
        body["Resource"] = resource
    body["RequestId"] = request_id
    if host_id:
        body["HostId"] = host_id
    return render("Error", body, xmlns=None)
