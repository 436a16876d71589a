"""The body Swift's bulk operations answer with (bulk delete, archive
extraction, and SLO's manifest upload and delete): a few named results and
a list of (name, status) errors, as plain text, JSON or XML by the Accept
header.

Bulk operations answer 200 and say how they went in the body, since they
may run long after the status line had to be sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

PLAIN = "text/plain"
JSON = "application/json"
ACCEPTABLE = (PLAIN, JSON, "application/xml", "text/xml")


def out_format(accept: str) -> str | None:
    """The best acceptable format for an Accept header; plain text without
    one; None when the header accepts none of them (406)."""
    if not accept.strip():
        return PLAIN
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        for rank, offered in enumerate(ACCEPTABLE):
            if _matches(media.lower(), offered):
                # Higher quality wins; among equals, the order Swift prefers.
                candidate = (quality, -rank, offered)
                if best is None or candidate > best:
                    best = candidate
    return best[2] if best else None


def _matches(media: str, offered: str) -> bool:
    if media in ("*/*", offered):
        return True
    kind, _, sub = media.partition("/")
    return sub == "*" and offered.startswith(kind + "/")


def render(
    fmt: str, results: Mapping[str, object], errors: Sequence[tuple[str, str]], root: str
) -> bytes:
    """The body: `results` by name, then the errors; `root` names the XML document."""
    if fmt == JSON:
        return json.dumps({**results, "Errors": [list(e) for e in errors]}).encode()
    if fmt.endswith("/xml"):
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f"<{root}>\n"]
        for key in sorted(results):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(results[key]))}</{tag}>\n")
        out.append("<errors>\n")
        out.extend(
            f"<object><name>{escape(name)}</name><status>{escape(status)}</status></object>\n"
            for name, status in errors
        )
        out.append(f"</errors>\n</{root}>\n")
        return "".join(out).encode()
    lines = [f"{key}: {results[key]}\n" for key in sorted(results)]
    lines.append("Errors:\n")
    lines.extend(f"{name}, {status}\n" for name, status in errors)
    return "".join(lines).encode()


def media_type(fmt: str) -> str:
    return f"{fmt}; charset=utf-8"
