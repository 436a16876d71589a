"""Sizes and durations as people write them in settings: "4MiB", "64k", "30s", "1h"."""

from __future__ import annotations

import re

KIB = 1024
MIB = 1024 * KIB

_SIZE_UNITS = {"": 1, "b": 1, "k": KIB, "m": MIB, "g": 1024 * MIB}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(?:([kmg])(?:i?b)?|(b))?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_size(value: object) -> int:
    """Bytes from an int or a string such as "4MiB", "64k", "16384"."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size in bytes (e.g. 16384 or 4MiB)")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            return int(m.group(1)) * _SIZE_UNITS[(m.group(2) or "").lower()]
    raise ValueError(f"{value!r} is not a size in bytes (e.g. 16384 or 4MiB)")


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as "90", "30s", "10m", "1h", "7d"."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (e.g. 3600, 30s, 10m, 1h)")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()]
    raise ValueError(f"{value!r} is not a duration (e.g. 3600, 30s, 10m, 1h)")


def human_size(n: int) -> str:
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)
