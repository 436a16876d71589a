"""Spools: lines kept for a later batch, by topic (server access log records).

Best effort, as S3 server access logging is: an append is not made durable
on its own, and a line appended while a batch is being taken may wait for
the next one. Every process of one server appends to the same spool; one
process at a time takes (the jobs lock's holder).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class Spool(Protocol):
    async def append(self, topic: str, line: str) -> None:
        """Keep `line` (no newline in it) under `topic`."""

    async def take(self) -> Mapping[str, Sequence[str]]:
        """Every line kept so far, by topic in the order appended; removed from the spool."""

    async def close(self) -> None: ...
