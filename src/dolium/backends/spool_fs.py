"""A spool of files in one directory, shared by the processes of a server.

Each process appends to a file of its own (`<pid>.spool`), one JSON line per
record, opening it for each append so that a file taken away is never
written again by a process that still holds it open. `take` renames the
files before reading them and waits a moment for appends already under way
to land; an append slower than that is lost with the renamed file. Spools
are best effort (see protocols.spool), as S3's server access logs are.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

SUFFIX = ".spool"
TAKEN = ".taken"
# How long a taker waits after renaming for appends that opened the file before.
SETTLE = 0.2


class FsSpool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    async def append(self, topic: str, line: str) -> None:
        text = json.dumps({"t": topic, "l": line}, separators=(",", ":")) + "\n"
        await asyncio.to_thread(self._append, text)

    def _append(self, text: str) -> None:
        # The pid may have changed since (a forked worker): name the file now.
        path = self.root / f"{os.getpid()}{SUFFIX}"
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)

    async def take(self) -> Mapping[str, Sequence[str]]:
        taken = await asyncio.to_thread(self._rename_all)
        if not taken:
            return {}
        await asyncio.sleep(SETTLE)
        return await asyncio.to_thread(self._read_and_remove, taken)

    def _rename_all(self) -> list[Path]:
        taken = []
        for path in self.root.glob(f"*{SUFFIX}"):
            target = path.with_name(f"{path.stem}.{secrets.token_hex(4)}{TAKEN}")
            try:
                path.rename(target)
            except FileNotFoundError:
                continue
            taken.append(target)
        # Left by a taker that died before it removed them.
        taken.extend(p for p in self.root.glob(f"*{TAKEN}") if p not in taken)
        return taken

    def _read_and_remove(self, taken: list[Path]) -> dict[str, list[str]]:
        lines: dict[str, list[str]] = {}
        for path in sorted(taken):
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            for raw in text.splitlines():
                try:
                    item = json.loads(raw)
                    lines.setdefault(str(item["t"]), []).append(str(item["l"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
            path.unlink(missing_ok=True)
        return lines

    async def close(self) -> None:
        return None
