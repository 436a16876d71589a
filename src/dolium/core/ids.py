"""Identifiers the core hands out: version ids and upload ids."""

from __future__ import annotations

import base64
import secrets
import time


def new_version_id() -> str:
    """A unique, URL-safe version id; later ids sort after earlier ones."""
    stamp = time.time_ns().to_bytes(8, "big")
    return base64.b32encode(stamp + secrets.token_bytes(7)).decode().rstrip("=").lower()


def new_upload_id() -> str:
    return secrets.token_urlsafe(32)
