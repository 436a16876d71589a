"""Tags: the key-value sets of object versions and of buckets.

Rules, as S3 applies them (each tag set is checked tag by tag, in the order
given, and only then counted):

- a key is 1 to 128 characters, a value 0 to 256, counted as UTF-16 code
  units (S3 keeps tags in UTF-16, where some characters take two);
- both may hold letters, numbers and separators (spaces) of any script, and
  ``_ . : / = + - @``;
- keys are unique within a set, and may not start with ``aws:`` (in any
  case), which AWS keeps for its own tags;
- an object version holds at most 10 tags, a bucket at most 50.

A version's tags are one of its mutable attributes: replacing them neither
makes a new version nor changes the data or the ETag. A delete marker has
no tags, and tagging calls that land on one are refused. Bucket tags live
in the bucket's ``configs`` under ``"tagging"``, as a JSON list of
[key, value] pairs that keeps the order they were given in.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.core.objects.finder import VersionFinder
from dolium.errors import InvalidTag, NoSuchTagSet, Problem, TooManyTags
from dolium.model import ObjectVersion, Principal, Versioning

OBJECT_TAG_LIMIT = 10
BUCKET_TAG_LIMIT = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
# Kept for the provider's own tags (S3: AWS's), in any case.
RESERVED_PREFIX = "aws:"

# Key of `Bucket.configs` this module owns.
CONFIG = "tagging"

_SPECIALS = frozenset("_.:/=+-@")
# Unicode general categories allowed besides the specials: letters (L*),
# separators (Z*) and numbers (N*), as AWS's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@].
_CATEGORIES = frozenset("LZN")


def _allowed(text: str) -> bool:
    return all(c in _SPECIALS or unicodedata.category(c)[0] in _CATEGORIES for c in text)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit S3 counts tag lengths in."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def validate_tags(tags: Iterable[tuple[str, str]], limit: int) -> dict[str, str]:
    """The tag set as a dict, if every tag is valid and there are at most `limit`.

    Raises InvalidTag for the first bad tag (duplicate key, bad key, reserved
    prefix, bad value), then TooManyTags.
    """
    valid: dict[str, str] = {}
    for key, value in tags:
        if key in valid:
            raise InvalidTag(
                "A tag set names a key twice.", problem=Problem.TAG_KEY_REPEATED, tag_key=key
            )
        if not key or utf16_length(key) > MAX_KEY_LENGTH or not _allowed(key):
            raise InvalidTag(
                f"A tag key is 1 to {MAX_KEY_LENGTH} letters, digits, spaces or _.:/=+-@.",
                problem=Problem.TAG_KEY,
                tag_key=key,
            )
        if key[: len(RESERVED_PREFIX)].lower() == RESERVED_PREFIX:
            raise InvalidTag(
                f"Tag keys starting with {RESERVED_PREFIX!r} are reserved.",
                problem=Problem.TAG_KEY_RESERVED,
                tag_key=key,
            )
        if utf16_length(value) > MAX_VALUE_LENGTH or not _allowed(value):
            raise InvalidTag(
                f"A tag value is up to {MAX_VALUE_LENGTH} letters, digits, spaces or _.:/=+-@.",
                problem=Problem.TAG_VALUE,
                tag_key=key,
                tag_value=value,
            )
        valid[key] = value
    if len(valid) > limit:
        problem = Problem.BUCKET_TAGS if limit == BUCKET_TAG_LIMIT else Problem.OBJECT_TAGS
        raise TooManyTags(f"A tag set holds at most {limit} tags.", problem=problem)
    return valid


def validate_object_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return validate_tags(tags.items(), OBJECT_TAG_LIMIT)


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
        bucket = await self.ctx.bucket(principal, bucket_name, action, key, version_id=version_id)
        version = await self.objects.find(bucket, key, version_id)
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
    ) -> ObjectTags:
        """Replace a version's whole tag set (an empty set removes them all)."""
        found = await self._find(principal, bucket_name, key, version_id, Action.WRITE_TAGS)
        valid = validate_tags(tags, OBJECT_TAG_LIMIT)
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
        self, principal: Principal, bucket_name: str, tags: Iterable[tuple[str, str]]
    ) -> None:
        """Replace the bucket's tag set; an empty set leaves it with none."""
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.WRITE_SETTING, setting=Setting.TAGGING
        )
        valid = validate_tags(tags, BUCKET_TAG_LIMIT)
        document = json.dumps(list(valid.items()), ensure_ascii=False) if valid else None
        await self.ctx.meta.set_bucket_config(bucket.name, CONFIG, document, actor=principal.actor)

    async def delete_bucket(self, principal: Principal, bucket_name: str) -> None:
        bucket = await self.ctx.bucket(
            principal, bucket_name, Action.DELETE_SETTING, setting=Setting.TAGGING
        )
        await self.ctx.meta.set_bucket_config(bucket.name, CONFIG, None, actor=principal.actor)
