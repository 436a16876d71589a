"""What the message-broker reporters share: checks of their options, their
counters, and errors that never show a password.

Options come straight from TOML, so each is checked for its type before
use; a bad one is a `ConfigError` of one line (the caller prefixes the
config key). A broker that fails is a `StorageError` naming the broker by
its URL with the password replaced by ***.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from dolium.errors import ConfigError, StorageError
from dolium.protocols.events import FAILED, PUBLISHED
from dolium.redact import redact_url, scrub

# Names of streams, exchanges, subjects: what every one of these brokers takes.
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


def check_url(kind: str, url: object, schemes: tuple[str, ...], option: str = "url") -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{kind} {option}: {url!r} is not a string")
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        scheme = ""
    if scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{kind} {option} {redact_url(url)!r} is not a {wanted} URL")
    return url


def check_seconds(kind: str, option: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{kind} {option}: {value!r} is not a positive number of seconds")
    return float(value)


def check_count(kind: str, option: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{kind} {option}: {value!r} is not a whole number, 0 or more")
    return value


def check_name(kind: str, option: str, value: object, pattern: re.Pattern[str] = _NAME) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{kind} {option}: {value!r} is not a valid name ({pattern.pattern})")
    return value


class Counters:
    """Messages the broker acknowledged, and attempts that failed."""

    def __init__(self) -> None:
        self.published = 0
        self.failed = 0

    def statistics(self) -> dict[str, int]:
        return {PUBLISHED: self.published, FAILED: self.failed}


def broker_error(kind: str, url: str, what: str, exc: BaseException) -> StorageError:
    """A failure of the broker at `url`, in words that never show its password."""
    detail = scrub(str(exc) or type(exc).__name__, url)
    return StorageError(f"{kind} {redact_url(url)}: {what}: {detail}")
