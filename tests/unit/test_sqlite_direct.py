"""Kept statements run on the sqlite3 driver answer as SQLAlchemy would."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from dolium.backends.sqlite_direct import DirectConnection, DirectResult

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(20), nullable=False, unique=True),
    sa.Column("data", sa.LargeBinary(), nullable=True),
    sa.Column("size", sa.Double(), nullable=False),
    sa.Column("hidden", sa.Boolean(), nullable=False),
)
P = sa.bindparam
INSERT = items.insert()
BY_NAME = sa.select(items).where(items.c.name == P("n"))
VISIBLE = sa.select(items.c.name, items.c.hidden).where(items.c.hidden == sa.false())
HIDE = items.update().where(items.c.name == P("n")).values(hidden=True)
COUNT = sa.select(sa.func.count()).select_from(items)


@pytest.fixture
def conn(tmp_path: Path) -> Any:
    engine = sa.create_engine(
        "sqlite+pysqlite://",
        creator=lambda: sqlite3.connect(tmp_path / "db", isolation_level=None),
        poolclass=sa.NullPool,
    )
    metadata.create_all(engine)
    connection = DirectConnection(engine)
    yield connection
    connection.close()
    engine.dispose()


def twice(conn: Any, statement: Any, values: Any = None) -> tuple[Any, Any]:
    """The statement run through SQLAlchemy (first sighting), then directly."""
    return conn.execute(statement, values), conn.execute(statement, values)


def test_results_match_sqlalchemy(conn: Any) -> None:
    rows = [
        {"name": f"n{i}", "data": bytes([i]) * 3, "size": i / 2, "hidden": i == 1} for i in range(3)
    ]
    first = conn.execute(INSERT, rows[0])  # SQLAlchemy's
    assert not isinstance(first, DirectResult)
    second = conn.execute(INSERT, rows[1])
    third = conn.execute(INSERT, rows[2])
    assert isinstance(third, DirectResult)
    assert [r.inserted_primary_key[0] for r in (first, second, third)] == [1, 2, 3]

    plain, direct = twice(conn, BY_NAME, {"n": "n1"})
    assert isinstance(direct, DirectResult)
    expected = plain.first()
    got = direct.first()
    assert tuple(got) == tuple(expected) == (2, "n1", b"\x01\x01\x01", 0.5, True)
    assert got.hidden is True and got.name == "n1" and got.data == expected.data

    plain, direct = twice(conn, VISIBLE)
    assert [tuple(r) for r in direct.all()] == [tuple(r) for r in plain.all()]
    assert all(r.hidden is False for r in conn.execute(VISIBLE).all())

    plain, direct = twice(conn, COUNT)
    assert direct.scalar() == plain.scalar() == 3
    assert conn.execute(COUNT).scalar_one() == 3

    plain, direct = twice(conn, HIDE, {"n": "n0"})
    assert plain.rowcount == direct.rowcount == 1
    assert conn.execute(BY_NAME, {"n": "n0"}).one().hidden is True
    assert conn.execute(BY_NAME, {"n": "none"}).one_or_none() is None
    with pytest.raises(exc.NoResultFound):
        conn.execute(BY_NAME, {"n": "none"}).one()


def test_driver_errors_are_sqlalchemys(conn: Any) -> None:
    row = {"name": "same", "data": None, "size": 1.0, "hidden": False}
    conn.execute(INSERT, row)
    for _ in range(2):  # through SQLAlchemy, then directly
        with pytest.raises(exc.IntegrityError) as caught:
            conn.execute(INSERT, row)
        assert isinstance(caught.value.orig, sqlite3.IntegrityError)


def test_listeners_see_every_statement(conn: Any) -> None:
    seen: list[str] = []
    sa.event.listen(conn, "before_cursor_execute", lambda *a: seen.append(a[2]))
    for _ in range(3):
        conn.execute(COUNT)
    assert len(seen) == 3


def test_statements_with_python_defaults_go_through_sqlalchemy(conn: Any) -> None:
    defaulted = sa.Table(
        "defaulted",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("stamp", sa.String(10), default=lambda: "made"),
    )
    defaulted.create(conn)
    for i in range(3):
        result = conn.execute(defaulted.insert(), {"id": i})
        assert not isinstance(result, DirectResult)
    stamps = conn.execute(sa.select(defaulted.c.stamp)).all()
    assert [s for (s,) in stamps] == ["made"] * 3
