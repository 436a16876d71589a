"""Server-side encryption in the core: sealed blocks, data keys, SSE-S3 and
SSE-C, ranges, multipart, copies, the bucket default, and the keyring."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from corekit import ALICE, BLOCK, Core, body, make_core, pattern, read_all

from dolium.backends.kms_file import FileMasterKeys
from dolium.backends.kms_memory import MemoryMasterKeys
from dolium.core.content.hashing import block_digests, top_hash
from dolium.core.content.sse import (
    NONCE_SIZE,
    SSE_C,
    SSE_S3,
    BlockCipher,
    BucketEncryption,
    CustomerKey,
    DefaultEncryption,
    SseRequest,
)
from dolium.core.content.sse import etag as sse_etag
from dolium.core.objects.multipart import MIN_PART_SIZE, CompletedPart
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import AccessDenied, CorruptBlock, InvalidRequest, NotSupported, StorageError
from dolium.frontends.s3.errors import to_s3_error
from dolium.frontends.s3.rules import objects as rules
from dolium.model import ObjectVersion

BUCKET = "vault"
MARKER = b"PLAINTEXT-MARKER-0123456789"
KEY_A = CustomerKey.of(b"A" * 32)
KEY_B = CustomerKey.of(b"B" * 32)
SSE_A = SseRequest(SSE_C, KEY_A)
SSE_B = SseRequest(SSE_C, KEY_B)


@pytest.fixture
async def core() -> Core:
    c = make_core()
    c.store.ctx.kms = MemoryMasterKeys()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


def marked(size: int, seed: int = 0) -> bytes:
    """Random data with the marker at the start of every block, to look for at rest."""
    data = bytearray(pattern(size, seed))
    for at in range(0, size - len(MARKER), BLOCK):
        data[at : at + len(MARKER)] = MARKER
    return bytes(data)


async def put(core: Core, key: str, data: bytes, sse: SseRequest | None = None) -> ObjectVersion:
    return await core.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions(sse=sse))


async def read(
    core: Core, version: ObjectVersion, start: int, end: int, key: CustomerKey | None = None
) -> bytes:
    out = bytearray()
    async for piece in await core.store.objects.read(version, start, end, key):
        out += piece
    return bytes(out)


async def stored_bytes(core: Core) -> list[bytes]:
    return [await core.blobs.get(d) async for d in core.blobs.list()]


# -- the block cipher ----------------------------------------------------------------------


def test_cipher_round_trip_and_overhead() -> None:
    cipher = BlockCipher(os.urandom(32))
    block = pattern(BLOCK)
    sealed = cipher.seal(3, block)
    assert len(sealed) == len(block) + cipher.overhead
    assert block not in sealed
    assert cipher.open(sealed) == block


def test_nonces_never_repeat_under_one_key() -> None:
    key = os.urandom(32)
    first, second = BlockCipher(key), BlockCipher(key)
    nonces = [first.seal(i, b"x")[:NONCE_SIZE] for i in range(100)]
    # The same indexes again, as when a part is uploaded twice under one key.
    nonces += [second.seal(i, b"x")[:NONCE_SIZE] for i in range(100)]
    assert len(set(nonces)) == len(nonces)
    assert nonces[5][-4:] == (5).to_bytes(4, "big")


def test_wrong_key_cannot_open() -> None:
    sealed = BlockCipher(os.urandom(32)).seal(0, b"secret")
    with pytest.raises(CorruptBlock):
        BlockCipher(os.urandom(32)).open(sealed)


# -- SSE-S3 ------------------------------------------------------------------------------


async def test_sse_s3_round_trip_stores_only_ciphertext(core: Core) -> None:
    data = marked(3 * BLOCK + 123)
    version = await put(core, "k", data, SseRequest(SSE_S3))
    assert version.sse["mode"] == SSE_S3 and version.sse["key_id"]
    assert version.inline is None and len(version.extents) == 4
    assert version.etag == hashlib.md5(data).hexdigest()
    assert await read_all(core.store, version) == data
    assert not any(MARKER in block for block in await stored_bytes(core))


async def test_small_encrypted_object_is_never_inline(core: Core) -> None:
    version = await put(core, "small", MARKER, SseRequest(SSE_S3))
    assert version.inline is None and len(version.extents) == 1
    assert await read_all(core.store, version) == MARKER
    assert not any(MARKER in block for block in await stored_bytes(core))


async def test_empty_encrypted_object(core: Core) -> None:
    version = await put(core, "empty", b"", SSE_A)
    assert version.size == 0 and version.sse["mode"] == SSE_C
    assert await read(core, version, 0, -1, KEY_A) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 0),
        (BLOCK - 5, BLOCK + 5),
        (BLOCK, 2 * BLOCK - 1),
        (10, 3 * BLOCK + 100),
        (3 * BLOCK, 3 * BLOCK + 122),
    ],
)
async def test_ranges_across_blocks(core: Core, start: int, end: int) -> None:
    data = pattern(3 * BLOCK + 123)
    version = await put(core, "k", data, SSE_A)
    assert await read(core, version, start, end, KEY_A) == data[start : end + 1]


async def test_range_opens_only_the_blocks_it_needs(core: Core) -> None:
    data = pattern(4 * BLOCK)
    version = await put(core, "k", data, SseRequest(SSE_S3))
    # Spoil the first and last blocks: a range inside the middle two never reads them.
    for extent in (version.extents[0], version.extents[-1]):
        await core.blobs.delete(extent.digest)
        await core.blobs.put(extent.digest, b"spoilt")
    got = await read_all(core.store, version, BLOCK + 7, 3 * BLOCK - 2)
    assert got == data[BLOCK + 7 : 3 * BLOCK - 1]
    with pytest.raises(CorruptBlock):
        await read_all(core.store, version)


async def test_no_keyring_refuses_sse_s3(core: Core) -> None:
    core.store.ctx.kms = None
    with pytest.raises(NotSupported):
        await put(core, "k", b"data", SseRequest(SSE_S3))


# -- SSE-C -------------------------------------------------------------------------------


async def test_sse_c_needs_the_right_key(core: Core) -> None:
    data = marked(2 * BLOCK + 1)
    version = await put(core, "k", data, SSE_A)
    assert version.sse["key_md5"] == KEY_A.md5
    assert "A" * 32 not in repr(version.sse) and "A" * 32 not in repr(KEY_A)
    assert await read(core, version, 0, version.size - 1, KEY_A) == data
    with pytest.raises(AccessDenied):
        await read(core, version, 0, 10, KEY_B)
    with pytest.raises(InvalidRequest) as info:
        await read(core, version, 0, 10)
    assert to_s3_error(info.value).message == STORED_ENCRYPTED
    assert not any(MARKER in block for block in await stored_bytes(core))


async def test_key_with_the_right_md5_but_other_bytes_is_refused(core: Core) -> None:
    version = await put(core, "k", b"data" * 1000, SSE_A)
    forged = CustomerKey(b"C" * 32, KEY_A.md5)
    with pytest.raises(AccessDenied):
        await read(core, version, 0, 10, forged)


async def test_customer_key_on_data_not_sse_c_is_refused(core: Core) -> None:
    clear = await put(core, "clear", b"data" * 1000)
    managed = await put(core, "managed", b"data" * 1000, SseRequest(SSE_S3))
    for version in (clear, managed):
        with pytest.raises(InvalidRequest) as info:
            await read(core, version, 0, 10, KEY_A)
        assert to_s3_error(info.value).message == (
            "The encryption parameters are not applicable to this object."
        )


async def test_sse_c_etag_is_not_the_md5(core: Core) -> None:
    data = b"guessable" * 1000
    a = await put(core, "a", data, SSE_A)
    b = await put(core, "b", data, SSE_A)
    md5 = hashlib.md5(data)
    assert a.etag != md5.hexdigest() and len(a.etag) == 32
    # Each write has its own data key, so equal data does not show either.
    assert a.etag != b.etag
    data_key = await core.store.objects.unlock(a.sse, KEY_A)
    assert a.etag == sse_etag(a.sse, data_key, md5.digest())


# -- multipart ---------------------------------------------------------------------------


async def upload_parts(core: Core, key: str, parts: list[bytes], sse: SseRequest | None) -> str:
    mp = core.store.multipart
    upload = await mp.create(ALICE, BUCKET, key, WriteOptions(sse=sse))
    done = []
    for number, data in enumerate(parts, 1):
        part = await mp.put_part(
            ALICE, BUCKET, key, upload.upload_id, number, body(data), WriteOptions(sse=sse)
        )
        done.append(CompletedPart(number, part.etag, {}))
    version = await mp.complete(ALICE, BUCKET, key, upload.upload_id, done)
    assert version.sse == upload.sse
    return upload.upload_id


async def test_multipart_sse_c(core: Core) -> None:
    parts = [marked(MIN_PART_SIZE, 1), marked(MIN_PART_SIZE, 2), marked(1000, 3)]
    await upload_parts(core, "mp", parts, SSE_A)
    version = await core.store.objects.head(ALICE, BUCKET, "mp")
    whole = b"".join(parts)
    assert version.sse["mode"] == SSE_C
    assert await read(core, version, 0, version.size - 1, KEY_A) == whole
    # A range across the boundary of two parts.
    lo, hi = MIN_PART_SIZE - 100, MIN_PART_SIZE + 100
    assert await read(core, version, lo, hi, KEY_A) == whole[lo : hi + 1]
    assert not any(MARKER in block for block in await stored_bytes(core))


async def test_part_without_or_with_another_key_is_refused(core: Core) -> None:
    mp = core.store.multipart
    upload = await mp.create(ALICE, BUCKET, "mp", WriteOptions(sse=SSE_A))
    with pytest.raises(InvalidRequest) as info:
        await mp.put_part(ALICE, BUCKET, "mp", upload.upload_id, 1, body(b"x"), WriteOptions())
    assert to_s3_error(info.value).message == (
        "The multipart upload initiate requested encryption. Subsequent part requests must "
        "include the appropriate encryption parameters."
    )
    with pytest.raises(AccessDenied):
        await mp.put_part(
            ALICE, BUCKET, "mp", upload.upload_id, 1, body(b"x"), WriteOptions(sse=SSE_B)
        )


async def test_part_uploaded_again_is_sealed_with_fresh_nonces(core: Core) -> None:
    mp = core.store.multipart
    upload = await mp.create(ALICE, BUCKET, "mp", WriteOptions(sse=SseRequest(SSE_S3)))
    data = pattern(2 * BLOCK)
    first = await mp.put_part(ALICE, BUCKET, "mp", upload.upload_id, 1, body(data), WriteOptions())
    again = await mp.put_part(ALICE, BUCKET, "mp", upload.upload_id, 1, body(data), WriteOptions())
    # Same key, same part number, same data: still no two sealed blocks alike.
    digests = [e.digest for e in first.extents + again.extents]
    assert len(set(digests)) == 4
    nonces = {(await core.blobs.get(d))[:NONCE_SIZE] for d in digests}
    assert len(nonces) == 4


# -- copies ------------------------------------------------------------------------------


async def copy(
    core: Core, src: str, dst: str, sse: SseRequest | None, source_key: CustomerKey | None
) -> ObjectVersion:
    source = (BUCKET, src, None)
    # With the rules S3 adds at its edge, as the S3 front end copies.
    opts = rules.copy_rules(source, BUCKET, dst, CopyOptions(sse=sse, source_key=source_key))
    created, _ = await core.store.objects.copy(ALICE, source, BUCKET, dst, opts)
    return created


async def test_copy_between_customer_keys_shares_blocks(core: Core) -> None:
    data = pattern(2 * BLOCK + 5)
    src = await put(core, "src", data, SSE_A)
    with pytest.raises(InvalidRequest):
        await copy(core, "src", "dst", SSE_B, None)
    with pytest.raises(AccessDenied):
        await copy(core, "src", "dst", SSE_B, KEY_B)
    dst = await copy(core, "src", "dst", SSE_B, KEY_A)
    assert dst.extents == src.extents  # rewrapped, not rewritten
    assert await read(core, dst, 0, dst.size - 1, KEY_B) == data
    with pytest.raises(AccessDenied):
        await read(core, dst, 0, 10, KEY_A)


async def test_copy_adding_and_removing_encryption_rewrites(core: Core) -> None:
    data = marked(2 * BLOCK + 5)
    src = await put(core, "src", data, SSE_A)
    clear = await copy(core, "src", "clear", None, KEY_A)
    assert not clear.sse and clear.extents != src.extents
    assert clear.etag == hashlib.md5(data).hexdigest()
    assert await read_all(core.store, clear) == data
    managed = await copy(core, "clear", "managed", SseRequest(SSE_S3), None)
    assert managed.sse["mode"] == SSE_S3 and managed.etag == clear.etag
    assert await read_all(core.store, managed) == data
    back = await copy(core, "managed", "back", SSE_B, None)
    assert back.extents == managed.extents
    assert await read(core, back, 0, back.size - 1, KEY_B) == data


async def test_copy_in_place_may_change_encryption(core: Core) -> None:
    await put(core, "k", b"data" * 5000)
    with pytest.raises(InvalidRequest, match="copy an object to itself"):
        await copy(core, "k", "k", None, None)
    version = await copy(core, "k", "k", SseRequest(SSE_S3), None)
    assert version.sse["mode"] == SSE_S3
    assert await read_all(core.store, version) == b"data" * 5000


async def test_copy_of_multipart_sse_c_source(core: Core) -> None:
    parts = [pattern(MIN_PART_SIZE, 1), pattern(300, 2)]
    await upload_parts(core, "mp", parts, SSE_A)
    dst = await copy(core, "mp", "single", SseRequest(SSE_S3), KEY_A)
    assert dst.parts == () and "-" not in dst.etag
    assert dst.etag == hashlib.md5(b"".join(parts)).hexdigest()
    assert await read_all(core.store, dst) == b"".join(parts)


# -- bucket default ----------------------------------------------------------------------


async def test_bucket_default_encrypts_writes_without_headers(core: Core) -> None:
    settings = BucketEncryption(core.store.ctx)
    assert await settings.get(ALICE, BUCKET) is None
    await settings.put(ALICE, BUCKET, DefaultEncryption())
    assert await settings.get(ALICE, BUCKET) == DefaultEncryption()
    version = await put(core, "k", marked(BLOCK))
    assert version.sse["mode"] == SSE_S3
    explicit = await put(core, "c", b"x" * 100, SSE_A)
    assert explicit.sse["mode"] == SSE_C
    upload = await core.store.multipart.create(ALICE, BUCKET, "mp", WriteOptions())
    assert upload.sse["mode"] == SSE_S3
    await settings.delete(ALICE, BUCKET)
    assert not (await put(core, "later", b"x" * 100)).sse
    with pytest.raises(NotSupported):
        await settings.put(ALICE, BUCKET, DefaultEncryption("aws:kms:dsse"))


# -- the keyring -------------------------------------------------------------------------


async def test_keyring_file_is_made_private_and_rotates(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keyring.json"
    keys = FileMasterKeys(path)
    data_key = os.urandom(32)
    first_id, wrapped = await keys.wrap(data_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert data_key not in path.read_bytes()
    # Another process (the CLI) rotates; this one picks the new key up.
    new_id = await FileMasterKeys(path).rotate()
    assert new_id != first_id
    second_id, _ = await keys.wrap(data_key)
    assert second_id == new_id
    assert await keys.key_ids() == [first_id, new_id]
    assert await keys.unwrap(first_id, wrapped) == data_key
    assert await FileMasterKeys(path).unwrap(first_id, wrapped) == data_key
    with pytest.raises(StorageError):
        await keys.unwrap(new_id, wrapped)
    with pytest.raises(StorageError):
        await keys.unwrap("mk-unknown", wrapped)


async def test_objects_written_before_rotation_stay_readable(tmp_path: Path) -> None:
    core = make_core()
    core.store.ctx.kms = FileMasterKeys(tmp_path / "keyring.json")
    await core.store.buckets.create(ALICE, BUCKET)
    before = await put(core, "before", pattern(BLOCK + 9, 1), SseRequest(SSE_S3))
    await FileMasterKeys(tmp_path / "keyring.json").rotate()
    after = await put(core, "after", pattern(BLOCK + 9, 2), SseRequest(SSE_S3))
    assert before.sse["key_id"] != after.sse["key_id"]
    # A fresh process (new keyring object) reads both.
    core.store.ctx.kms = FileMasterKeys(tmp_path / "keyring.json")
    assert await read_all(core.store, before) == pattern(BLOCK + 9, 1)
    assert await read_all(core.store, after) == pattern(BLOCK + 9, 2)


STORED_ENCRYPTED = (
    "The object was stored using a form of Server Side Encryption. The correct parameters "
    "must be provided to retrieve the object."
)


# -- the hashmap describes the plaintext; the address, the stored bytes ---------------


async def test_sse_s3_top_hash_is_that_of_the_plaintext(core: Core) -> None:
    data = pattern(3 * BLOCK + 5, seed=40)
    plain = await put(core, "plain", data)
    sealed = await put(core, "sealed", data, SseRequest(SSE_S3))
    assert sealed.top_hash is not None
    assert sealed.top_hash == plain.top_hash == top_hash(block_digests(data, BLOCK)).hex()
    # Blocks are named by what is stored: ciphertext, not the plaintext's hashes.
    assert not {e.digest for e in sealed.extents} & {e.digest for e in plain.extents}
    for extent in sealed.extents:
        stored = await core.blobs.get(extent.digest)
        assert hashlib.sha256(stored).digest() == extent.digest


async def test_sse_c_data_keeps_no_hash_of_its_plaintext(core: Core) -> None:
    data = pattern(2 * BLOCK + 9, seed=41)
    version = await put(core, "secret", data, SSE_A)
    assert version.top_hash is None
    plaintext_hashes = set(block_digests(data, BLOCK)) | {top_hash(block_digests(data, BLOCK))}
    assert not {e.digest for e in version.extents} & plaintext_hashes
    copied, _ = await core.store.objects.copy(
        ALICE, (BUCKET, "secret", None), BUCKET, "copy", CopyOptions(source_key=KEY_A, sse=SSE_B)
    )
    assert copied.top_hash is None
    assert await read(core, copied, 0, len(data) - 1, KEY_B) == data
