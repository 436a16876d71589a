"""Data-key wrapping shared by the master-key stores: AES-256-GCM under a master key.

A wrapped key is nonce (96 random bits) || ciphertext || tag, with the key id as
associated data, so it unwraps only under the id it was wrapped with. Pure
functions: no key storage, no I/O.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dolium.errors import StorageError

KEY_SIZE = 32
NONCE_SIZE = 12


def wrap_key(key_id: str, master: bytes, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_SIZE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, key_id.encode())


def unwrap_key(key_id: str, master: bytes, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], key_id.encode())
    except (InvalidTag, ValueError) as exc:
        raise StorageError(f"a data key does not unwrap with master key {key_id!r}") from exc
