"""HMAC signatures as Swift's temp URLs and form posts carry them.

A signature is the hex digest of HMAC-SHA1, -SHA256 or -SHA512 (told apart
by length), or `<digest>:<base64>` in standard or URL-safe base64. Keys
live in account and container metadata (`Temp-URL-Key`, `Temp-URL-Key-2`);
they are compared with `hmac.compare_digest` and never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dolium.core.store import Store
from dolium.errors import NotFound
from dolium.model import container_address

ALLOWED_DIGESTS = ("sha1", "sha256", "sha512")
# Swift still accepts SHA-1 by default but says it will stop.
DEPRECATED_DIGESTS = ("sha1",)
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
KEY_NAMES = ("temp-url-key", "temp-url-key-2")

ACCOUNT_SCOPE = "account"
CONTAINER_SCOPE = "container"


@dataclass(frozen=True)
class ScopedKey:
    key: str
    scope: str  # ACCOUNT_SCOPE or CONTAINER_SCOPE


def parse_signature(value: str) -> tuple[str, str] | None:
    """(digest name, lower-case hex digest) of a signature as sent; None if malformed
    or of a digest not allowed."""
    if ":" in value:
        algorithm, encoded = value.split(":", 1)
        if ("-" in encoded or "_" in encoded) and not ("+" in encoded or "/" in encoded):
            encoded = encoded.replace("-", "+").replace("_", "/")
        # Padding is optional on the wire; surplus padding is ignored, as in Swift.
        encoded = encoded.rstrip("=")
        encoded += "=" * (-len(encoded) % 4)
        try:
            hex_digest = base64.b64decode(encoded, validate=True).hex()
        except (binascii.Error, ValueError):
            return None
    else:
        algorithm = _HEX_LENGTHS.get(len(value), "")
        try:
            hex_digest = bytes.fromhex(value).hex()
        except ValueError:
            return None
    if algorithm not in ALLOWED_DIGESTS:
        return None
    return algorithm, hex_digest


def sign(key: str, message: str, algorithm: str) -> str:
    return hmac.new(key.encode(), message.encode(), getattr(hashlib, algorithm)).hexdigest()


def matching_scope(
    keys: Sequence[ScopedKey], messages: Sequence[str], algorithm: str, signature: str
) -> str | None:
    """The scope of the key that signed one of `messages` as `signature`, if any.

    Every candidate is computed and compared in constant time; only a valid
    signature ends the search early, which tells an attacker nothing."""
    for scoped in keys:
        for message in messages:
            if hmac.compare_digest(sign(scoped.key, message, algorithm), signature):
                return scoped.scope
    return None


def _keys_of(meta: Mapping[str, str], scope: str) -> list[ScopedKey]:
    return [ScopedKey(meta[name], scope) for name in KEY_NAMES if meta.get(name)]


async def signing_keys(store: Store, account: str, container: str) -> list[ScopedKey]:
    """The account's keys, then the container's."""
    keys = _keys_of((await store.accounts.stored(account)).meta, ACCOUNT_SCOPE)
    if container:
        try:
            meta = await store.containers.stored_meta(container_address(account, container))
        except NotFound:
            meta = {}  # the request itself will find no container
        keys += _keys_of(meta, CONTAINER_SCOPE)
    return keys
