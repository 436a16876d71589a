"""SQLite statements run on the driver itself, past SQLAlchemy's execution.

The SQL meta store builds each statement once and keeps it. SQLAlchemy
still does, on every execution of one, what a kept statement no longer
needs: a lookup in its compiled cache, parameter processing, a result
object and row processing; for a point read that is 30-40 µs around a
sqlite3 call of 3-7 µs, and a 4 KiB PUT runs six to eight statements on
the writer thread, holding the GIL throughout.

`DirectConnection.execute` runs a statement it has seen before on the
sqlite3 connection, with the SQL SQLAlchemy compiled for it, when nothing
in it needs SQLAlchemy's processing: parameters and result columns of
plain types (integers, floats, strings, bytes; booleans, which SQLite
stores as integers, come back as bool). It answers with the part of
SQLAlchemy's Result the store uses. Anything else (a statement seen once,
which may be built per call; other types; expanding parameters; execution
options; a connection whose cursor events have listeners) goes through
SQLAlchemy as before. A driver error is raised as the SQLAlchemy error it
would have been.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert

# Types whose values sqlite3 takes and gives as SQLAlchemy would.
_PLAIN = (sa.Integer, sa.String, sa.LargeBinary, sa.Float)

# Statements seen once wait for a second sighting before they are compiled
# here: one built per call would otherwise be compiled per call. At most
# this many of each are kept.
_KEPT_MAX = 4096


def _row_class(keys: tuple[str, ...]) -> Any:
    """Rows with the result's keys as attributes, as SQLAlchemy's have."""
    return namedtuple("Row", keys)


class _Plan(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    defaults: Mapping[str, Any]  # values the statement itself binds (e.g. .values(x=False))
    row: Any  # a named tuple class of the result's columns, or None
    bools: tuple[int, ...]  # result columns to turn into bool
    insert: bool  # an INSERT whose inserted_primary_key is the row id


# By statement and the names of its parameters (an INSERT's columns are
# those given); each entry keeps its statement, so that its id stays its own.
_plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Plan | None]] = {}
_seen: dict[tuple[int, tuple[str, ...]], Executable] = {}
_lock = threading.Lock()


def _plain(type_: Any) -> bool:
    if isinstance(type_, sa.Boolean):
        return True
    if isinstance(type_, sa.Float) and type_.asdecimal:
        return False
    return isinstance(type_, _PLAIN) and not isinstance(type_, sa.Enum)


def _make_plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    """How to run `statement` with parameters named `keys` on the driver, or
    None if SQLAlchemy must. (An INSERT's columns are those given.)"""
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if getattr(compiled, "literal_execute_params", None) or getattr(
        compiled, "post_compile_params", None
    ):
        return None  # expanded at execution
    if getattr(compiled, "escaped_bind_names", None) or compiled.positiontup is None:
        return None
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        return None  # column defaults computed in Python at each execution
    binds = compiled.binds
    if not all(_plain(bind.type) and bind.callable is None for bind in binds.values()):
        return None
    defaults = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
    # The result's columns as SQLAlchemy names them in its rows.
    columns = [(entry.keyname, entry.type) for entry in getattr(compiled, "_result_columns", ())]
    if not all(_plain(type_) for _, type_ in columns):
        return None
    row: Any = None
    if columns:
        try:
            row = _row_class(tuple(key for key, _ in columns))
        except ValueError:  # a key that is no identifier, or repeated
            return None
    bools = tuple(i for i, (_, type_) in enumerate(columns) if isinstance(type_, sa.Boolean))
    insert = isinstance(statement, Insert) and not columns
    if insert:
        table: Any = statement.table  # type: ignore[attr-defined]
        primary = list(table.primary_key.columns)
        # Only a row id is known after the insert.
        insert = len(primary) == 1 and isinstance(primary[0].type, sa.Integer)
    return _Plan(compiled.string, tuple(compiled.positiontup), defaults, row, bools, insert)


def _plan_of(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    at = (id(statement), keys)
    found = _plans.get(at)
    if found is not None:
        return found[1]
    with _lock:
        first = _seen.pop(at, None) is None
        # Both tables keep what they hold alive (so an id stays its
        # statement's) and are bounded: a statement built per call, or run
        # twice in one, would otherwise stay for good.
        table: dict[Any, Any] = _seen if first else _plans
        if len(table) >= _KEPT_MAX:
            table.clear()
        if first:
            _seen[at] = statement
            return None
    plan = _make_plan(statement, dialect, keys)
    _plans[at] = (statement, plan)
    return plan


class DirectResult:
    """The part of SQLAlchemy's Result the SQL meta store uses."""

    __slots__ = ("_cursor", "_plan")

    def __init__(self, cursor: sqlite3.Cursor, plan: _Plan) -> None:
        self._cursor = cursor
        self._plan = plan

    def _row(self, values: tuple[Any, ...]) -> Any:
        plan = self._plan
        if plan.bools:
            listed = list(values)
            for i in plan.bools:
                if listed[i] is not None:
                    listed[i] = bool(listed[i])
            values = tuple(listed)
        return plan.row._make(values) if plan.row is not None else values

    def all(self) -> list[Any]:
        return [self._row(r) for r in self._cursor.fetchall()]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.all())

    def fetchall(self) -> list[Any]:
        return self.all()

    def fetchone(self) -> Any:
        found = self._cursor.fetchone()
        if found is None:
            self._cursor.close()
            return None
        return self._row(found)

    def first(self) -> Any:
        # Like SQLAlchemy's, it discards the rest: the statement ends here,
        # and with it the read snapshot it held.
        found = self._cursor.fetchone()
        self._cursor.close()
        return None if found is None else self._row(found)

    def scalar(self) -> Any:
        found = self.first()
        return None if found is None else found[0]

    def one_or_none(self) -> Any:
        rows = self._cursor.fetchmany(2)
        self._cursor.close()
        if len(rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self._row(rows[0]) if rows else None

    def one(self) -> Any:
        found = self.one_or_none()
        if found is None:
            raise exc.NoResultFound("No row was found when one was required")
        return found

    def scalar_one(self) -> Any:
        return self.one()[0]

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def inserted_primary_key(self) -> tuple[Any, ...] | None:
        if not self._plan.insert:
            raise exc.InvalidRequestError("not an insert of one row without RETURNING")
        return (self._cursor.lastrowid,)


class DirectConnection(Connection):
    """A SQLAlchemy connection that runs kept statements on the driver (see module)."""

    def execute(
        self,
        statement: Executable,
        parameters: Any = None,
        *,
        execution_options: Any = None,
    ) -> Any:
        if (
            execution_options
            or not (parameters is None or isinstance(parameters, Mapping))
            # Whoever listens to the cursor (instrumentation, tests) sees every statement.
            or self.dispatch.before_cursor_execute
            or self.dispatch.after_cursor_execute
        ):
            return super().execute(statement, parameters, execution_options=execution_options)
        given: Mapping[str, Any] = parameters or {}
        plan = _plan_of(statement, self.dialect, tuple(given))
        if plan is None:
            return super().execute(statement, parameters)
        try:
            args = [given[n] if n in given else plan.defaults[n] for n in plan.names]
        except KeyError:  # a parameter missing: let SQLAlchemy say which
            return super().execute(statement, parameters)
        driver: Any = self.connection.driver_connection
        try:
            cursor = driver.execute(plan.sql, args)
        except sqlite3.Error as e:
            raise exc.DBAPIError.instance(plan.sql, args, e, sqlite3.Error) from e
        return DirectResult(cursor, plan)
