"""Erasure-coded shares of one block: encoding, decoding, and the share format.

A block is cut into k pieces of equal length (zero-padded) and Reed-Solomon
coded by zfec into n = k + m shares, any k of which give the block back.
The code is systematic: shares 0..k-1 are the pieces themselves, so a read
that finds them needs no arithmetic beyond joining them.

Each share can be checked on its own, as Tahoe-LAFS shares can: it carries
a small header and a SHA-256 over the header, the name of the block it
belongs to and its payload. A share that is truncated, overwritten, filed
under another block's name or at another index fails its check and is
treated as absent; no arithmetic ever runs on bytes that were not checked.

    offset  size  field
    0       4     magic b"DLEC"
    4       1     format version (1)
    5       1     k
    6       1     m
    7       1     share index (0..k+m-1)
    8       8     block length, big-endian (the block's bytes before padding)
    16      32    SHA-256 of bytes 0..15, the block's name, and the payload
    48      ...   payload: ceil(length / k) bytes (at least 1)

This module knows nothing of stores; it turns bytes into shares and back.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import zfec

MAGIC = b"DLEC"
VERSION = 1
_FIELDS = struct.Struct(">4sBBBBQ")
HEADER_SIZE = _FIELDS.size + 32
MAX_SHARES = 256  # zfec's limit on k + m
Buffer = bytes | memoryview


@dataclass(frozen=True, slots=True)
class Share:
    """A share that passed its check: its index and payload."""

    index: int
    length: int  # of the whole block
    payload: bytes


def piece_size(length: int, k: int) -> int:
    # At least one byte: zfec codes no empty pieces, and an empty block
    # (an all-zero block is stored empty) still needs shares to be found.
    return max(1, -(-length // k))


def _digest(fields: Buffer, block: bytes, payload: Buffer) -> bytes:
    # Fed piece by piece: joining them first would copy the payload once more.
    h = hashlib.sha256(fields)
    h.update(block)
    h.update(payload)
    return h.digest()


def _seal(block: bytes, k: int, m: int, index: int, length: int, payload: Buffer) -> bytes:
    fields = _FIELDS.pack(MAGIC, VERSION, k, m, index, length)
    return b"".join((fields, _digest(fields, block, payload), payload))


def encode(block: bytes, data: bytes, k: int, m: int) -> list[bytes]:
    """Every share of `data`, stored under name `block`, in index order."""
    return encode_some(block, data, k, m, range(k + m))


def encode_some(
    block: bytes, data: bytes, k: int, m: int, indexes: Sequence[int] | range
) -> list[bytes]:
    """The shares of `data` at `indexes` (to rebuild lost ones), in that order."""
    size = piece_size(len(data), k)
    # Views, not slices: the pieces go to zfec uncopied.
    padded = memoryview(data.ljust(size * k, b"\0"))
    pieces = tuple(padded[i * size : (i + 1) * size] for i in range(k))
    wanted = tuple(indexes)
    payloads = zfec.Encoder(k, k + m).encode(pieces, wanted)
    return [_seal(block, k, m, i, len(data), p) for i, p in zip(wanted, payloads, strict=True)]


def check(block: bytes, raw: bytes, k: int, m: int, index: int) -> Share | None:
    """The share if `raw` is a sound share `index` of `block` for this k and m, else None."""
    if len(raw) < HEADER_SIZE:
        return None
    magic, version, sk, sm, sindex, length = _FIELDS.unpack_from(raw)
    if (magic, version, sk, sm, sindex) != (MAGIC, VERSION, k, m, index):
        return None
    view = memoryview(raw)
    if len(view) - HEADER_SIZE != piece_size(length, k):
        return None
    if _digest(view[: _FIELDS.size], block, view[HEADER_SIZE:]) != raw[_FIELDS.size : HEADER_SIZE]:
        return None
    return Share(index, length, raw[HEADER_SIZE:])


def decode(shares: Mapping[int, Share], k: int, m: int) -> bytes:
    """The block from at least k checked shares (by index) that agree on its length."""
    chosen = sorted(shares)[:k]
    length = shares[chosen[0]].length
    if chosen == list(range(k)):
        # Systematic: the data shares are the block itself.
        joined = b"".join(shares[i].payload for i in chosen)
    else:
        pieces = zfec.Decoder(k, k + m).decode(
            tuple(shares[i].payload for i in chosen), tuple(chosen)
        )
        joined = b"".join(pieces)
    return joined[:length]
