"""SLO manifests: the JSON a client PUTs, its checks, and the form kept.

A client sends `[{"path": "/c/o", "etag": ..., "size_bytes": ..., "range":
...}, {"data": "<base64>"}, ...]`; Swift keeps, and `?multipart-manifest=get`
shows, `[{"name": "/c/o", "hash": ..., "bytes": ..., "content_type": ...,
"last_modified": ..., "range": ...}, {"data": ...}]`. The checks and their
messages are Swift's (400 with one line per bad entry).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from dolium.frontends.swift.errors import SwiftError

MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024**2
MIN_SEGMENT_SIZE = 1
# Nested manifests deeper than this are refused when read, as in Swift.
MAX_DEPTH = 10

_KEYS = {"data": frozenset(), "path": frozenset({"range", "etag", "size_bytes"})}


@dataclass(frozen=True)
class Spec:
    """One entry of an uploaded manifest: an object (path) or inline data."""

    path: str = ""
    etag: str | None = None
    size: int | None = None
    # Swift's range forms "M-N", "M-", "-N", kept as sent until the size is known.
    range: str | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class Segment:
    """One entry of a stored manifest."""

    name: str = ""  # "/container/object"
    hash: str = ""
    size: int = 0  # of the whole segment object (Swift's "bytes")
    content_type: str = ""
    last_modified: str = ""
    range: tuple[int, int] | None = None  # inclusive
    sub_slo: bool = False
    data: bytes | None = None

    @property
    def length(self) -> int:
        if self.data is not None:
            return len(self.data)
        if self.range is not None:
            return self.range[1] - self.range[0] + 1
        return self.size

    @property
    def start(self) -> int:
        return self.range[0] if self.range else 0

    def stored(self) -> dict[str, object]:
        if self.data is not None:
            return {"data": base64.b64encode(self.data).decode()}
        kept: dict[str, object] = {
            "name": self.name,
            "bytes": self.size,
            "hash": self.hash,
            "content_type": self.content_type,
            "last_modified": self.last_modified,
        }
        if self.range is not None:
            kept["range"] = f"{self.range[0]}-{self.range[1]}"
        if self.sub_slo:
            kept["sub_slo"] = True
        return kept

    def raw(self) -> dict[str, object]:
        """As a client would PUT it (`?multipart-manifest=get&format=raw`)."""
        if self.data is not None:
            return {"data": base64.b64encode(self.data).decode()}
        sent: dict[str, object] = {"path": self.name, "etag": self.hash, "size_bytes": self.size}
        if self.range is not None:
            sent["range"] = f"{self.range[0]}-{self.range[1]}"
        return sent


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_range(text: str) -> tuple[int | None, int | None] | None:
    """(first, last) of one range "M-N", "M-" or "-N" (first None: a suffix);
    None when malformed. Several ranges are told apart by the caller."""
    first, dash, last = text.strip().partition("-")
    if not dash or not (first or last):
        return None
    try:
        lo = int(first) if first else None
        hi = int(last) if last else None
    except ValueError:
        return None
    if (lo is not None and lo < 0) or (hi is not None and hi < 0):
        return None
    if lo is not None and hi is not None and hi < lo:
        return None
    return lo, hi


def resolve_range(text: str, size: int) -> tuple[int, int] | None:
    """The inclusive bytes a range selects of `size`; None when it selects none."""
    parsed = parse_range(text)
    if parsed is None:
        return None
    lo, hi = parsed
    if lo is None:
        assert hi is not None
        if hi == 0 or size == 0:
            return None
        return max(0, size - hi), size - 1
    if lo >= size:
        return None
    return lo, size - 1 if hi is None else min(hi, size - 1)


def parse_upload(body: bytes, own_path: str) -> list[Spec]:
    """The entries of an uploaded manifest; 400 listing every bad one.

    `own_path` is the manifest's own "/container/object": it may not be
    one of its segments."""
    try:
        parsed = json.loads(body)
    except ValueError:
        raise SwiftError(400, "Manifest must be valid JSON.\n") from None
    if not isinstance(parsed, list):
        raise SwiftError(400, "Manifest must be a list.\n")
    errors: list[str] = []
    specs: list[Spec] = []
    last = len(parsed) - 1
    for index, entry in enumerate(parsed):
        problem, spec = _entry(index, entry, index == last, own_path)
        if problem:
            errors.append(f"Index {index}: {problem}")
        elif spec is not None:
            specs.append(spec)
    if parsed and all(isinstance(e, dict) and "data" in e for e in parsed):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise SwiftError(400, "".join(e + "\n" for e in errors))
    return specs


def _entry(index: int, entry: object, last: bool, own_path: str) -> tuple[str, Spec | None]:
    if not isinstance(entry, dict):
        return "not a JSON object", None
    kind = next((k for k in _KEYS if k in entry), None)
    if kind is None:
        return "expected keys to include one of 'data' or 'path'", None
    extra = sorted(k for k in entry if k not in _KEYS[kind] | {kind})
    if extra:
        return "extraneous keys " + ", ".join(json.dumps(k) for k in extra), None
    if kind == "data":
        data = _b64(entry["data"])
        if data is None:
            return "data must be valid base64", None
        if not data:
            return "too small; each segment must be at least 1 byte.", None
        return "", Spec(data=data)
    path, etag = entry["path"], entry.get("etag")
    if not isinstance(path, str):
        return '"path" must be a string', None
    if etag is not None and not isinstance(etag, str):
        return '"etag" must be a string or null (if provided)', None
    if "/" not in path.strip("/"):
        return "path does not refer to an object. Path must be of the form /container/object.", None
    size: int | None = None
    if entry.get("size_bytes") is not None:
        try:
            size = int(entry["size_bytes"])
        except (TypeError, ValueError):
            return "invalid size_bytes", None
        if size < MIN_SEGMENT_SIZE and not last:
            return "too small; each segment must be at least 1 byte.", None
    if "/" + path.lstrip("/") == own_path:
        return "manifest must not include itself as a segment", None
    text = entry.get("range")
    if text:
        if not isinstance(text, str) or parse_range(text.split(",")[0]) is None:
            return "invalid range", None
        if "," in text:
            return "multiple ranges (only one allowed)", None
        if size is not None and resolve_range(text, size) is None:
            return "unsatisfiable range", None
    return "", Spec(path=path, etag=etag or None, size=size, range=text or None)


def slo_etag(segments: Sequence[Segment]) -> str:
    """The large object's ETag: the MD5 of its segments' ETags, a ranged one
    as "etag:range;", inline data by the MD5 of its bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    for segment in segments:
        if segment.data is not None:
            part = hashlib.md5(segment.data, usedforsecurity=False).hexdigest()
        elif segment.range is not None:
            part = f"{segment.hash}:{segment.range[0]}-{segment.range[1]};"
        else:
            part = segment.hash
        digest.update(part.encode())
    return digest.hexdigest()


def load(document: bytes) -> list[Segment]:
    """The segments of a stored manifest; ValueError when it is not one."""
    parsed = json.loads(document)
    if not isinstance(parsed, list):
        raise ValueError("a manifest is a list")
    segments: list[Segment] = []
    for entry in parsed:
        if "data" in entry:
            segments.append(Segment(data=base64.b64decode(entry["data"])))
            continue
        range_text = entry.get("range")
        bounds = None
        if range_text:
            first, _, last = str(range_text).partition("-")
            bounds = (int(first), int(last))
        segments.append(
            Segment(
                name=str(entry["name"]),
                hash=str(entry["hash"]),
                size=int(entry["bytes"]),
                content_type=str(entry.get("content_type", "")),
                last_modified=str(entry.get("last_modified", "")),
                range=bounds,
                sub_slo=bool(entry.get("sub_slo")),
            )
        )
    return segments


def dump(segments: Sequence[Segment]) -> bytes:
    return json.dumps([s.stored() for s in segments]).encode()
