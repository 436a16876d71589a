"""In-memory reporter: the reference implementation of the Reporter protocol.

Events are kept in a list, in the order published, and vanish with the
process; it serves tests and throwaway servers.

This module must not import the core or the front ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dolium.protocols.events import FAILED, PUBLISHED, Message


class MemoryReporter:
    def __init__(self) -> None:
        self.events: list[Message] = []
        self.closed = False

    @classmethod
    async def open(cls) -> MemoryReporter:
        return cls()

    async def publish(self, event: Message) -> None:
        self.events.append(event)

    def statistics(self) -> dict[str, int]:
        return {PUBLISHED: len(self.events), FAILED: 0}

    async def close(self) -> None:
        self.closed = True


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: MemoryReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
