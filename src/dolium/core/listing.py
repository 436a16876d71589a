"""Listing keys with a prefix and a delimiter, a page at a time.

Keys under one common prefix are skipped with a single seek past the prefix,
so a page costs about `max_keys` lookups whatever the bucket holds.
"""

from __future__ import annotations

from dolium.core.context import Context
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
        bucket = await self.ctx.bucket(principal, bucket_name)
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


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    if index < 0:
        return None
    return key[: index + len(delimiter)]
