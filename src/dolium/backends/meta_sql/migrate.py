"""Apply the Alembic migrations of the SQL meta store, from code.

No alembic.ini is needed: the configuration is built here, and `migrations/env.py`
runs on the connection handed to it, inside the caller's transaction, so two
processes starting together migrate one at a time (SQLite's BEGIN IMMEDIATE,
an explicit lock on PostgreSQL). Synchronous, as Alembic is: each database's
module runs it where it runs its other transactions.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for these migrations, optionally bound to `connection`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(connection: Connection, *, first: str | None = None) -> None:
    """Bring the database to the newest schema, in the transaction open on
    `connection` (the caller commits it).

    `first`, if given, is a statement run before anything else in it, for a
    database whose transactions need an explicit lock to run one at a time.
    """
    if first is not None:
        connection.exec_driver_sql(first)
    command.upgrade(config(connection), "head")
