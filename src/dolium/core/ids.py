"""Identifiers the core hands out: version ids and upload ids."""

from __future__ import annotations

import base64
import secrets


class _Stamps:
    """Nanosecond stamps that never repeat or go back within this process, so
    ids keep their order when the clock stands still (a test clock) or steps back."""

    last = 0

    @classmethod
    def next(cls, now: float) -> int:
        cls.last = max(int(now * 1e9), cls.last + 1)
        return cls.last


def new_version_id(now: float) -> str:
    """A unique, URL-safe version id; later ids sort after earlier ones.

    `now` is the core's clock; the id starts with it, in nanoseconds.
    """
    stamp = _Stamps.next(now).to_bytes(8, "big")
    return base64.b32encode(stamp + secrets.token_bytes(7)).decode().rstrip("=").lower()


def new_upload_id() -> str:
    return secrets.token_urlsafe(32)
