"""What a client says about an object it writes or copies, and the check of
what arrived against it."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dolium.conditions import WriteCondition
from dolium.core.content.blocks import WrittenData
from dolium.core.content.sse import CustomerKey, SseRequest
from dolium.errors import BadDigest, ChecksumMismatch, IncompleteBody
from dolium.model import Lock, ObjectVersion, empty_map


@dataclass(frozen=True)
class WriteOptions:
    """What a client says about the data it sends."""

    content_type: str = "binary/octet-stream"
    meta: Mapping[str, str] = field(default_factory=empty_map)
    headers: Mapping[str, str] = field(default_factory=empty_map)
    content_md5: bytes | None = None
    declared_size: int | None = None
    checksum_algorithms: tuple[str, ...] = ()
    # Called once the body is consumed: the checksums the client declared
    # (in headers or in trailers), algorithm -> base64.
    expected_checksums: Callable[[], Mapping[str, str]] | None = None
    condition: WriteCondition | None = None
    tags: Mapping[str, str] = field(default_factory=empty_map)
    # The ACL asked for (a canned ACL or grants) in `grants.encode` form;
    # "" = none, which is the writer's full control.
    acl: str = ""
    # Object lock parameters the write names (mode, retain-until, legal hold); None: none.
    lock: Lock | None = None
    # Encryption the write asks for; None: the bucket's default (core.sse).
    # For a part, only the customer key counts: the upload chose the rest.
    sse: SseRequest | None = None
    # The storage policy the data goes through (S3 names one by storage
    # class); None: the bucket's. Parts go through their upload's.
    policy: str | None = None
    # Whether this request may use the key service (the front end's rule:
    # S3 allows it to SigV4 requests only); when not, a bucket's SSE-KMS
    # default or an SSE-KMS upload refuses the write.
    kms_allowed: bool = True


@dataclass(frozen=True)
class CopyOptions:
    replace_metadata: bool = False
    content_type: str | None = None
    meta: Mapping[str, str] = field(default_factory=empty_map)
    headers: Mapping[str, str] = field(default_factory=empty_map)
    condition: WriteCondition | None = None
    # Checks the source version (conditions on the source); raises to refuse.
    check_source: Callable[[ObjectVersion], None] | None = None
    # The copy's tags; None keeps the source's.
    tags: Mapping[str, str] | None = None
    # The copy's ACL, as `WriteOptions.acl`: S3 never copies the source's.
    acl: str = ""
    # The copy's own object lock; a copy never keeps its source's.
    lock: Lock | None = None
    # The copy's encryption (None: the destination bucket's default, as on
    # S3, never the source's), and the source's SSE-C key.
    sse: SseRequest | None = None
    source_key: CustomerKey | None = None
    # The front end's own rules on this copy, run once the source and the
    # destination are found and allowed, before any data moves (given the
    # source); raises to refuse.
    approve: Callable[[ObjectVersion], None] | None = None
    # The storage policy the copy goes through; None: the destination bucket's.
    policy: str | None = None
    # As `WriteOptions.kms_allowed`, for the destination's default.
    kms_allowed: bool = True


def declares_integrity(opts: WriteOptions) -> bool:
    """Whether the client declares an MD5 or a checksum of the data, to check it against."""
    return opts.content_md5 is not None or bool(opts.checksum_algorithms)


def check_written(data: WrittenData, opts: WriteOptions) -> None:
    """Compare what arrived with what the client declared."""
    if opts.declared_size is not None and data.size != opts.declared_size:
        raise IncompleteBody(
            f"The body held {data.size} bytes where {opts.declared_size} were declared.",
            size=data.size,
            declared_size=opts.declared_size,
        )
    if opts.content_md5 is not None and not hmac.compare_digest(opts.content_md5, data.md5):
        raise BadDigest("The data's MD5 differs from the one declared.")
    expected = opts.expected_checksums() if opts.expected_checksums else {}
    for algorithm, value in expected.items():
        actual = data.checksums.get(algorithm.upper())
        if actual is None or not hmac.compare_digest(actual, value):
            raise ChecksumMismatch(
                f"The data's {algorithm.upper()} checksum differs from the one declared.",
                algorithm=algorithm.upper(),
            )
