"""The scale-out phase: the small-object workload on the meta stores side by
side, and how it scales with server processes over PostgreSQL.

Servers, each fresh, one after the other: SQLite with blocks on fs (the
embedded default), then PostgreSQL with blocks on fs with 1, 2 and 4 server
processes (one `dolium serve --workers N`, which is on one machine what N
gateways behind a balancer are on several: processes that share nothing but
the database and the blocks). The PostgreSQL server is the tests' own
(tests/support/postgres.py): DOLIUM_TEST_POSTGRES, or a throwaway cluster
made from the installed programs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"

# (label, meta store, server processes)
SETUPS: tuple[tuple[str, str, int], ...] = (
    ("sqlite+fs x2", "sqlite", 2),
    ("postgres+fs x1", "postgres", 1),
    ("postgres+fs x2", "postgres", 2),
    ("postgres+fs x4", "postgres", 4),
)
CONCURRENCIES = (16, 64)


def fresh_database() -> str:
    """A database of its own on the tests' PostgreSQL server (dropped with the
    server at exit), so that no setup starts with another's rows."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from support.postgres import postgres  # the tests' fixture code, reused as is

    try:
        server = postgres()
    except BaseException as exc:  # pytest's skip, when none can be had
        raise RuntimeError(f"no PostgreSQL for the scale-out phase: {exc}") from None
    return server.database("bench")


def environment(meta: str) -> dict[str, str]:
    """The settings of a server on `meta`: a fresh database for postgres."""
    if meta == "postgres":
        dsn = fresh_database()
        return {"DOLIUM_META": "postgres", "DOLIUM_META_OPTIONS": json.dumps({"dsn": dsn})}
    return {}
