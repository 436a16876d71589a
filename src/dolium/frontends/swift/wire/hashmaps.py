"""Pithos hashmaps on the wire: the JSON a client PUTs, and the JSON, XML or
text the server answers with.

JSON is the default, as in Pithos, for `GET ?hashmap`, block uploads and
the 409 of a hashmap PUT; `?format=xml|plain` (or an Accept header) asks
for the others. Hashes are lowercase hex.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import quoteattr

from dolium.core.objects.hashmaps import ObjectHashmap
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.wire.listings import swift_time

JSON = "json"
XML = "xml"
PLAIN = "plain"

CONTENT_TYPES = {
    JSON: "application/json; charset=utf-8",
    XML: "application/xml; charset=utf-8",
    PLAIN: "text/plain; charset=utf-8",
}


def hashmap_format(query: Mapping[str, str], accept: str) -> str:
    """`?format=`, else the Accept header, else JSON (Pithos' default here)."""
    asked = query.get("format", "").lower()
    if asked in CONTENT_TYPES:
        return asked
    accept = accept.lower()
    if "application/xml" in accept or "text/xml" in accept:
        return XML
    if "text/plain" in accept and "json" not in accept:
        return PLAIN
    return JSON


def render_hashmap(fmt: str, name: str, found: ObjectHashmap) -> bytes:
    hashes = [d.hex() for d in found.digests]
    modified = swift_time(found.version.modified)
    if fmt == XML:
        # Pithos' hashes.xml, with the time of the version.
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<object name={quoteattr(name)} bytes="{found.version.size}"'
            f' block_size="{found.block_size}" block_hash={quoteattr(found.algorithm)}'
            f' last_modified="{modified}">\n'
            + "".join(f"<hash>{h}</hash>" for h in hashes)
            + "\n</object>\n"
        ).encode()
    if fmt == PLAIN:
        return "".join(h + "\n" for h in hashes).encode()
    return json.dumps(
        {
            "block_hash": found.algorithm,
            "block_size": found.block_size,
            "bytes": found.version.size,
            "hashes": hashes,
            "last_modified": modified,
        }
    ).encode()


def render_hashes(fmt: str, digests: Sequence[bytes]) -> bytes:
    """A list of block hashes: the reply to a block upload, the body of a 409."""
    hashes = [d.hex() for d in digests]
    if fmt == XML:
        items = "".join(f"<hash>{h}</hash>" for h in hashes)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<hashes>{items}</hashes>\n'.encode()
    if fmt == PLAIN:
        return "".join(h + "\n" for h in hashes).encode()
    return json.dumps(hashes).encode()


def parse_hashmap(body: bytes) -> tuple[int, list[bytes]]:
    """(bytes, block digests) of a hashmap PUT's JSON body; 400 when malformed.

    Pithos takes JSON only (XML no longer, since its API 0.15).
    """
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SwiftError(400, "The hashmap is not valid JSON") from None
    if not isinstance(doc, dict):
        raise SwiftError(400, "The hashmap is a JSON object with bytes and hashes")
    size, hashes = doc.get("bytes"), doc.get("hashes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise SwiftError(400, "The hashmap's bytes is a number of bytes")
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise SwiftError(400, "The hashmap's hashes is a list of hex strings")
    try:
        return size, [bytes.fromhex(h) for h in hashes]
    except ValueError:
        raise SwiftError(400, "The hashmap's hashes is a list of hex strings") from None
