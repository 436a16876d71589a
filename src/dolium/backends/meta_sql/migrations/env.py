"""Alembic environment of the SQL meta store.

Runs only on a connection passed in by `dolium.backends.meta_sql.migrate`;
it never opens a database of its own nor reads a URL from a file.
"""

from __future__ import annotations

from alembic import context

from dolium.backends.meta_sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run these migrations through dolium.backends.meta_sql.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=True,
    # The caller's connection emits its own BEGIN, so DDL is transactional on SQLite too.
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
