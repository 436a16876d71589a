"""Version ids on the S3 wire.

S3 calls the one version a key keeps outside versioning (never enabled, or
suspended) the "null" version. The core has its own id for that slot
(`model.UNVERSIONED_ID`); every version id crossing the S3 edge passes through
these two functions, so what S3 calls it is decided here alone.
"""

from __future__ import annotations

from dolium.model import UNVERSIONED_ID

NULL = "null"


def to_s3(version_id: str) -> str:
    """The id S3 clients see for a version id of the core."""
    return NULL if version_id == UNVERSIONED_ID else version_id


def from_s3(version_id: str) -> str:
    """The core's version id for an id an S3 client sent."""
    return UNVERSIONED_ID if version_id == NULL else version_id
