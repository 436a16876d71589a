"""Listings of an account's containers and a container's objects: text, JSON, XML.

The format is `?format=` (plain, json, xml), else the Accept header, else
plain text: one name per line. JSON and XML carry the fields Swift's own
servers send, in their forms: `last_modified` as ISO 8601 with microseconds
and no zone, `hash` the bare MD5 ETag, `subdir` entries for rolled-up
prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

PLAIN = "plain"
JSON = "json"
XML = "xml"

CONTENT_TYPES = {
    PLAIN: "text/plain; charset=utf-8",
    JSON: "application/json; charset=utf-8",
    XML: "application/xml; charset=utf-8",
}


def listing_format(query: Mapping[str, str], accept: str) -> str:
    asked = query.get("format", "").lower()
    if asked in (JSON, XML, PLAIN):
        return asked
    accept = accept.lower()
    if "application/json" in accept:
        return JSON
    if "application/xml" in accept or "text/xml" in accept:
        return XML
    return PLAIN


def swift_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def x_timestamp(seconds: float) -> str:
    """Swift's X-Timestamp: seconds with five decimals."""
    return f"{seconds:016.5f}"


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    name: str
    hash: str
    bytes: int
    content_type: str
    last_modified: float
    # A symlink's target, "/v1/AUTH_<t>/<c>/<o>"; "" for other objects.
    symlink_path: str = ""
    # Pithos' fields, shown in JSON and XML when the version is known.
    version: str = ""
    modified_by: str = ""
    uuid: str = ""
    # The Pithos top hash (hex); "" while unknown (computed by `?hashmap`).
    top_hash: str = ""


def pithos_fields(entry: ObjectEntry) -> dict[str, str]:
    """Pithos' x_object_* fields of an entry: its top hash, the version id,
    when (Unix seconds, as a string) and by whom it was written, the path's
    UUID."""
    if not entry.version:
        return {}
    fields = {
        "x_object_hash": entry.top_hash,
        "x_object_version": entry.version,
        "x_object_version_timestamp": f"{entry.last_modified:.6f}",
        "x_object_modified_by": entry.modified_by,
    }
    if entry.uuid:
        fields["x_object_uuid"] = entry.uuid
    return fields


@dataclass(frozen=True, slots=True)
class ContainerEntry:
    name: str
    count: int
    bytes: int
    last_modified: float


Entry = ObjectEntry | ContainerEntry | str  # a str is a subdir (rolled-up prefix)


def entry_name(entry: Entry) -> str:
    return entry if isinstance(entry, str) else entry.name


def render(fmt: str, kind: str, name: str, entries: Sequence[Entry]) -> bytes:
    """The body of a listing; `kind` is "account" or "container", `name` its name."""
    if fmt == JSON:
        return json.dumps([_json(e) for e in entries], ensure_ascii=False).encode()
    if fmt == XML:
        return _xml(kind, name, entries).encode()
    return "".join(entry_name(e) + "\n" for e in entries).encode()


def _json(entry: Entry) -> dict[str, object]:
    if isinstance(entry, str):
        return {"subdir": entry}
    if isinstance(entry, ObjectEntry):
        shown: dict[str, object] = {
            "hash": entry.hash,
            "last_modified": swift_time(entry.last_modified),
            "bytes": entry.bytes,
            "name": entry.name,
            "content_type": entry.content_type,
        }
        if entry.symlink_path:
            shown["symlink_path"] = entry.symlink_path
        shown.update(pithos_fields(entry))
        return shown
    return {
        "name": entry.name,
        "count": entry.count,
        "bytes": entry.bytes,
        "last_modified": swift_time(entry.last_modified),
    }


def _xml(kind: str, name: str, entries: Sequence[Entry]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<{kind} name={quoteattr(name)}>"]
    for entry in entries:
        if isinstance(entry, str):
            out.append(f"<subdir name={quoteattr(entry)}><name>{escape(entry)}</name></subdir>")
        elif isinstance(entry, ObjectEntry):
            out.append(
                f"<object><name>{escape(entry.name)}</name><hash>{entry.hash}</hash>"
                f"<bytes>{entry.bytes}</bytes>"
                f"<content_type>{escape(entry.content_type)}</content_type>"
                f"<last_modified>{swift_time(entry.last_modified)}</last_modified>"
                + (
                    f"<symlink_path>{escape(entry.symlink_path)}</symlink_path>"
                    if entry.symlink_path
                    else ""
                )
                + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in pithos_fields(entry).items())
                + "</object>"
            )
        else:
            out.append(
                f"<container><name>{escape(entry.name)}</name><count>{entry.count}</count>"
                f"<bytes>{entry.bytes}</bytes>"
                f"<last_modified>{swift_time(entry.last_modified)}</last_modified></container>"
            )
    out.append(f"</{kind}>")
    return "".join(out)
