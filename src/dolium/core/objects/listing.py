"""Listing keys, or every version of them, with a prefix and a delimiter, a
page at a time.

Keys under one common prefix are skipped with a single seek past the prefix,
so a page costs about `max_keys` lookups whatever the bucket holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from dolium.core.access.actions import Action
from dolium.core.context import Context
from dolium.core.objects.version_ids import validate_version_id
from dolium.errors import InvalidArgument
from dolium.model import ListPage, ObjectVersion, Principal

# Python orders str by code point, which is the UTF-8 byte order S3 uses;
# this character sorts after every other one.
_AFTER_ALL = "\U0010ffff"


def _past(rolled: str, key: str) -> str:
    """A cursor past the common prefix `rolled`, and never behind `key`.

    `rolled + _AFTER_ALL` skips every key under the prefix except those that
    continue with that very character; for them the key itself moves the
    cursor on, so a listing always makes progress.
    """
    return max(rolled + _AFTER_ALL, key)


# A serial above every assigned one: resumes with the newest version of a key.
_ABOVE_ALL_SERIALS = 2**63 - 1


@dataclass(frozen=True, slots=True)
class VersionPage:
    """A page of versions and delete markers, already rolled up by delimiter."""

    entries: tuple[ObjectVersion, ...]  # by key, newest first within a key
    prefixes: tuple[str, ...]
    truncated: bool
    # Where the next page resumes, when truncated: the last key or common
    # prefix returned, and the version id of the last version returned (None
    # when the page ends with a common prefix).
    next_key_marker: str | None
    next_version_id_marker: str | None


class Listing:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def list(
        self,
        principal: Principal,
        bucket_name: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ListPage:
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST)
        if max_keys <= 0:
            # S3 answers an empty page that is not truncated: nothing to resume.
            return ListPage(entries=(), prefixes=(), truncated=False, next_marker=None)
        entries: list[ObjectVersion] = []
        prefixes: list[str] = []
        cursor = start_after
        last = ""
        truncated = False
        while True:
            want = max_keys - len(entries) - len(prefixes)
            batch = await self.ctx.meta.list_objects(
                bucket.name, prefix=prefix, start_after=cursor, limit=max(want, 0) + 1
            )
            if not batch:
                break
            for version in batch:
                rolled = _common_prefix(version.key, prefix, delimiter)
                if rolled is not None and (rolled <= start_after or rolled == last):
                    # Already returned, or the marker lies inside it: skip it.
                    cursor = _past(rolled, version.key)
                    break
                if len(entries) + len(prefixes) >= max_keys:
                    truncated = True
                    break
                if rolled is not None:
                    prefixes.append(rolled)
                    last = rolled
                    cursor = _past(rolled, version.key)
                    break
                entries.append(version)
                last = cursor = version.key
            else:
                if len(batch) < max(want, 0) + 1:
                    break
                continue
            if truncated:
                break
        return ListPage(
            entries=tuple(entries),
            prefixes=tuple(prefixes),
            truncated=truncated,
            next_marker=last if truncated else None,
        )

    async def versions(
        self,
        principal: Principal,
        bucket_name: str,
        *,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_id_marker: str = "",
        max_keys: int = 1000,
    ) -> VersionPage:
        """Every version and delete marker, by key, newest first within a key.

        The page starts after `key_marker`, or, with `version_id_marker`,
        after that version of `key_marker`. A version id marker whose version
        has gone since (a client deleting what it lists, page by page) starts
        again at the newest version of `key_marker`: repeating a version is
        harmless where skipping the older ones would not be.
        """
        if version_id_marker:
            if not key_marker:
                raise InvalidArgument(
                    "A version-id marker cannot be specified without a key marker.",
                    version_id_marker=version_id_marker,
                )
            validate_version_id(version_id_marker)
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST_VERSIONS)
        if max_keys <= 0:
            return VersionPage(
                (), (), truncated=False, next_key_marker=None, next_version_id_marker=None
            )
        after: tuple[str, int] | None = (key_marker, 0) if key_marker else None
        if version_id_marker:
            marker = await self.ctx.meta.get_version(bucket.name, key_marker, version_id_marker)
            after = (key_marker, marker.serial if marker else _ABOVE_ALL_SERIALS)
        entries: list[ObjectVersion] = []
        prefixes: list[str] = []
        last_prefix = ""
        next_markers: tuple[str, str | None] = ("", None)
        truncated = False
        while not truncated:
            want = max(max_keys - len(entries) - len(prefixes), 0) + 1
            batch = await self.ctx.meta.list_versions(
                bucket.name, prefix=prefix, after=after, limit=want
            )
            for version in batch:
                rolled = _common_prefix(version.key, prefix, delimiter)
                if rolled is not None and (rolled <= key_marker or rolled == last_prefix):
                    # Already returned, or the marker lies inside it: skip it.
                    after = (_past(rolled, version.key), 0)
                    break
                if len(entries) + len(prefixes) >= max_keys:
                    truncated = True
                    break
                if rolled is not None:
                    prefixes.append(rolled)
                    last_prefix = rolled
                    next_markers = (rolled, None)
                    after = (_past(rolled, version.key), 0)
                    break
                entries.append(version)
                next_markers = (version.key, version.version_id)
                after = (version.key, version.serial)
            else:
                if len(batch) < want:
                    break
        return VersionPage(
            entries=tuple(entries),
            prefixes=tuple(prefixes),
            truncated=truncated,
            next_key_marker=next_markers[0] if truncated else None,
            next_version_id_marker=next_markers[1] if truncated else None,
        )


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    if index < 0:
        return None
    return key[: index + len(delimiter)]
