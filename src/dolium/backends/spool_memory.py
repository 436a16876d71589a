"""A spool in memory: for a server on a memory store (one process) and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class MemorySpool:
    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    async def append(self, topic: str, line: str) -> None:
        self._lines.setdefault(topic, []).append(line)

    async def take(self) -> Mapping[str, Sequence[str]]:
        taken, self._lines = self._lines, {}
        return taken

    async def close(self) -> None:
        return None
