"""Server-side encryption: data keys, sealed blocks, and the bucket default.

An encrypted version has its own random 256-bit data key. The block writer
seals each block with AES-256-GCM under that key *before* the block is
addressed, so the blob store holds ciphertext and extents name ciphertext
digests: every read still verifies each block by its hash before opening it,
and deduplication applies between identical ciphertexts only (copies that
share blocks). `Extent.size` stays the plaintext length, so ranges are
planned as before and only the blocks a range touches are opened. The top
hash describes the plaintext, and SSE-C data keeps none (`keeps_hashmap`);
docs/encryption.md gives the reasons.

The data key is kept wrapped in `ObjectVersion.sse` / `MultipartUpload.sse`:

    algorithm  "AES256"
    mode       "SSE-S3": wrapped by the active master key (`Context.kms`);
               "key_id" names that master key, so rotation rewrites nothing.
               "SSE-C": wrapped with the customer's key, which is never
               stored; "key_md5" (base64 MD5 of it) is echoed to clients and
               compared before the unwrap, which is what proves the key.
               "SSE-KMS": wrapped by a key of the key service (`Context.keys`),
               with `algorithm` "aws:kms"; "kms_key" is the key's id,
               "kms_arn" its ARN as S3 answers it, "context" the client's
               encryption context (base64 JSON, as sent; bound to the
               wrapped key), "bucket_key" "true" when asked for.
    key        the wrapped data key, base64

A sealed block is nonce (12) || ciphertext || tag (16). The nonce is 8
random bytes drawn per cipher (one PUT, one part, one copy) followed by the
4-byte index of the block in that write: unique within a write by
construction and across writes by the random prefix. A nonce made from the
position alone would repeat under one key when a part is uploaded again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import (
    AccessDenied,
    CorruptBlock,
    InvalidArgument,
    InvalidRequest,
    KmsKeyDisabled,
    NotSupported,
    Problem,
)
from dolium.model import Bucket, Principal

ALGORITHM = "AES256"
SSE_S3 = "SSE-S3"
SSE_C = "SSE-C"
SSE_KMS = "SSE-KMS"
KMS_ALGORITHM = "aws:kms"
# The account ARNs of the key service's keys carry: the keys are the server's,
# not a tenant's, and any account is accepted in a request (docs/encryption.md).
KMS_ACCOUNT = "000000000000"
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
# Bucket.configs name of the default encryption (JSON, see `dump_default`).
CONFIG = "encryption"

# The customer key wraps the data key with this as associated data, so a
# wrapped key can never be mistaken for anything else sealed with that key.
_SSE_C_CONTEXT = b"dolium sse-c data key"

# What the core says when customer-keyed data is opened without its key.
NEEDS_KEY = {
    Problem.NEEDS_CUSTOMER_KEY: "The data is encrypted with a customer key; send the key.",
    Problem.PART_NEEDS_CUSTOMER_KEY: (
        "The upload is encrypted with a customer key; send the key with each part."
    ),
}


@dataclass(frozen=True)
class CustomerKey:
    """An SSE-C key as a client sent it (already checked against its MD5)."""

    key: bytes = field(repr=False)
    md5: str  # base64 MD5 of `key`

    @classmethod
    def of(cls, key: bytes) -> CustomerKey:
        digest = hashlib.md5(key, usedforsecurity=False).digest()
        return cls(key, base64.b64encode(digest).decode())


@dataclass(frozen=True)
class SseRequest:
    """The encryption a write asks for: SSE-S3, SSE-C with the customer's key, or
    SSE-KMS with a key of the key service (None: its default key)."""

    mode: str
    customer: CustomerKey | None = None
    kms_key: str | None = None  # a key id or alias/NAME
    context: str | None = None  # base64 JSON, checked by the front end
    bucket_key: bool = False


class BlockCipher:
    """Seals and opens the blocks of one version under its data key."""

    overhead = NONCE_SIZE + TAG_SIZE

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(data_key)
        self._prefix = secrets.token_bytes(NONCE_SIZE - 4)

    def seal(self, index: int, block: bytes) -> bytes:
        """`block` (the `index`-th of this write) as stored: nonce || ciphertext || tag."""
        nonce = self._prefix + index.to_bytes(4, "big")
        return nonce + self._aead.encrypt(nonce, block, None)

    def open(self, stored: bytes) -> bytes:
        try:
            return self._aead.decrypt(stored[:NONCE_SIZE], stored[NONCE_SIZE:], None)
        except InvalidTag as exc:
            # The block matched its digest, so this is the wrong key.
            raise CorruptBlock("a block does not open with its object's key") from exc


# -- data keys ------------------------------------------------------------------------


async def new_data_key(ctx: Context, request: SseRequest) -> tuple[dict[str, str], bytes]:
    """A fresh data key for a write, and the `sse` record that keeps it wrapped."""
    data_key = secrets.token_bytes(KEY_SIZE)
    return await wrap_data_key(ctx, request, data_key), data_key


async def wrap_data_key(ctx: Context, request: SseRequest, data_key: bytes) -> dict[str, str]:
    """The `sse` record of `data_key` wrapped as `request` says (also for copies)."""
    if request.mode == SSE_C:
        assert request.customer is not None
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = AESGCM(request.customer.key).encrypt(nonce, data_key, _SSE_C_CONTEXT)
        return {
            "algorithm": ALGORITHM,
            "mode": SSE_C,
            "key_md5": request.customer.md5,
            "key": _b64(nonce + sealed),
        }
    if request.mode == SSE_KMS:
        return await _kms_wrap(ctx, request, data_key)
    if ctx.kms is None:
        raise NotSupported("SSE-S3 needs a keyring, and this server has none")
    key_id, wrapped = await ctx.kms.wrap(data_key)
    return {"algorithm": ALGORITHM, "mode": SSE_S3, "key_id": key_id, "key": _b64(wrapped)}


def kms_arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{KMS_ACCOUNT}:key/{key_id}"


def _kms_context(context: str | None) -> bytes:
    """What binds a wrapped key to its encryption context: the context's pairs,
    sorted, as JSON (so any spelling of the same pairs opens it)."""
    if context is None:
        return b"{}"
    pairs = json.loads(base64.b64decode(context))
    return json.dumps(pairs, sort_keys=True, separators=(",", ":")).encode()


async def _kms_wrap(ctx: Context, request: SseRequest, data_key: bytes) -> dict[str, str]:
    if ctx.keys is None:
        raise NotSupported("SSE-KMS needs a key service, and this server has none")
    key = await ctx.keys.find(request.kms_key)
    if not key.enabled:
        raise KmsKeyDisabled(f"{kms_arn(ctx.settings.region, key.id)} is disabled.")
    wrapped = await ctx.keys.encrypt(key.id, data_key, _kms_context(request.context))
    record = {
        "algorithm": KMS_ALGORITHM,
        "mode": SSE_KMS,
        "kms_key": key.id,
        "kms_arn": kms_arn(ctx.settings.region, key.id),
        "key": _b64(wrapped),
    }
    if request.context is not None:
        record["context"] = request.context
    if request.bucket_key:
        record["bucket_key"] = "true"
    return record


async def open_data_key(
    ctx: Context,
    sse: Mapping[str, str],
    customer: CustomerKey | None,
    *,
    missing: Problem = Problem.NEEDS_CUSTOMER_KEY,
) -> bytes | None:
    """The data key of an `sse` record (None when stored in clear), given what the client sent.

    A customer key for data that is not SSE-C is refused, as S3 refuses it;
    SSE-C data without one is refused with `missing`; a wrong one is
    AccessDenied.
    """
    mode = sse.get("mode")
    if mode != SSE_C:
        if customer is not None:
            raise InvalidRequest(
                "A customer key was sent for data not encrypted with one.",
                problem=Problem.NOT_ENCRYPTED,
            )
        if mode is None:
            return None
        if mode == SSE_KMS:
            if ctx.keys is None:
                raise NotSupported("SSE-KMS needs a key service, and this server has none")
            context = _kms_context(sse.get("context"))
            return await ctx.keys.decrypt(sse["kms_key"], _unb64(sse["key"]), context)
        if ctx.kms is None:
            raise NotSupported("SSE-S3 needs a keyring, and this server has none")
        return await ctx.kms.unwrap(sse["key_id"], _unb64(sse["key"]))
    if customer is None:
        raise InvalidRequest(NEEDS_KEY[missing], problem=missing)
    if not hmac.compare_digest(customer.md5, sse.get("key_md5", "")):
        raise AccessDenied("The customer key is not the one the data was encrypted with.")
    wrapped = _unb64(sse["key"])
    try:
        return AESGCM(customer.key).decrypt(
            wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], _SSE_C_CONTEXT
        )
    except InvalidTag:
        raise AccessDenied("The customer key does not open the data's key.") from None


def keeps_hashmap(sse: Mapping[str, str]) -> bool:
    """Whether data stored under `sse` keeps the hashes of its plaintext (top hash).

    SSE-C data does not: like its MD5, a hash of its plaintext would let
    anyone who can read the metadata confirm a guess of the content.
    """
    return sse.get("mode") != SSE_C


def etag(sse: Mapping[str, str], data_key: bytes | None, md5: bytes) -> str:
    """The ETag of data with MD5 `md5`.

    SSE-C ETags are not the MD5 of the data on S3, and must not be: the MD5
    would let anyone who can list the bucket confirm a guess of encrypted
    content. Keyed with the data key, the tag is stable for the data (copies
    that share the key keep it) and says nothing without the key.
    """
    if sse.get("mode") == SSE_C and data_key is not None:
        return hmac.new(data_key, md5, "md5").hexdigest()
    return md5.hex()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CorruptBlock("a stored data key is not base64") from exc


# -- bucket default encryption ----------------------------------------------------------


@dataclass(frozen=True)
class DefaultEncryption:
    """A bucket's default encryption: SSE-S3 (AES256) or SSE-KMS (aws:kms)."""

    algorithm: str = ALGORITHM
    bucket_key_enabled: bool = False
    # aws:kms only: the key as configured (id, alias or ARN); None: the default key.
    kms_key: str | None = None


