"""Tags: the key-value sets of object versions and of buckets.

A tag set maps each key to one value; which keys, values and how many tags a
set may hold is each front end's to say (S3's: `frontends/s3/rules/tagging.py`),
and the core keeps what it is given. A version's tags are one of its mutable
attributes: replacing them neither makes a new version nor changes the data
or the ETag. A delete marker has no tags, and tagging calls that land on one
are refused. Bucket tags live in the bucket's ``configs`` under
``"tagging"``, as a JSON list of [key, value] pairs that keeps the order
they were given in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.core.objects.finder import VersionFinder, permitted_version
from dolium.errors import InvalidTag, NoSuchTagSet
from dolium.model import ObjectVersion, Principal, Versioning

# Key of `Bucket.configs` this module owns.
CONFIG = "tagging"

# A front end's check of a tag set, run once the caller is allowed and the
# version or bucket found, where S3 checks it.
Approve = Callable[[], None]


def tag_set(tags: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The tags as a dict, in the order given; a key may be given once."""
    found: dict[str, str] = {}
    for key, value in tags:
        if key in found:
            raise InvalidTag(f"The tag key {key!r} is given twice.", tag_key=key)
        found[key] = value
    return found


@dataclass(frozen=True)
class ObjectTags:
    """The tags of one version, and the version id to report with them."""

    version: ObjectVersion
    # The bucket has had versioning at some time: its versions have ids
    # worth reporting (the unversioned slot's included).
    versioned: bool

    @property
    def tags(self) -> Mapping[str, str]:
        return self.version.tags

    @property
    def version_id(self) -> str | None:
        return self.version.version_id if self.versioned else None


class Tagging:
    def __init__(self, ctx: Context, objects: VersionFinder) -> None:
        self.ctx = ctx
        self.objects = objects

    async def _find(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        version_id: str | None,
        action: Action,
    ) -> ObjectTags:
        bucket, version = await permitted_version(
            self.ctx, self.objects, principal, bucket_name, key, version_id, action
        )
        return ObjectTags(version, bucket.versioning != Versioning.UNVERSIONED)

    async def get_object(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectTags:
        """The tags of a version (the latest by default); NoSuchKey on a delete marker."""
        return await self._find(principal, bucket_name, key, version_id, Action.READ_TAGS)

    async def put_object(
        self,
        principal: Principal,
        bucket_name: str,
        key: str,
        tags: Iterable[tuple[str, str]],
        version_id: str | None = None,
        *,
        approve: Approve | None = None,
    ) -> ObjectTags:
        """Replace a version's whole tag set (an empty set removes them all)."""
        found = await self._find(principal, bucket_name, key, version_id, Action.WRITE_TAGS)
        if approve is not None:
            approve()
        valid = tag_set(tags)
        updated = replace(found.version, tags=valid)
        await self.ctx.meta.update_version(updated, ("tags",), actor=principal.actor)
        return replace(found, version=updated)

    async def delete_object(
        self, principal: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectTags:
        found = await self._find(principal, bucket_name, key, version_id, Action.DELETE_TAGS)
        updated = replace(found.version, tags={})
        if found.version.tags:
            await self.ctx.meta.update_version(updated, ("tags",), actor=principal.actor)
        return replace(found, version=updated)

    async def get_bucket(self, principal: Principal, bucket_name: str) -> list[tuple[str, str]]:
        """The bucket's tags in the order they were set; NoSuchTagSet if it has none."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.READ_SETTING, setting=Setting.TAGGING
        )
        document = bucket.configs.get(CONFIG)
        if not document:
            raise NoSuchTagSet("The bucket has no tags.", bucket=bucket_name)
        return [(str(k), str(v)) for k, v in json.loads(document)]

    async def put_bucket(
        self,
        principal: Principal,
        bucket_name: str,
        tags: Iterable[tuple[str, str]],
        *,
        approve: Approve | None = None,
    ) -> None:
        """Replace the bucket's tag set; an empty set leaves it with none."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.WRITE_SETTING, setting=Setting.TAGGING
        )
        if approve is not None:
            approve()
        valid = tag_set(tags)
        document = json.dumps(list(valid.items()), ensure_ascii=False) if valid else None
        await self.ctx.meta.set_bucket_config(bucket.name, CONFIG, document, actor=principal.actor)

    async def delete_bucket(self, principal: Principal, bucket_name: str) -> None:
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.DELETE_SETTING, setting=Setting.TAGGING
        )
        await self.ctx.meta.set_bucket_config(bucket.name, CONFIG, None, actor=principal.actor)
