"""Column encodings of the SQL meta store, and rows back into domain types.

Pure functions: no SQL, no I/O.

Block lists are packed, not JSON, because a large object has hundreds of
thousands of extents: one byte giving the digest length L, then for each
extent L digest bytes and its size as 8 bytes big-endian. Should one list
ever mix digest lengths, the first byte is 0 and each extent carries its own
length byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from dolium.model import (
    EMPTY_MAP,
    NO_LOCK,
    NO_SHARING,
    AccessKey,
    Bucket,
    Extent,
    Hashmap,
    ListedObject,
    Lock,
    LockMode,
    MultipartUpload,
    ObjectVersion,
    Part,
    PathRecord,
    Sharing,
    Tenant,
    User,
    Versioning,
)

_SIZE = struct.Struct(">Q")


def pack_extents(extents: Sequence[Extent]) -> bytes | None:
    if not extents:
        return None
    length = len(extents[0].digest)
    if 0 < length < 256 and all(len(e.digest) == length for e in extents):
        return bytes([length]) + b"".join(e.digest + _SIZE.pack(e.size) for e in extents)
    return b"\0" + b"".join(bytes([len(e.digest)]) + e.digest + _SIZE.pack(e.size) for e in extents)


def unpack_extents(data: bytes | None) -> tuple[Extent, ...]:
    if not data:
        return ()
    view = memoryview(data)
    length = view[0]
    out: list[Extent] = []
    if length:
        step = length + 8
        for at in range(1, len(view), step):
            out.append(
                Extent(bytes(view[at : at + length]), _SIZE.unpack_from(view, at + length)[0])
            )
        return tuple(out)
    at = 1
    while at < len(view):
        length = view[at]
        out.append(
            Extent(
                bytes(view[at + 1 : at + 1 + length]), _SIZE.unpack_from(view, at + 1 + length)[0]
            )
        )
        at += 9 + length
    return tuple(out)


def extent_digests(data: bytes | None) -> list[bytes]:
    return [e.digest for e in unpack_extents(data)]


def pack_sizes(sizes: Sequence[int]) -> bytes | None:
    return struct.pack(f">{len(sizes)}Q", *sizes) if sizes else None


def unpack_sizes(data: bytes | None) -> tuple[int, ...]:
    return struct.unpack(f">{len(data) // 8}Q", data) if data else ()


def dump_map(value: Mapping[str, str]) -> str | None:
    return json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False) if value else None


def load_map(text: str | None) -> Mapping[str, str]:
    return MappingProxyType(json.loads(text)) if text else EMPTY_MAP


def dump_attrs(
    tags: Mapping[str, str],
    acl: str,
    lock: Lock,
    sse: Mapping[str, str],
    part_checksums: Sequence[str] = (),
    hashmap: Hashmap | None = None,
) -> str | None:
    """The optional attributes of a version or upload as one JSON column, or None."""
    doc: dict[str, Any] = {}
    if hashmap is not None:
        doc["hashmap"] = [
            hashmap.block_size,
            hashmap.algorithm,
            b"".join(hashmap.digests).hex(),
        ]
    if part_checksums:
        doc["parts"] = list(part_checksums)
    if tags:
        doc["tags"] = dict(tags)
    if acl:
        doc["acl"] = acl
    if lock != NO_LOCK:
        doc["lock"] = [lock.mode.value, lock.until, lock.legal_hold]
    if sse:
        doc["sse"] = dict(sse)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) if doc else None


def load_attrs(text: str | None) -> dict[str, Any]:
    """Keyword arguments for ObjectVersion / MultipartUpload from the attrs column."""
    if not text:
        return {}
    doc = json.loads(text)
    out: dict[str, Any] = {}
    if "tags" in doc:
        out["tags"] = MappingProxyType(doc["tags"])
    if "acl" in doc:
        out["acl"] = doc["acl"]
    if "lock" in doc:
        mode, until, hold = doc["lock"]
        out["lock"] = Lock(LockMode(mode), until, hold)
    if "sse" in doc:
        out["sse"] = MappingProxyType(doc["sse"])
    if "parts" in doc:
        out["part_checksums"] = tuple(doc["parts"])
    if "hashmap" in doc:
        block_size, algorithm, packed = doc["hashmap"]
        raw = bytes.fromhex(packed)
        width = hashlib.new(algorithm).digest_size
        digests = tuple(raw[i : i + width] for i in range(0, len(raw), width))
        out["hashmap"] = Hashmap(block_size, algorithm, digests)
    return out


def version_values(v: ObjectVersion, container: int) -> dict[str, Any]:
    """Columns of `v` for an insert into `container` (without serial and is_latest)."""
    return {
        "bucket": container,
        "key": v.key.encode(),
        "version_id": v.version_id,
        "delete_marker": v.delete_marker,
        "size": v.size,
        "etag": v.etag,
        "modified": v.modified,
        "owner": v.owner,
        "user_name": v.user,
        "content_type": v.content_type,
        "extents": pack_extents(v.extents),
        "inline": v.inline,
        "top_hash": v.top_hash,
        "meta": dump_map(v.meta),
        "headers": dump_map(v.headers),
        "checksums": dump_map(v.checksums),
        "checksum_type": v.checksum_type,
        "parts": pack_sizes(v.parts),
        "attrs": dump_attrs(v.tags, v.acl, v.lock, v.sse, v.part_checksums, v.hashmap),
        "policy": v.policy,
    }


def to_version(r: Any, bucket: str) -> ObjectVersion:
    """A version row, in the container the caller named `bucket`."""
    return ObjectVersion(
        bucket=bucket,
        key=r.key.decode(),
        version_id=r.version_id,
        size=r.size,
        etag=r.etag,
        modified=r.modified,
        owner=r.owner,
        user=r.user_name,
        delete_marker=r.delete_marker,
        is_latest=r.is_latest,
        content_type=r.content_type,
        extents=unpack_extents(r.extents),
        inline=r.inline,
        top_hash=r.top_hash,
        meta=load_map(r.meta),
        headers=load_map(r.headers),
        checksums=load_map(r.checksums),
        checksum_type=r.checksum_type,
        parts=unpack_sizes(r.parts),
        serial=r.serial,
        policy=r.policy,
        **load_attrs(r.attrs),
    )


# The names in a checksums column (written by dump_map), without parsing its
# JSON, which would cost a listing page milliseconds: the names are
# algorithm names (capitals and digits) and the values base64, neither of
# which holds a quote, so a name is what stands before '":"'.
_CHECKSUM_NAMES = re.compile(r'"([A-Z0-9]+)":"')


def to_listed(r: Any) -> ListedObject:
    """A row of the listing statement (listing._LISTED_COLUMNS)."""
    (
        key,
        version_id,
        size,
        etag,
        modified,
        owner,
        content_type,
        checksums,
        checksum_type,
        user,
        top,
    ) = r
    return ListedObject(
        key.decode(),
        version_id,
        size,
        etag,
        modified,
        owner,
        content_type,
        tuple(_CHECKSUM_NAMES.findall(checksums)) if checksums else (),
        checksum_type,
        user,
        top or "",
    )


def upload_values(u: MultipartUpload, container: int) -> dict[str, Any]:
    return {
        "bucket": container,
        "upload_id": u.upload_id,
        "key": u.key.encode(),
        "initiated": u.initiated,
        "owner": u.owner,
        "content_type": u.content_type,
        "meta": dump_map(u.meta),
        "headers": dump_map(u.headers),
        "checksum_algorithm": u.checksum_algorithm,
        "checksum_type": u.checksum_type,
        "attrs": dump_attrs(u.tags, u.acl, u.lock, u.sse),
        "policy": u.policy,
    }


def to_upload(r: Any, bucket: str) -> MultipartUpload:
    return MultipartUpload(
        bucket=bucket,
        key=r.key.decode(),
        upload_id=r.upload_id,
        initiated=r.initiated,
        owner=r.owner,
        content_type=r.content_type,
        meta=load_map(r.meta),
        headers=load_map(r.headers),
        checksum_algorithm=r.checksum_algorithm,
        checksum_type=r.checksum_type,
        policy=r.policy,
        **load_attrs(r.attrs),
    )


def part_values(container: int, p: Part) -> dict[str, Any]:
    return {
        "bucket": container,
        "upload_id": p.upload_id,
        "number": p.number,
        "size": p.size,
        "etag": p.etag,
        "modified": p.modified,
        "extents": pack_extents(p.extents),
        "checksums": dump_map(p.checksums),
        "policy": p.policy,
    }


def to_part(r: Any) -> Part:
    return Part(
        upload_id=r.upload_id,
        number=r.number,
        size=r.size,
        etag=r.etag,
        modified=r.modified,
        extents=unpack_extents(r.extents),
        checksums=load_map(r.checksums),
        policy=r.policy,
    )


def bucket_values(b: Bucket) -> dict[str, Any]:
    """The settings of a container (not its name, owner, id or usage)."""
    return {
        "created": b.created,
        "region": b.region,
        "versioning": b.versioning.value,
        "object_lock": b.object_lock,
        "block_size": b.block_size,
        "hash_algorithm": b.hash_algorithm,
        "configs": dump_map(b.configs),
        "policy": b.policy,
    }


def to_bucket(r: Any, address: str) -> Bucket:
    return Bucket(
        name=address,
        id=r.id,
        owner=r.owner,
        created=r.created,
        region=r.region,
        versioning=Versioning(r.versioning),
        object_lock=r.object_lock,
        block_size=r.block_size,
        hash_algorithm=r.hash_algorithm,
        configs=load_map(r.configs),
        policy=r.policy,
    )


def dump_sharing(sharing: Sharing) -> str | None:
    if sharing == NO_SHARING:
        return None
    doc = {"read": list(sharing.read), "write": list(sharing.write)}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def load_sharing(text: str | None) -> Sharing:
    if not text:
        return NO_SHARING
    doc = json.loads(text)
    return Sharing(tuple(doc["read"]), tuple(doc["write"]))


def to_path(r: Any, bucket: str) -> PathRecord:
    return PathRecord(
        bucket=bucket,
        key=r.key.decode(),
        uuid=r.uuid,
        sharing=load_sharing(r.sharing),
        public_id=r.public_id,
        delete_at=r.delete_at,
    )


def to_tenant(r: Any) -> Tenant:
    return Tenant(r.name, r.canonical_id, r.display_name, r.email, r.created)


def to_user(r: Any) -> User:
    return User(r.tenant, r.name, r.admin, r.created)


def to_key(r: Any) -> AccessKey:
    return AccessKey(r.access_key, r.secret_key, r.tenant, r.user_name, r.created, r.active)


def successor(prefix: bytes) -> bytes | None:
    """The least byte string greater than every string starting with `prefix`.

    None when there is none (empty prefix, or only 0xFF bytes).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])
