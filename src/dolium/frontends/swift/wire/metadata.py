"""User metadata headers (`X-{Account,Container,Object}-Meta-*`) and their limits.

Names are stored lower-case without the prefix, as the S3 front end stores
`x-amz-meta-*`: an object's `X-Object-Meta-Color` is S3's `x-amz-meta-color`.
The limits are Swift's defaults (its `constraints` module), checked on the
metadata a request sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dolium.frontends.swift.errors import SwiftError

MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096

ACCOUNT = "account"
CONTAINER = "container"
OBJECT = "object"


def _prefix(kind: str) -> str:
    return f"x-{kind}-meta-"


def _remove_prefix(kind: str) -> str:
    return f"x-remove-{kind}-meta-"


def requested(
    kind: str, headers: Iterable[tuple[str, str]], *, removals: bool = True
) -> dict[str, str | None]:
    """The metadata a request sets (name -> value) or removes (name -> None).

    An empty value removes a name too, as in Swift. Raise a 400 SwiftError
    when the set breaks Swift's limits. Header values arrive as latin-1 text
    (one character per byte), so lengths in characters are lengths in bytes.
    """
    prefix, remove = _prefix(kind), _remove_prefix(kind)
    changes: dict[str, str | None] = {}
    count = size = 0
    for raw_name, value in headers:
        name = raw_name.lower()
        if name.startswith(prefix):
            key = name[len(prefix) :]
            if not key:
                raise SwiftError(400, "Metadata name cannot be empty")
            if len(key) > MAX_META_NAME_LENGTH:
                raise SwiftError(400, f"Metadata name too long: {raw_name}")
            if len(value) > MAX_META_VALUE_LENGTH:
                raise SwiftError(
                    400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {raw_name}"
                )
            count += 1
            size += len(key) + len(value)
            changes[key] = value or None
        elif removals and name.startswith(remove) and name != remove:
            changes.setdefault(name[len(remove) :], None)
    if count > MAX_META_COUNT:
        raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}")
    if size > MAX_META_OVERALL_SIZE:
        raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")
    return changes


def present(changes: Mapping[str, str | None]) -> dict[str, str]:
    """The names a write keeps: those with a value."""
    return {k: v for k, v in changes.items() if v}


def response_headers(kind: str, meta: Mapping[str, str]) -> list[tuple[str, str]]:
    prefix = f"X-{kind.capitalize()}-Meta-"
    return [(prefix + _title(name), value) for name, value in sorted(meta.items())]


def _title(name: str) -> str:
    """Swift sends names title-cased (`X-Object-Meta-Color`); HTTP ignores case."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
