"""Listing keys, or every version of them, with a prefix and a delimiter, a
page at a time.

The store is read in batches, each walked to its end: keys under a common
prefix already returned are passed over within the batch, and when a batch
ends inside such a prefix the next one seeks past it. With a delimiter a
batch may be all one prefix, of which only its first key is of use: the
next batch is then sized on what the last one yielded (twice as many
entries and prefixes as it gave, at least 2), so that a run of prefixes
costs about one read of two keys each and a run of plain keys grows its
batches to the page's size: a page costs a few reads whatever the bucket
holds under each prefix.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from dolium.core.access import acl, grants
from dolium.core.access.actions import Action
from dolium.core.caches import Cache
from dolium.core.context import Context
from dolium.core.objects.hashmaps import object_top_hash
from dolium.core.objects.version_ids import validate_version_id
from dolium.errors import InvalidArgument, Problem
from dolium.model import ListedObject, ListPage, ObjectVersion, Principal

# Python orders str by code point, which is the UTF-8 byte order S3 uses;
# this character sorts after every other one.
_AFTER_ALL = "\U0010ffff"


def past(rolled: str, key: str) -> str:
    """A cursor past the common prefix `rolled`, and never behind `key`.

    `rolled + _AFTER_ALL` skips every key under the prefix except those that
    continue with that very character; for them the key itself moves the
    cursor on, so a listing always makes progress.
    """
    return max(rolled + _AFTER_ALL, key)


# A serial above every assigned one: resumes with the newest version of a key.
_ABOVE_ALL_SERIALS = 2**63 - 1

# The first batch of a listing with a delimiter.
DELIMITED_BATCH = 16


def _batch(wanted: int, delimiter: str, yielded: int | None) -> int:
    """Entries to read next: one more than the page still wants (to learn
    whether it is truncated); with a delimiter, at most twice what the last
    batch yielded (`yielded`, None before the first)."""
    if not delimiter:
        return wanted + 1
    guess = DELIMITED_BATCH if yielded is None else max(2, 2 * yielded)
    return min(wanted + 1, guess)


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
        # Accounts change rarely and move the config epoch when they do.
        self._owners: Cache[str, acl.Grantee] = ctx.caches.cache()

    async def owners(self, accounts: Iterable[str]) -> dict[str, acl.Grantee]:
        """The canonical user of each account that owns a listed version, by account.

        A page's versions have few owners between them, each read once and
        kept in a cache of the process."""
        return {
            account: await self._owners.get(account, self._grantee) for account in set(accounts)
        }

    async def _grantee(self, account: str) -> acl.Grantee:
        return await grants.grantee_of_tenant(self.ctx.meta, account)

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
        entries: list[ListedObject] = []
        prefixes: list[str] = []
        cursor = start_after
        last = ""
        truncated = False
        yielded: int | None = None
        while not truncated:
            before = len(entries) + len(prefixes)
            limit = _batch(max_keys - before, delimiter, yielded)
            batch = await self.ctx.meta.list_objects(
                bucket.name, prefix=prefix, start_after=cursor, limit=limit
            )
            for version in batch:
                if version.key <= cursor:
                    continue  # under a common prefix passed over in this batch
                rolled = common_prefix(version.key, prefix, delimiter)
                if rolled is not None and (rolled <= start_after or rolled == last):
                    # Already returned, or the marker lies inside it: skip it.
                    cursor = past(rolled, version.key)
                    continue
                if len(entries) + len(prefixes) >= max_keys:
                    truncated = True
                    break
                if rolled is not None:
                    prefixes.append(rolled)
                    last = rolled
                    cursor = past(rolled, version.key)
                    continue
                entries.append(version)
                last = cursor = version.key
            yielded = len(entries) + len(prefixes) - before
            if len(batch) < limit:
                break  # the store holds no more
        return ListPage(
            entries=tuple(entries),
            prefixes=tuple(prefixes),
            truncated=truncated,
            next_marker=last if truncated else None,
        )

    async def uuids(
        self, principal: Principal, bucket_name: str, keys: Collection[str]
    ) -> dict[str, str]:
        """The UUIDs of listed keys' paths (Pithos' x_object_uuid), in one read;
        a key that no longer has a version has none."""
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST)
        records = await self.ctx.meta.get_paths(bucket.name, keys) if keys else {}
        return {key: record.uuid for key, record in records.items()}

    async def top_hashes(
        self, principal: Principal, bucket_name: str, versions: Collection[tuple[str, str]]
    ) -> dict[str, str]:
        """The top hashes (Pithos' x_object_hash) of listed (key, version id)
        pairs whose listing row keeps none: one read of each version, for the
        hashmap a `?hashmap` computed and kept with it. A version with none
        yet, or gone since, has none here."""
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST)
        found: dict[str, str] = {}
        for key, version_id in versions:
            version = await self.ctx.meta.get_version(bucket.name, key, version_id)
            top = object_top_hash(version) if version is not None else None
            if top:
                found[key] = top
        return found

    async def current(
        self,
        principal: Principal,
        bucket_name: str,
        *,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
    ) -> Sequence[ObjectVersion]:
        """Current objects as whole versions, metadata included, by key: for
        listings that filter on what a page of ListedObject does not hold.
        Whoever may list the container may read them."""
        bucket = await self.ctx.bucket(principal, bucket_name, Action.LIST)
        # The state as of now is the newest version of each key; a write
        # committing during the read shows as the version before it.
        return await self.ctx.meta.list_objects_at(
            bucket.name, self.ctx.clock(), prefix=prefix, start_after=start_after, limit=limit
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
                    "A version to list after needs the key it is a version of.",
                    problem=Problem.VERSION_MARKER_ALONE,
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
        skip_to = ""  # versions of keys up to this one are under a prefix passed over
        yielded: int | None = None
        while not truncated:
            before = len(entries) + len(prefixes)
            limit = _batch(max_keys - before, delimiter, yielded)
            batch = await self.ctx.meta.list_versions(
                bucket.name, prefix=prefix, after=after, limit=limit
            )
            for version in batch:
                if skip_to and version.key <= skip_to:
                    continue
                rolled = common_prefix(version.key, prefix, delimiter)
                if rolled is not None and (rolled <= key_marker or rolled == last_prefix):
                    # Already returned, or the marker lies inside it: skip it.
                    skip_to = past(rolled, version.key)
                    after = (skip_to, 0)
                    continue
                if len(entries) + len(prefixes) >= max_keys:
                    truncated = True
                    break
                if rolled is not None:
                    prefixes.append(rolled)
                    last_prefix = rolled
                    next_markers = (rolled, None)
                    skip_to = past(rolled, version.key)
                    after = (skip_to, 0)
                    continue
                entries.append(version)
                next_markers = (version.key, version.version_id)
                after = (version.key, version.serial)
            yielded = len(entries) + len(prefixes) - before
            if len(batch) < limit:
                break  # the store holds no more
        return VersionPage(
            entries=tuple(entries),
            prefixes=tuple(prefixes),
            truncated=truncated,
            next_key_marker=next_markers[0] if truncated else None,
            next_version_id_marker=next_markers[1] if truncated else None,
        )


def common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    index = key.find(delimiter, len(prefix))
    if index < 0:
        return None
    return key[: index + len(delimiter)]
