"""How `encrypt` seals one block: AES-256-GCM, the key chosen by the mode.

Stored block: MODE (1 byte) | KEY ID (4 bytes, big-endian) | per mode:

- convergent: NONCE (12) | ciphertext+tag. The block key and nonce are
  HMAC-SHA256 of the plaintext digest under the keyring key (Tahoe-LAFS's
  convergence secret): equal blocks give equal ciphertext, so they dedupe,
  and nobody without the key can confirm a guess of the plaintext.
- random: WRAP NONCE (12) | WRAPPED KEY (48) | NONCE (12) | ciphertext+tag.
  The block key is random and kept wrapped under the keyring key; equal
  blocks give unrelated ciphertext. Wrap nonces are random, so one keyring
  key should wrap fewer than 2**32 block keys (NIST SP 800-38D): rotate
  the keyring well before that many blocks are written.

The associated data is the header and the block's digest, so a block moved
under another name, or a header changed, fails to open rather than
decrypting to something else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CONVERGENT = 1
RANDOM = 2
MODES = {"convergent": CONVERGENT, "random": RANDOM}
_HEAD = struct.Struct(">BI")
_NONCE = 12
_WRAPPED = 32 + 16


def _derive(secret: bytes, label: bytes, digest: bytes, size: int) -> bytes:
    return hmac.new(secret, label + digest, hashlib.sha256).digest()[:size]


def seal(mode: int, key_id: int, secret: bytes, digest: bytes, data: bytes) -> bytes:
    head = _HEAD.pack(mode, key_id)
    if mode == CONVERGENT:
        key = _derive(secret, b"dolium convergent key\0", digest, 32)
        nonce = _derive(secret, b"dolium convergent nonce\0", digest, _NONCE)
        return head + nonce + AESGCM(key).encrypt(nonce, data, head + digest)
    key = AESGCM.generate_key(bit_length=256)
    wrap_nonce, nonce = os.urandom(_NONCE), os.urandom(_NONCE)
    wrapped = AESGCM(secret).encrypt(wrap_nonce, key, head + digest)
    body = AESGCM(key).encrypt(nonce, data, head + digest)
    return head + wrap_nonce + wrapped + nonce + body


def key_id_of(stored: bytes) -> int:
    """The id of the key a stored block was sealed with; ValueError if it has no header."""
    if len(stored) < _HEAD.size:
        raise ValueError("too short")
    mode, key_id = _HEAD.unpack_from(stored)
    if mode not in (CONVERGENT, RANDOM):
        raise ValueError(f"unknown mode {mode}")
    return int(key_id)


def open_sealed(secret: bytes, digest: bytes, stored: bytes) -> bytes:
    """The plaintext; InvalidTag if the key is wrong or a byte changed."""
    mode, _ = _HEAD.unpack_from(stored)
    head, rest = stored[: _HEAD.size], memoryview(stored)[_HEAD.size :]
    if mode == CONVERGENT:
        key = _derive(secret, b"dolium convergent key\0", digest, 32)
        return AESGCM(key).decrypt(bytes(rest[:_NONCE]), rest[_NONCE:], head + digest)
    wrap_nonce, wrapped = bytes(rest[:_NONCE]), bytes(rest[_NONCE : _NONCE + _WRAPPED])
    nonce = bytes(rest[_NONCE + _WRAPPED : 2 * _NONCE + _WRAPPED])
    key = AESGCM(secret).decrypt(wrap_nonce, wrapped, head + digest)
    return AESGCM(key).decrypt(nonce, rest[2 * _NONCE + _WRAPPED :], head + digest)


__all__ = ["CONVERGENT", "MODES", "RANDOM", "InvalidTag", "key_id_of", "open_sealed", "seal"]
