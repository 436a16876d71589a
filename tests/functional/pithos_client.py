"""A small Pithos client, written from the Pithos API guide's upload protocol:
hash a file into blocks, PUT its hashmap, upload the blocks the server says
are missing, PUT the hashmap again. Hashing follows Pithos' rules exactly
(trailing NULs stripped per block; the top hash pads to a power of two)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import httpx


def block_hashes(data: bytes, block_size: int, algorithm: str = "sha256") -> list[bytes]:
    if not data:
        return [hashlib.new(algorithm, b"").digest()]
    return [
        hashlib.new(algorithm, data[i : i + block_size].rstrip(b"\0")).digest()
        for i in range(0, len(data), block_size)
    ]


def top_hash(leaves: list[bytes], algorithm: str = "sha256") -> bytes:
    def digest(data: bytes) -> bytes:
        return hashlib.new(algorithm, data).digest()

    if not leaves:
        return digest(b"")
    if len(leaves) == 1:
        return leaves[0]
    width = 2
    while width < len(leaves):
        width *= 2
    level = leaves + [b"\0" * len(leaves[0])] * (width - len(leaves))
    while len(level) > 1:
        level = [digest(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@dataclass
class Upload:
    """What one `upload` did: the answers of both hashmap PUTs and the blocks sent."""

    first: httpx.Response
    final: httpx.Response
    sent: list[str]


class PithosClient:
    def __init__(self, http: httpx.Client, container: str) -> None:
        self.http = http
        self.container = container

    def parameters(self) -> tuple[int, str]:
        """(block size, hash algorithm), as the container advertises them."""
        head = self.http.head(self.container)
        assert head.status_code == 204, head.text
        return int(head.headers["x-container-block-size"]), head.headers["x-container-block-hash"]

    def hashmap(self, data: bytes) -> list[str]:
        size, algorithm = self.parameters()
        return [h.hex() for h in block_hashes(data, size, algorithm)]

    def put_hashmap(self, name: str, size: int, hashes: list[str]) -> httpx.Response:
        # The bare `?hashmap` flag, as kamaki sends it.
        return self.http.put(
            f"{self.container}/{name}?hashmap&format=json",
            json={"bytes": size, "hashes": hashes},
            headers={"Content-Type": "application/octet-stream"},
        )

    def post_block(self, block: bytes) -> httpx.Response:
        return self.http.post(
            f"{self.container}?update&format=json",
            content=block,
            headers={"Content-Type": "application/octet-stream"},
        )

    def upload(self, name: str, data: bytes) -> Upload:
        block_size, _ = self.parameters()
        hashes = self.hashmap(data)
        first = self.put_hashmap(name, len(data), hashes)
        sent: list[str] = []
        if first.status_code == 409:
            for missing in first.json():
                index = hashes.index(missing)
                block = data[index * block_size : (index + 1) * block_size]
                answer = self.post_block(block)
                assert answer.status_code == 202, answer.text
                assert answer.json() == [missing]
                sent.append(missing)
            final = self.put_hashmap(name, len(data), hashes)
        else:
            final = first
        return Upload(first, final, sent)
