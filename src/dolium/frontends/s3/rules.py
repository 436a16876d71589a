"""Rules S3 sets on writes that are not the object model's, checked at the S3 edge.

- User metadata (x-amz-meta-*) is at most 2 KB, as S3 measures it.
- A copy onto itself must change something (metadata, version, encryption).
- A notification configuration names S3's event types, and no two of its
  rules could both fire for one event.

Each check raises the domain error the S3 error table turns into S3's code,
with S3's message. Another front end has its own rules, or none. Each check
runs where the core checked it before it moved here, so a request that breaks
several rules gets the same answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace

from dolium.core.buckets.notifications import NotificationRule
from dolium.core.names import validate_key
from dolium.core.objects.service import CopyOptions
from dolium.errors import InvalidArgument, InvalidRequest, MetadataTooLarge
from dolium.frontends.s3.wire.events import EVENT_TYPES, overlap
from dolium.frontends.s3.wire.headers import META_PREFIX
from dolium.model import ObjectVersion

MAX_METADATA_BYTES = 2048

AMBIGUOUS = (
    "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules "
    "if the prefixes are overlapping for the same event type."
)

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


def check_write(key: str, meta: Mapping[str, str]) -> None:
    """S3's checks of a new object or upload, in S3's order: the key, then the metadata.

    Call it just before the core's write: the core checks the key first too.
    """
    validate_key(key)
    validate_metadata(meta)


def copy_rules(
    source: tuple[str, str, str | None], bucket: str, key: str, opts: CopyOptions
) -> CopyOptions:
    """`opts` with S3's checks of a copy, run where the core approves a copy."""

    def approve(_: ObjectVersion) -> None:
        same = source[:2] == (bucket, key)
        if same and not opts.replace_metadata and source[2] is None and opts.sse is None:
            raise InvalidRequest(COPY_ONTO_ITSELF)
        if opts.replace_metadata:
            validate_metadata(opts.meta)

    return replace(opts, approve=approve)


def check_notification(rules: Sequence[NotificationRule]) -> None:
    """S3's checks of a notification configuration, run where the core approves one:
    every event type is one S3 knows, and no two rules overlap (an event type
    in common, and prefixes and suffixes that a key could match both of)."""
    for rule in rules:
        for event in rule.events:
            if event not in EVENT_TYPES:
                raise InvalidArgument(
                    "The event is not supported for notifications", argument=event
                )
    for a, b in itertools.combinations(rules, 2):
        events = any(overlap(x, y) for x in a.events for y in b.events)
        pa, pb, sa, sb = a.prefix or "", b.prefix or "", a.suffix or "", b.suffix or ""
        prefixes = pa.startswith(pb) or pb.startswith(pa)
        suffixes = sa.endswith(sb) or sb.endswith(sa)
        if events and prefixes and suffixes:
            raise InvalidArgument(AMBIGUOUS)
