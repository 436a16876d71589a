"""Meta store over SQLAlchemy Core: one schema and one copy of the SQL for
SQLite and PostgreSQL.

`schema` holds the tables, `store.SqlMetaStore` the queries (each call one
synchronous function of a connection, see `base`), `migrate` applies the
Alembic migrations in `migrations/`. Engine set-up specific to one database
(pragmas, transaction modes, where a call's function runs) lives in its own
module, such as `dolium.backends.meta_sqlite`. Nothing here imports the core
or a front end.
"""

from dolium.backends.meta_sql.store import SqlMetaStore

__all__ = ["SqlMetaStore"]