def bucket_default(bucket: Bucket) -> DefaultEncryption | None:
    text = bucket.configs.get(CONFIG)
    if text is None:
        return None
    doc = json.loads(text)
    return DefaultEncryption(
        doc["SSEAlgorithm"], bool(doc.get("BucketKeyEnabled", False)), doc.get("KMSMasterKeyID")
    )


def kms_key_ref(text: str) -> str:
    """The key id or `alias/NAME` an id, alias or ARN (any region and account) names."""
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[2] == "kms":
            return parts[5].removeprefix("key/")
    return text


def write_request(
    bucket: Bucket, asked: SseRequest | None, *, kms_allowed: bool = True
) -> SseRequest | None:
    """What a write without encryption headers gets: the bucket's default, if any.

    `kms_allowed` false: a default of SSE-KMS refuses the write (S3 lets
    only SigV4 requests use KMS keys, defaults included)."""
    if asked is not None:
        return asked
    default = bucket_default(bucket)
    if default is None:
        return None
    if default.algorithm == KMS_ALGORITHM:
        if not kms_allowed:
            raise kms_not_allowed()
        key = kms_key_ref(default.kms_key) if default.kms_key else None
        return SseRequest(SSE_KMS, kms_key=key, bucket_key=default.bucket_key_enabled)
    return SseRequest(SSE_S3)


def kms_not_allowed() -> InvalidArgument:
    return InvalidArgument(
        "this request may not use the key service",
        problem=Problem.KMS_NOT_ALLOWED,
    )


class BucketEncryption:
    """Get/Put/DeleteBucketEncryption, kept in `Bucket.configs["encryption"]`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, principal: Principal, bucket: str) -> DefaultEncryption | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.ENCRYPTION
        )
        return bucket_default(found)

    async def put(self, principal: Principal, bucket: str, default: DefaultEncryption) -> None:
        if default.algorithm not in (ALGORITHM, KMS_ALGORITHM):
            raise NotSupported(f"default encryption {default.algorithm} is not implemented")
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.ENCRYPTION)
        doc: dict[str, object] = {
            "SSEAlgorithm": default.algorithm,
            "BucketKeyEnabled": default.bucket_key_enabled,
        }
        if default.kms_key is not None:
            doc["KMSMasterKeyID"] = default.kms_key
        document = json.dumps(doc)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, document, actor=principal.actor)

    async def delete(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.ENCRYPTION)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, None, actor=principal.actor)
