"""Version ids: the one the next write of a key takes, and which ids can exist."""

from __future__ import annotations

import re

from dolium.core.ids import new_version_id
from dolium.errors import (
    InvalidArgument,
    Problem,
)
from dolium.model import (
    UNVERSIONED_ID,
    Bucket,
    Versioning,
)


def write_version_id(bucket: Bucket, now: float) -> str:
    return new_version_id(now) if bucket.versioning == Versioning.ENABLED else UNVERSIONED_ID


# The shape of the ids `new_version_id` hands out.
_VERSION_ID = re.compile(r"[a-z2-7]{24}")


def validate_version_id(version_id: str) -> None:
    """Refuse a version id no version here can have, as S3 refuses a malformed one."""
    if version_id != UNVERSIONED_ID and not _VERSION_ID.fullmatch(version_id):
        raise InvalidArgument(
            f"no version can have the id {version_id!r}",
            problem=Problem.VERSION_ID,
            version_id=version_id,
        )
