"""A group of changes committed in one transaction (meta_sql.base.run_group),
on a real SQLite database: each change in its own savepoint, and when the
commit itself fails, nothing of the group stays."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from dolium.backends.meta_sql.base import Op, run_group

_META = sa.MetaData()
_PARENTS = sa.Table("parents", _META, sa.Column("id", sa.Integer, primary_key=True))
_CHILDREN = sa.Table(
    "children",
    _META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent", sa.Integer, sa.ForeignKey("parents.id"), nullable=False),
)


def _sqlite(path: Path) -> sqlite3.Connection:
    # As the SQLite meta store connects: transactions are begun explicitly.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    path = tmp_path / "group.sqlite3"
    engine = sa.create_engine(
        "sqlite+pysqlite://", creator=lambda: _sqlite(path), poolclass=sa.NullPool
    )
    with engine.begin() as setup:
        _META.create_all(setup)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _parent(n: int) -> Op[int]:
    def op(conn: Connection) -> int:
        conn.execute(_PARENTS.insert(), {"id": n})
        return n

    return op


def _orphan(conn: Connection) -> None:
    conn.execute(_CHILDREN.insert(), {"id": 1, "parent": 99})


def _refuse(conn: Connection) -> None:
    conn.execute(_PARENTS.insert(), {"id": 50})
    raise ValueError("refused")


def _ids(conn: Connection) -> list[int]:
    ids = [row.id for row in conn.execute(sa.select(_PARENTS.c.id).order_by(_PARENTS.c.id))]
    conn.rollback()
    return ids


def test_a_failed_change_leaves_the_others_of_its_group(conn: Connection) -> None:
    outcomes = run_group(conn, [_parent(1), _refuse, _parent(2)], _begin)
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], ValueError)
    assert _ids(conn) == [1, 2]


def test_a_change_alone_that_fails_is_rolled_back(conn: Connection) -> None:
    [(ok, error)] = run_group(conn, [_refuse], _begin)
    assert not ok and isinstance(error, ValueError)
    assert _ids(conn) == []


def test_a_commit_that_fails_fails_every_change_and_keeps_nothing(conn: Connection) -> None:
    def defer_checks(conn: Connection) -> None:
        _begin(conn)
        # The orphan below then fails the COMMIT, not its own statement.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")

    outcomes = run_group(conn, [_parent(1), _refuse, _orphan], defer_checks)
    assert [ok for ok, _ in outcomes] == [False, False, False]
    assert isinstance(outcomes[0][1], sa.exc.IntegrityError)
    assert isinstance(outcomes[1][1], ValueError)  # its own error
    assert isinstance(outcomes[2][1], sa.exc.IntegrityError)
    assert _ids(conn) == []
    # The connection is usable again: the next group commits.
    assert run_group(conn, [_parent(3)], _begin) == [(True, 3)]
    assert _ids(conn) == [3]


def test_a_group_that_cannot_begin_fails_every_change(conn: Connection) -> None:
    def broken(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN NONSENSE")

    outcomes = run_group(conn, [_parent(1), _parent(2)], broken)
    assert [ok for ok, _ in outcomes] == [False, False]
    assert all(isinstance(error, sa.exc.OperationalError) for _, error in outcomes)
    assert _ids(conn) == []
