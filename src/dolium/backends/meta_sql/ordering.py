"""Ordering text columns by the bytes of their UTF-8, on every database.

S3 lists in byte order. Keys are binary columns, which every database
compares by bytes; names are text, which PostgreSQL orders by the database's
collation (for example en_US, where "a-b" sorts after "ab"). `byte_order`
marks a text column in ORDER BY: PostgreSQL gets COLLATE "C" (byte order of
UTF-8), SQLite needs nothing (its default collation, BINARY, is byte order).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class byte_order(ColumnElement[Any]):
    """`column` compared by the bytes of its UTF-8 encoding."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(byte_order)
def _plain(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(byte_order, "postgresql")
def _collate_c(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.column, **kw)} COLLATE "C"'
