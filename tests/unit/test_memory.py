"""Giving freed heap back to the system (dolium.memory), on glibc."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dolium import memory

pytestmark = pytest.mark.skipif(memory.trimmer() is None, reason="needs glibc")


def _in_fresh_process(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a new interpreter, with glibc's own malloc settings (no MALLOC_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip


def test_a_trim_gives_back_the_pages_freed_between_live_objects() -> None:
    # In a fresh process: 100 MB of malloc'd objects, one in a hundred kept,
    # so that glibc cannot shrink its heap from the top on its own.
    out = _in_fresh_process(
        """
        from dolium import memory
        blocks = [bytearray(1000) for _ in range(100_000)]
        kept = blocks[::100]
        del blocks
        before = memory.resident_bytes()
        after = memory.trimmer()()
        print(before, after, len(kept))
        """
    ).stdout
    before, after, _ = (int(n) for n in out.split())
    assert before - after > 50 * 1024 * 1024


def test_every_thread_allocates_from_the_one_arena_the_trimmer_empties() -> None:
    # malloc_trim gives back the free top of the main arena only: memory
    # freed at the top of another arena stayed with the process.
    stats = _in_fresh_process(
        """
        import ctypes, threading
        from dolium import memory
        memory.limit_malloc_arenas()
        def work():
            kept = [bytearray(300_000) for _ in range(8)]
            del kept
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ctypes.CDLL("libc.so.6").malloc_stats()
        """
    ).stderr
    arenas = [line for line in stats.splitlines() if line.startswith("Arena ")]
    assert arenas == ["Arena 0:"]


def test_serve_limits_the_arenas_before_any_thread_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dolium import cli

    calls: list[str] = []

    async def setup_root(*_: object) -> None:
        calls.append("root")  # the meta store's threads would start here
        raise SystemExit(0)

    monkeypatch.setattr(cli, "limit_malloc_arenas", lambda: calls.append("limit"))
    monkeypatch.setattr(cli, "setup_root", setup_root)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--data", str(tmp_path / "data")])
    assert calls == ["limit", "root"]


async def test_trim_forever_trims_only_after_growth(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = iter([100, 100, 150, 300, 300, 160])
    trims: list[int] = []
    monkeypatch.setattr(memory, "resident_bytes", lambda: next(sizes))

    def trimmer() -> int:
        trims.append(1)
        return 120

    monkeypatch.setattr(memory, "trimmer", lambda: trimmer)
    # Runs until the sizes run out (a StopIteration, turned into a RuntimeError).
    with pytest.raises(RuntimeError):
        await memory.trim_forever(interval=0, growth=100)
    # 0 and 50 above the floor (no trim), then 200 (a trim, which leaves
    # 120: the floor stays 100), 200 again (another), then 60 (none).
    assert len(trims) == 2


async def test_trim_forever_calls_the_other_releasers_each_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes = iter([100, 100, 100, 100])
    monkeypatch.setattr(memory, "resident_bytes", lambda: next(sizes))
    monkeypatch.setattr(memory, "trimmer", lambda: lambda: 100)
    released: list[int] = []
    with pytest.raises(RuntimeError):
        await memory.trim_forever(interval=0, growth=100, also=(lambda: released.append(1),))
    # One size read at the start, then one per round: three rounds, and a
    # fourth that ran its releaser before the sizes ran out.
    assert len(released) == 4
