"""The core reads the time only through the clock it is given (core.clock)."""

from __future__ import annotations

import ast
from pathlib import Path

import dolium.core

CORE = Path(dolium.core.__file__).parent

# Ways to read the wall clock (or a process clock) without being given one.
CLOCK_READS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}
# These read the clock when called without an argument.
CLOCK_WITHOUT_ARGUMENT = {("time", "gmtime"), ("time", "localtime"), ("time", "ctime")}


def _owner(node: ast.expr) -> str:
    """The name an attribute is read from: `time` in time.time, `datetime` in dt.datetime.now."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def clock_reads(source: str) -> list[int]:
    """Lines of `source` that read a clock other than an injected one."""
    found: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            names = {(node.module, alias.name) for alias in node.names}
            if names & (CLOCK_READS | CLOCK_WITHOUT_ARGUMENT):
                found.append(node.lineno)
        elif isinstance(node, ast.Attribute) and (_owner(node.value), node.attr) in CLOCK_READS:
            found.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            if (_owner(func.value), func.attr) in CLOCK_WITHOUT_ARGUMENT and not node.args:
                found.append(node.lineno)
    return found


def test_the_check_finds_each_way_of_reading_the_clock() -> None:
    samples = [
        "import time\nx = time.time()",
        "import time\ndef f(clock=time.time): ...",
        "import time\nx = time.time_ns()",
        "import time\nx = time.monotonic()",
        "from time import time",
        "from datetime import datetime\nx = datetime.now()",
        "import datetime as dt\nx = dt.datetime.utcnow()",
        "import time\nx = time.gmtime()",
    ]
    for sample in samples:
        assert clock_reads(sample), sample
    assert clock_reads("import time\nx = time.gmtime(12.5)") == []
    assert clock_reads("x = ctx.clock()") == []


def test_the_core_reads_the_time_only_through_its_clock() -> None:
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line}"
        for path in sorted(CORE.rglob("*.py"))
        for line in clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
