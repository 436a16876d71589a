"""Pithos block hashing: block digests and the top (Merkle) hash.

The rules are Synnefo Pithos' exactly (see docs/storage.md and docs/swift.md, *Pithos*): a block's
digest is the hash of the block with its trailing NUL bytes stripped; the top
hash pads the leaves with zero digests to a power of two and hashes pairs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
DEFAULT_ALGORITHM = "sha256"


def strip_block(block: bytes) -> bytes:
    """The bytes a block is stored and hashed as (trailing NULs removed)."""
    return block.rstrip(b"\0")


def block_digest(block: bytes, algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    return hashlib.new(algorithm, strip_block(block)).digest()


def block_digests(
    data: bytes, block_size: int = DEFAULT_BLOCK_SIZE, algorithm: str = DEFAULT_ALGORITHM
) -> list[bytes]:
    """The hashmap of `data`; an empty object has the hash of b"" as its one leaf."""
    if not data:
        return [hashlib.new(algorithm, b"").digest()]
    return [
        block_digest(data[i : i + block_size], algorithm) for i in range(0, len(data), block_size)
    ]


def top_hash(leaves: Sequence[bytes], algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    if not leaves:
        return hashlib.new(algorithm, b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    width = 2
    while width < len(leaves):
        width *= 2
    level = list(leaves) + [b"\0" * len(leaves[0])] * (width - len(leaves))
    while len(level) > 1:
        level = [
            hashlib.new(algorithm, level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]
