"""Block-sized test data, and the server settings that make blocks small."""

from __future__ import annotations

import hashlib

BLOCK = 64 * 1024
# Small blocks and a small inline threshold, so that modest bodies go through
# the block store, several blocks each.
SMALL_BLOCKS = {"DOLIUM_BLOCK_SIZE": str(BLOCK), "DOLIUM_INLINE_THRESHOLD": "1024"}


def data_of(size: int, seed: str) -> bytes:
    """Distinct pseudo-random data: no block in common with another seed's."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha512(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])
