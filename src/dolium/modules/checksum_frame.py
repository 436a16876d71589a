"""A block copy that carries its own SHA-256, for modules that must tell a bad copy.

`replicate` and `cache` keep copies whose bytes need not hash to the block's
digest (an `encrypt` above them hands down ciphertext), so each copy is
framed: a version byte, the SHA-256 of the payload, the payload. A copy
that does not check is treated as missing, never handed up.
"""

from __future__ import annotations

import asyncio
import hashlib

VERSION = b"\x01"
_HEAD = 1 + 32
# Below this, a worker thread costs more than the hashing it takes off the loop.
THREAD_FROM = 256 * 1024


def _frame(payload: bytes) -> bytes:
    return VERSION + hashlib.sha256(payload).digest() + payload


def _unframe(stored: bytes) -> bytes | None:
    if len(stored) < _HEAD or stored[:1] != VERSION:
        return None
    payload = stored[_HEAD:]
    return payload if hashlib.sha256(payload).digest() == stored[1:_HEAD] else None


async def frame(payload: bytes) -> bytes:
    """The payload with its version byte and hash in front."""
    if len(payload) >= THREAD_FROM:
        return await asyncio.to_thread(_frame, payload)
    return _frame(payload)


async def unframe(stored: bytes) -> bytes | None:
    """The payload of a framed copy, or None when the copy is damaged."""
    if len(stored) >= THREAD_FROM:
        return await asyncio.to_thread(_unframe, stored)
    return _unframe(stored)
