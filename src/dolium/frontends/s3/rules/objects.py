"""S3's rules on object writes and copies that are not the object model's.

- User metadata (x-amz-meta-*) is at most 2 KB, as S3 measures it.
- Tags a write sets (x-amz-tagging) follow S3's tagging rules (`rules.tagging`).
- A copy onto itself must change something (metadata, version, encryption).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from dolium.core.names import validate_key
from dolium.core.objects.write_options import CopyOptions
from dolium.errors import InvalidRequest, MetadataTooLarge
from dolium.frontends.s3.rules.tagging import OBJECT_TAG_LIMIT, validate_tags
from dolium.frontends.s3.wire.headers import META_PREFIX
from dolium.model import ObjectVersion

MAX_METADATA_BYTES = 2048

COPY_ONTO_ITSELF = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


def _meta_name(name: str) -> str:
    return name[len(META_PREFIX) :] if name[: len(META_PREFIX)].lower() == META_PREFIX else name


def metadata_size(meta: Mapping[str, str]) -> int:
    """Size of user metadata as S3 measures it.

    The sum of the UTF-8 lengths of every name and value. Names are counted
    without their "x-amz-meta-" prefix, which may be present or not.
    """
    return sum(
        len(_meta_name(name).encode("utf-8", "surrogatepass"))
        + len(value.encode("utf-8", "surrogatepass"))
        for name, value in meta.items()
    )


def validate_metadata(meta: Mapping[str, str]) -> None:
    """MetadataTooLarge when user metadata exceeds S3's 2 KB."""
    size = metadata_size(meta)
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(
            "Your metadata headers exceed the maximum allowed metadata size.",
            size=size,
            max_size_allowed=MAX_METADATA_BYTES,
        )


def check_write(key: str, meta: Mapping[str, str], tags: Mapping[str, str]) -> None:
    """S3's checks of a new object or upload, in S3's order: the key, the metadata, the tags.

    Call it just before the core's write: the core checks the key first too.
    """
    validate_key(key)
    validate_metadata(meta)
    validate_tags(tags.items(), OBJECT_TAG_LIMIT)


def check_copy(key: str, tags: Mapping[str, str] | None) -> None:
    """S3's checks of a copy's new key and the tags it sets (None: keeps the source's).

    Call it just before the core's copy, which checks the key first too.
    """
    validate_key(key)
    if tags is not None:
        validate_tags(tags.items(), OBJECT_TAG_LIMIT)


def copy_rules(
    source: tuple[str, str, str | None],
    bucket: str,
    key: str,
    opts: CopyOptions,
    *,
    names_class: bool = False,
) -> CopyOptions:
    """`opts` with S3's checks of a copy, run where the core approves a copy.

    `names_class`: the copy names a storage class, which makes a copy onto
    itself a change (S3's way to move an object to another class).
    """

    def approve(_: ObjectVersion) -> None:
        same = source[:2] == (bucket, key) and source[2] is None
        if same and not opts.replace_metadata and opts.sse is None and not names_class:
            raise InvalidRequest(COPY_ONTO_ITSELF)
        if opts.replace_metadata:
            validate_metadata(opts.meta)

    return replace(opts, approve=approve)
