"""Log reporter: write each event message to the server's log.

Delivered once the log handler has the line; nothing is kept for a retry,
so it is as durable as the log itself. Useful to watch events, or to feed a
log shipper.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from dolium.errors import ConfigError
from dolium.protocols.events import FAILED, PUBLISHED, Message

_LEVELS = ("debug", "info", "warning")


class LogReporter:
    def __init__(self, logger: str = "dolium.events", level: str = "info") -> None:
        self.log = logging.getLogger(logger)
        self.level = logging.getLevelName(level.upper())
        self.published = 0

    @classmethod
    async def open(cls, logger: str = "dolium.events", level: str = "info") -> LogReporter:
        if level not in _LEVELS:
            raise ConfigError(f"log reporter level {level!r}: use one of {', '.join(_LEVELS)}")
        return cls(logger, level)

    async def publish(self, event: Message) -> None:
        self.log.log(self.level, "%s %s", event.destination, event.message)
        self.published += 1

    def statistics(self) -> dict[str, int]:
        return {PUBLISHED: self.published, FAILED: 0}

    async def close(self) -> None:
        return None


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: LogReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
