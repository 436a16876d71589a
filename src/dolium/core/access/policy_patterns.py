"""Bucket-policy wildcards: `*` is any run of characters, `?` any one character.

Actions match case-insensitively (the caller lower-cases both sides),
resources and StringLike values case-sensitively. The matcher is linear in
the text: a pattern with many stars cannot make a request slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Glob", "Patterns", "has_wildcard"]


class Glob:
    """One pattern, compiled into fixed-length chunks between the stars.

    The first chunk must match at the start, the last at the end, and each
    middle chunk at its leftmost place after the previous one (leftmost is
    never worse), so a match costs O(len(text) * len(pattern)) at most,
    whatever the pattern.
    """

    __slots__ = ("_exact", "_head", "_middle", "_min", "_tail")

    def __init__(self, pattern: str) -> None:
        parts = pattern.split("*")
        self._exact: _Chunk | None = _Chunk(pattern) if len(parts) == 1 else None
        self._head = _Chunk(parts[0])
        self._tail = _Chunk(parts[-1])
        self._middle = tuple(_Chunk(p) for p in parts[1:-1] if p)
        self._min = sum(len(p) for p in parts)

    def match(self, text: str) -> bool:
        n = len(text)
        if self._exact is not None:
            return n == len(self._exact) and self._exact.at(text, 0)
        if n < self._min:
            return False
        end = n - len(self._tail)
        if not (self._head.at(text, 0) and self._tail.at(text, end)):
            return False
        pos = len(self._head)
        for chunk in self._middle:
            found = chunk.find(text, pos, end)
            if found < 0:
                return False
            pos = found + len(chunk)
        return True


class _Chunk:
    """A piece of a pattern without `*`: literal text and `?`."""

    __slots__ = ("_regex", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._regex = (
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            if "?" in text
            else None
        )

    def __len__(self) -> int:
        return len(self._text)

    def at(self, text: str, pos: int) -> bool:
        if self._regex is None:
            return text.startswith(self._text, pos)
        return pos + len(self._text) <= len(text) and self._regex.match(text, pos) is not None

    def find(self, text: str, start: int, end: int) -> int:
        if self._regex is None:
            return text.find(self._text, start, end)
        found = self._regex.search(text, start, end)
        return -1 if found is None else found.start()


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


class Patterns:
    """A set of patterns: exact ones by hashing, the others by `Glob`."""

    __slots__ = ("_exact", "_globs", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._exact = frozenset(p for p in self.patterns if not has_wildcard(p))
        self._globs = tuple(Glob(p) for p in self.patterns if has_wildcard(p))

    def match(self, text: str) -> bool:
        return text in self._exact or any(g.match(text) for g in self._globs)

    def __repr__(self) -> str:
        return f"Patterns({self.patterns!r})"
