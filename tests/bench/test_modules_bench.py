"""bench/modules.py runs every stack over both bases and reads back what it put.

The bench is a program, not a package: its directory goes on sys.path as
bench/run.py's own imports expect. Figures are not asserted (tests never
assert on time); their shape is.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))

from modules import STACKS, relative, run_modules


def test_every_stack_is_measured_against_the_plain_store(tmp_path: Path) -> None:
    results = run_modules(tmp_path, count=2, size=256 * 1024)
    for base in ("fs", "memory"):
        assert list(results[base]) == list(STACKS)
        for figures in results[base].values():
            assert figures["put_mb_s"] > 0 and figures["get_mb_s"] > 0
    assert results["fs"]["replicate 3"]["stored_per_given"] == 3.0
    assert results["fs"]["compress"]["stored_per_given"] < 0.6
    assert relative(results, "fs", "plain") == ("1.00", "1.00")
    assert relative(results, "memory", "compress") == ("-", "-")
    assert list(tmp_path.iterdir()) == []  # every stack's stores are removed
