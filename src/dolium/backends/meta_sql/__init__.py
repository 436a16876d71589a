"""Meta store over SQLAlchemy Core (async): one schema for SQLite and PostgreSQL.

`schema` holds the tables, `store.SqlMetaStore` the queries, `migrate` applies
the Alembic migrations in `migrations/`. Engine set-up specific to one
database (pragmas, transaction modes) lives in its own module, such as
`dolium.backends.meta_sqlite`. Nothing here imports the core or a front end.
"""

from dolium.backends.meta_sql.store import SqlMetaStore

__all__ = ["SqlMetaStore"]
